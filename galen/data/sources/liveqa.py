"""LiveQA (TREC 2017 medical task): consumer questions sent to the NLM, with reference answers.

The hub copy `truehealth/liveqa` (635 question-answer pairs, parquet) has rows

    {"questionid": "Q1-S1", "subject": "<the e-mail subject>", "message": "<the question>",
     "focus": "...", "type": "treatment", "answer": "<reference answer>"}

Items are open: the user message is the subject (when any) and the message; the reference answer
is the assistant message. No revision is pinned: pass hf://truehealth/liveqa@COMMIT or a local
file. Licence: not stated by the mirror ("unknown"; the TREC data is public).
"""

from __future__ import annotations

from typing import Any

from galen.data.record import Record
from galen.data.sources.base import Adapter, Origin, open_record, optional, text


def convert(row: dict[str, Any], at: Origin) -> Record:
    message = text(row, "message", at)
    subject = optional(row, "subject", at)
    question = f"{subject}\n{message}" if subject and str(subject).strip() not in message else message
    metadata = {k: row[k] for k in ("focus", "type") if optional(row, k, at)}
    return open_record(at, optional(row, "questionid", at), question, optional(row, "answer", at), metadata)


FILES = ("data/*.parquet", "*.parquet", "*{split}*.jsonl", "*.jsonl")
ADAPTER = Adapter(
    "liveqa", convert, licence="unknown", sample="liveqa.jsonl", hub="truehealth/liveqa", files=FILES
)
