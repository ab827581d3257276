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
from galen.data.sources.base import Adapter, Origin, choice_record
from galen.evals.tasks.common import checked
from galen.evals.tasks.medqa import HUB_ID, NAME, REVISION, to_sample


def convert(row: dict[str, Any], at: Origin) -> Record:
    sample = checked(NAME, to_sample(row, at.row))
    return choice_record(
        at, sample.id, sample.question, sample.options, sample.answer, metadata=sample.metadata
    )


ADAPTER = Adapter(
    name="medqa",
    description="MedQA USMLE (jind11/MedQA jsonl or the -hf copy)",
    licence="MIT",
    convert=convert,
    sample="medqa_train.jsonl",
    hub_id=HUB_ID,
    revision=REVISION,
    files=("*{split}*.jsonl", "**/*{split}*.jsonl", "*{split}*.parquet"),
    benchmark="medqa",
    benchmark_splits=("test",),
)
