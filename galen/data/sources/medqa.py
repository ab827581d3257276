"""MedQA (USMLE), any split: four- or five-option vignettes. The training side of eval's `medqa`.

Rows are read by galen eval's own MedQA reader (`evals.tasks.medqa.to_sample`), so both upstream
shapes work: jind11/MedQA's jsonl (`question`, `options` {A..}, `answer_idx`, `meta_info`) and the
`-hf` copy (`sent1`, `ending0`.., `label`). MedQA ids are line numbers, which repeat across
splits, so stage 0 only removes the evaluated split (`test`), never by id.

Hub: GBaker/MedQA-USMLE-4-options at the commit galen eval pins; `split: train` reads
`phrases_no_exclude_train.jsonl`. Licence: MIT (jind11/MedQA).
"""

from __future__ import annotations

from typing import Any

from galen.data.record import Record
from galen.data.sources.base import Adapter, Mirror, Origin, choice_record
from galen.evals.tasks.common import checked
from galen.evals.tasks.medqa import HUB_ID, NAME, REVISION, to_sample


def convert(row: dict[str, Any], at: Origin) -> Record:
    sample = checked(NAME, to_sample(row, at.row))
    return choice_record(
        at, sample.id, sample.question, sample.options, sample.answer, metadata=sample.metadata
    )


FILES = ("*{split}*.jsonl", "**/*{split}*.jsonl", "*{split}*.parquet")
HUB = f"{HUB_ID}@{REVISION}"
MIRROR = Mirror(NAME, splits=("test",))
ADAPTER = Adapter(
    NAME, convert, licence="MIT", sample="medqa_train.jsonl", hub=HUB, files=FILES, mirror=MIRROR
)
