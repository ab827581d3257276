"""ShareGPT conversations: `{"id": ..., "conversations": [{"from": "human", "value": "..."},
{"from": "gpt", "value": "..."}]}`, with an optional leading `{"from": "system"}` turn or a
`system` field. human/user -> user, gpt/assistant -> assistant; a leading `<think>` block in an
answer becomes its reasoning. The items are open unless the row has a gold `answer` (see
`messages.py`).
"""

from __future__ import annotations

from typing import Any

from galen.data.record import Record
from galen.data.sources.base import Adapter, Origin, optional
from galen.data.sources.messages import chat_record, to_message
from galen.errors import BadRequest

ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system"}


def convert(row: dict[str, Any], at: Origin) -> Record:
    turns = row.get(at.columns.get("conversations", "conversations"))
    if not isinstance(turns, list) or not turns:
        raise BadRequest("source", f"row {at.row}: expected a non-empty list in 'conversations'")
    chat = []
    system = optional(row, "system", at)
    if system:
        chat.append({"role": "system", "content": str(system)})
    for k, turn in enumerate(turns):
        speaker = turn.get("from") if isinstance(turn, dict) else None
        if speaker not in ROLES:
            raise BadRequest(
                "source",
                f"row {at.row}: conversations[{k}].from {speaker!r} is not one of {', '.join(ROLES)}",
            )
        chat.append({"role": ROLES[speaker], "content": turn.get("value")})
    return chat_record(row, [to_message(t, at, k) for k, t in enumerate(chat)], at)


ADAPTER = Adapter("sharegpt", convert, licence="unspecified", sample="sharegpt.json")
