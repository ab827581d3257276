"""AfriMed-QA (v1 and v2, Intron Health): pan-African multiple-choice, short-answer and consumer
questions across 32 specialties.

A row of the released CSV (`intronhealth/afrimedqa_v2`, gated on the hub; v1 files have the same
columns) looks like:

    sample_id, question_type ("mcq" | "saq" | "consumer_queries"), question, question_clean,
    answer_options ('{"option1": "...", ..., "option5": "..."}', a JSON string),
    correct_answer ("option2"; several comma-separated for multiple-answer items),
    answer_rationale, specialty, country, ...

mcq rows become choice items (options lettered A.. in option order, "N/A" options dropped; the
rationale is written before the answer); multiple-answer mcq rows are skipped (counted). saq and
consumer rows become open items whose reference answer is the rationale. `question_clean` is
preferred over `question` when present. No revision is pinned: pass hf://intronhealth/afrimedqa_v2@
COMMIT (after accepting the dataset's terms) or a local file. Licence: CC-BY-NC-SA-4.0.
"""

from __future__ import annotations

import json
from typing import Any

from galen.data.record import Record
from galen.data.sources.base import Adapter, Origin, Skip, choice_record, open_record, optional, text
from galen.errors import BadRequest
from galen.evals.task import LETTERS


def _options(raw: Any, at: Origin) -> dict[str, str]:
    """{"option1": ...} (a dict or its JSON text) in option order, without N/A entries."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise BadRequest("source", f"row {at.row}: answer_options is not valid JSON") from None
    if not isinstance(raw, dict):
        raise BadRequest("source", f"row {at.row}: answer_options must map option1.. to text")
    return {
        str(k): str(v)
        for k, v in sorted(raw.items(), key=lambda kv: kv[0])
        if v is not None and str(v).strip() and str(v).strip().lower() != "n/a"
    }


def convert(row: dict[str, Any], at: Origin) -> Record:
    kind = str(optional(row, "question_type", at) or "mcq").strip().lower()
    question = optional(row, "question_clean", at) or text(row, "question", at)
    metadata = {k: row[k] for k in ("specialty", "country", "question_type") if optional(row, k, at)}
    rationale = optional(row, "answer_rationale", at)
    if kind != "mcq":
        return open_record(at, optional(row, "sample_id", at), str(question), rationale, metadata)
    raw = _options(optional(row, "answer_options", at), at)
    correct = [c.strip() for c in str(optional(row, "correct_answer", at) or "").split(",") if c.strip()]
    if len(correct) != 1:
        raise Skip("multiple correct answers" if correct else "no correct_answer")
    if correct[0] not in raw:
        raise BadRequest("source", f"row {at.row}: correct_answer {correct[0]!r} is not among the options")
    keys = list(raw)
    options = {LETTERS[i]: raw[k] for i, k in enumerate(keys)}
    answer = LETTERS[keys.index(correct[0])]
    return choice_record(
        at, optional(row, "sample_id", at), str(question), options, answer, rationale, metadata
    )


FILES = ("*{split}*.csv", "*.csv", "*{split}*.jsonl", "*{split}*.json")
HUB = "intronhealth/afrimedqa_v2"
ADAPTER = Adapter(
    "afrimedqa", convert, licence="CC-BY-NC-SA-4.0", sample="afrimedqa_v2.csv", hub=HUB, files=FILES
)
