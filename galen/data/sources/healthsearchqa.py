"""HealthSearchQA (Med-PaLM): 3,173 commonly searched consumer health questions, no answers.

`katielink/healthsearchqa` holds `all.csv` (config all_data) and the 140-question subset; a row is
`{"id": 17, "question": "what does a high ferritin level mean"}`. Items are open and have no
reference answer, so they carry a user message only: they are not in the SFT or GRPO export until
an answer is generated for them. No revision is pinned: pass hf://katielink/healthsearchqa@COMMIT
or a local file. Licence: not stated by the upstream ("unknown").
"""

from __future__ import annotations

from typing import Any

from galen.data.record import Record
from galen.data.sources.base import Adapter, Origin, open_record, optional, text


def convert(row: dict[str, Any], at: Origin) -> Record:
    if "question" not in row and "Question" in row:  # some copies capitalise the column
        row = {**row, "question": row["Question"]}
    return open_record(at, optional(row, "id", at), text(row, "question", at), None)


FILES = ("all.csv", "*.csv", "data/*.parquet", "*.jsonl")
HUB = "katielink/healthsearchqa"
ADAPTER = Adapter(
    "healthsearchqa", convert, licence="unknown", sample="healthsearchqa.csv", hub=HUB, files=FILES
)
