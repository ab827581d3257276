"""PubMedQA (PQA-L, or the artificial PQA-A): yes / no / maybe about an abstract. Training side
of eval's `pubmedqa`.

The upstream file maps a PubMed id to an item (`ori_pqal.json`, `ori_pqaa.json`):

    {"<pmid>": {"QUESTION": "...", "CONTEXTS": ["..."], "final_decision": "yes",
                "LONG_ANSWER": "<the abstract's conclusion>", ...}}

It is read as rows with a `pmid`; a .jsonl/.parquet of such rows (bigbio's `pubid`) works too.
Items go through galen eval's reader (`evals.tasks.pubmedqa.to_sample`); LONG_ANSWER is written
before the answer. PQA-L holds the 500 test items too: PubMed ids are global, so stage 0 removes
every row whose id is a benchmark item's. Licence: MIT.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from galen.data.record import Record
from galen.data.sources.base import Adapter, Mirror, Origin, label_record, optional, read_rows
from galen.evals.loading import read_json
from galen.evals.tasks.pubmedqa import HUB_ID, NAME, REVISION, to_sample


def read(path: Path) -> list[dict[str, Any]]:
    """ori_pqal.json's {pmid: item} as rows with a pmid; other files as they are."""
    if path.suffix.lower() == ".json":
        data = read_json(path)
        if isinstance(data, dict):
            return [{"pmid": pmid, **item} for pmid, item in data.items()]
    return read_rows(path)


def convert(row: dict[str, Any], at: Origin) -> Record:
    pmid = row.get("pmid") or row.get("pubid") or at.row
    sample = to_sample(str(pmid), row)
    explanation = optional(row, "LONG_ANSWER", at)
    return label_record(at, sample.id, sample.question, sample.context, sample.answer, explanation)


FILES = ("ori_pqa*.json", "{subset}/{split}/*.parquet", "*{split}*.parquet", "*{split}*.jsonl")
HUB = f"{HUB_ID}@{REVISION}"
SUBSET = "pubmed_qa_labeled_fold0_source"
MIRROR = Mirror(NAME, splits=("test",), global_ids=True)
SAMPLE = "pubmedqa/ori_pqal.json"
ADAPTER = Adapter(
    NAME, convert, licence="MIT", sample=SAMPLE, hub=HUB, files=FILES, subset=SUBSET, read=read, mirror=MIRROR
)
