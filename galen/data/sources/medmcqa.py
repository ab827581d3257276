"""MedMCQA, any split: four-option questions from Indian entrance exams. Training side of eval's
`medmcqa` (which scores the dev split).

Rows are read by galen eval's MedMCQA reader (`evals.tasks.medmcqa.to_sample`): the upstream
Hugging Face shape (`question`, `opa`..`opd`, `cop` 0-3, `exp`, `subject_name`, `id`) and derived
copies (`options` {A..D}, `answer_idx`). The explanation `exp`, when present, is written before
the answer. Ids are UUIDs, unique across splits, so stage 0 also removes any row whose id is a
benchmark item's.

Hub: openlifescienceai/medmcqa at the parquet-conversion commit galen eval pins. Licence:
Apache-2.0 (as the hub card states).
"""

from __future__ import annotations

from typing import Any

from galen.data.record import Record
from galen.data.sources.base import Adapter, Mirror, Origin, choice_record, optional
from galen.evals.tasks.common import checked
from galen.evals.tasks.medmcqa import HUB_ID, NAME, REVISION, to_sample


def convert(row: dict[str, Any], at: Origin) -> Record:
    sample = checked(NAME, to_sample(row, at.row))
    explanation = optional(row, "exp", at)
    return choice_record(
        at, sample.id, sample.question, sample.options, sample.answer, explanation, sample.metadata
    )


FILES = ("**/{split}/*.parquet", "*{split}*.parquet", "*{split}*.jsonl", "*{split}*.json")
HUB = f"{HUB_ID}@{REVISION}"
MIRROR = Mirror(NAME, splits=("validation", "dev"), global_ids=True)
ADAPTER = Adapter(
    NAME, convert, licence="Apache-2.0", sample="medmcqa_train.jsonl", hub=HUB, files=FILES, mirror=MIRROR
)
