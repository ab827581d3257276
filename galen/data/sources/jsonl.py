"""Generic question-answer rows (.jsonl, .json, .parquet or .csv), for sources with no adapter.

Fields, renamed with the recipe's `columns` (e.g. `columns: {question: prompt, response: output}`):

    {"id": "q1", "question": "...",                       # required
     "options": {"A": "...", "B": "..."} or ["...", ...],   # makes a choice item; answer = letter
     "answer": "B" | "yes" | "no" | "maybe",               # gold label, when there is one
     "context": "...",                                     # a passage (yes/no/maybe items)
     "response": "...",                                    # a reference answer (open items)
     "explanation": "..."}                                 # written before a gold answer

With options the row is a choice item; with a yes/no/maybe answer and no options, a label item
prompted as PubMedQA is; otherwise an open item whose reference answer is `response`.
"""

from __future__ import annotations

from typing import Any

from galen.data.record import LABELS, Record
from galen.data.sources.base import Adapter, Origin, choice_record, label_record, open_record, optional, text
from galen.errors import BadRequest
from galen.evals.tasks.common import options_from_list


def convert(row: dict[str, Any], at: Origin) -> Record:
    question = text(row, "question", at)
    source_id = optional(row, "id", at)
    options = optional(row, "options", at)
    answer = optional(row, "answer", at)
    explanation = optional(row, "explanation", at)
    if options:
        if isinstance(options, list):
            options = options_from_list(options)
        if not isinstance(options, dict):
            raise BadRequest("source", f"row {at.row}: options must be an object or a list")
        options = {str(k): str(v) for k, v in options.items()}
        return choice_record(at, source_id, question, options, str(answer or "").strip(), explanation)
    if answer is not None and str(answer).strip().lower() in LABELS:
        label = str(answer).strip().lower()
        return label_record(at, source_id, question, optional(row, "context", at), label, explanation)
    return open_record(at, source_id, question, optional(row, "response", at))


ADAPTER = Adapter("jsonl", convert, licence="unspecified", sample="generic.jsonl")
