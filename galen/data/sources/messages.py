"""Chat rows in the OpenAI `messages` format, as many SFT sets (and galen's own exports) ship.

    {"id": "c1",
     "messages": [{"role": "system", "content": "..."},
                  {"role": "user", "content": "..."},
                  {"role": "assistant", "content": "...", "reasoning_content": "..."}],
     "answer": "B", "options": {"A": "...", "B": "..."}}      # optional: a gold label

An assistant's reasoning is read from `reasoning_content`, `reasoning` or `thinking`, or from a
leading `<think>...</think>` block in its content. With a gold `answer` (and `options`, for a
letter) the row is a labelled item; otherwise it is open.
"""

from __future__ import annotations

import re
from typing import Any

from galen.data.record import LABELS, Message, Record, TaskKind
from galen.data.sources.base import Adapter, Origin, optional
from galen.errors import BadRequest

THINK = re.compile(r"^\s*<think>(.*?)</think>\s*", re.S)


def to_message(turn: Any, at: Origin, k: int) -> Message:
    """One chat turn; inline <think> blocks and reasoning fields become `reasoning`."""
    if not isinstance(turn, dict) or "role" not in turn or not isinstance(turn.get("content"), str):
        raise BadRequest("source", f"row {at.row}: messages[{k}] needs a role and a text content")
    if turn["role"] not in ("system", "user", "assistant"):
        raise BadRequest(
            "source", f"row {at.row}: messages[{k}].role {turn['role']!r} is not system/user/assistant"
        )
    content = turn["content"]
    reasoning = turn.get("reasoning_content") or turn.get("reasoning") or turn.get("thinking")
    inline = THINK.match(content) if turn["role"] == "assistant" else None
    if inline:
        reasoning, content = reasoning or inline.group(1).strip(), content[inline.end() :]
    return Message(role=turn["role"], content=content, reasoning=reasoning or None)


def chat_record(row: dict[str, Any], messages: list[Message], at: Origin) -> Record:
    """A chat; labelled when the row carries a gold answer (a letter among `options`, or a label)."""
    answer = optional(row, "answer", at)
    options = optional(row, "options", at) or {}
    kind: TaskKind = "open"
    if answer is not None and options:
        kind, answer = "choice", str(answer).strip()
    elif answer is not None and str(answer).strip().lower() in LABELS:
        kind, answer = "label", str(answer).strip().lower()
    else:
        answer = None
    first_user = next((m.content for m in messages if m.role == "user"), None)
    return at.record(
        optional(row, "id", at),
        kind,
        messages,
        question=first_user,
        options={str(k): str(v) for k, v in options.items()} if kind == "choice" else {},
        answer=answer,
    )


def convert(row: dict[str, Any], at: Origin) -> Record:
    turns = row.get(at.columns.get("messages", "messages"))
    if not isinstance(turns, list) or not turns:
        raise BadRequest("source", f"row {at.row}: expected a non-empty list in 'messages'")
    return chat_record(row, [to_message(t, at, k) for k, t in enumerate(turns)], at)


ADAPTER = Adapter("messages", convert, licence="unspecified", sample="messages.jsonl")
