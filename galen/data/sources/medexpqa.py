"""MedExpQA (HiTZ, from the CasiMedicos MIR exams): five-option clinical cases with a doctor's
explanation, in English, Spanish, French and Italian.

A row of `data/<lang>/<split>.<lang>.casimedicos.rag.jsonl` (split: train, dev, test):

    {"id": 12, "year": 2016, "type": "...", "lang": "en",
     "full_question": "<the case and the question>",
     "options": {"1": "...", "2": "...", "3": "...", "4": "...", "5": null},
     "correct_option": 3,                       # 1-based key of `options`
     "full_answer": "<the explanation>", "explanations": {...}, "rag": {...}}

Options are lettered A.. in key order, skipping empty ones (four-option years have "5": null);
`full_answer` is written before the answer. The recipe's `subset` picks the language (default en).
Hub: HiTZ/MedExpQA. Licence: CC-BY-4.0.
"""

from __future__ import annotations

from typing import Any

from galen.data.record import Record
from galen.data.sources.base import Adapter, Origin, Skip, choice_record, optional, text
from galen.errors import BadRequest
from galen.evals.task import LETTERS

REVISION = "78b57699763e00e38acd550f28de24d8a65f1643"


def convert(row: dict[str, Any], at: Origin) -> Record:
    raw = row.get("options")
    if not isinstance(raw, dict):
        raise BadRequest(
            "source", f"row {at.row}: options must be an object keyed 1..5, not {type(raw).__name__}"
        )
    keys = sorted((k for k, v in raw.items() if v is not None and str(v).strip()), key=lambda k: int(k))
    options = {LETTERS[i]: str(raw[k]) for i, k in enumerate(keys)}
    correct = optional(row, "correct_option", at)
    if correct is None:
        raise Skip("no correct_option")
    key = str(int(correct)) if str(correct).replace(".0", "").isdigit() else str(correct)
    if key not in keys:
        raise BadRequest(
            "source", f"row {at.row}: correct_option {correct!r} is not one of the options {keys}"
        )
    answer = LETTERS[keys.index(key)]
    metadata = {k: row[k] for k in ("year", "type", "lang") if row.get(k) is not None}
    question = text(row, "full_question", at)
    return choice_record(
        at, row.get("id"), question, options, answer, optional(row, "full_answer", at), metadata
    )


FILES = (
    "data/{subset}/{split}.{subset}.casimedicos*.jsonl",
    "{split}.{subset}.casimedicos*.jsonl",
    "*{split}*.jsonl",
)
HUB = f"HiTZ/MedExpQA@{REVISION}"
SAMPLE = "medexpqa_train.en.jsonl"
ADAPTER = Adapter("medexpqa", convert, licence="CC-BY-4.0", sample=SAMPLE, hub=HUB, files=FILES, subset="en")
