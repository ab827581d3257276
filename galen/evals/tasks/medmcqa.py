"""MedMCQA dev split: four-option questions from Indian medical entrance exams (AIIMS / NEET PG).

The published test answers are withheld, so papers and lm-eval score the dev ("validation") split:
4183 rows, of which 2816 are single-choice. A row of the upstream Hugging Face dataset
(openlifescienceai/medmcqa) has this shape:

    {"id": "<uuid>", "question": "...",
     "opa": "...", "opb": "...", "opc": "...", "opd": "...",
     "cop": 2,                         # the correct option, 0-3 (0 = opa)
     "choice_type": "single",          # or "multi"
     "exp": "<explanation>", "subject_name": "Pharmacology", "topic_name": "..."}

Derived copies (e.g. medagents-benchmark) have `{"question", "options": {"A".."D"}, "answer_idx",
"answer", "realidx"}`; both shapes are read. `subject_name` is the subgroup when present.

Official scorer: accuracy (https://github.com/medmcqa/medmcqa). lm-eval's `medmcqa` (loglikelihood
over A-D, here used for its wording only):
https://github.com/EleutherAI/lm-evaluation-harness/tree/main/lm_eval/tasks/medmcqa
"""

from __future__ import annotations

from typing import Any

from galen.evals.loading import FileSplit
from galen.evals.task import LETTERS, Sample, Task, task
from galen.evals.tasks.common import (
    bad_row,
    choice_presets,
    choice_task,
    letter_field,
    lm_eval_question,
    options_field,
    require,
    text_field,
)

NAME = "medmcqa"
VERSION = "1"
HUB_ID = "openlifescienceai/medmcqa"
# A commit of the repo's parquet conversion (refs/convert/parquet), which holds default/validation/*.parquet.
REVISION = "06f6303a3118f59c259d47bf71ab5e2dcc4e74bb"
HUB_FILES = ("*validation*.parquet", "*validation*/*.parquet", "data/validation-*")
DEV_ROWS = 4183
FOLDER_FILES = (
    "**/validation*.parquet",
    "**/validation/*.parquet",
    "dev*.jsonl",
    "dev*.json",
    "validation*.jsonl",
    "test.jsonl",
    "*.jsonl",
)
SPLIT = FileSplit(NAME, "medmcqa.jsonl", HUB_ID, REVISION, HUB_FILES, FOLDER_FILES, DEV_ROWS)
METADATA = ("subject_name", "topic_name", "choice_type")


def to_sample(row: dict[str, Any], line: int) -> Sample:
    """One row (upstream or derived shape) as a Sample; `line` is its 0-based position."""
    if "opa" in row:
        cop = row.get("cop")
        if not isinstance(cop, int) or not 0 <= cop <= 3:
            raise bad_row(
                NAME,
                row.get("id", line),
                f"cop must be 0-3 as on the Hugging Face hub, not {cop!r} "
                "(the GitHub release numbers options 1-4: subtract 1)",
            )
        options = {LETTERS[i]: str(row[key]) for i, key in enumerate(("opa", "opb", "opc", "opd"))}
        metadata = {key: row[key] for key in METADATA if row.get(key)}
        return Sample(
            id=str(row.get("id", line)),
            question=row["question"],
            answer=LETTERS[cop],
            options=options,
            metadata=metadata,
        )
    expected = "opa..opd and cop, or options and answer_idx"
    question = text_field(NAME, line, "question", require(NAME, row, line, "question", expected))
    options = options_field(NAME, line, "options", require(NAME, row, line, "options", expected))
    answer = letter_field(NAME, line, "answer_idx", require(NAME, row, line, "answer_idx", expected))
    metadata = {key: row[key] for key in METADATA if row.get(key)}
    return Sample(
        id=str(row.get("realidx", row.get("id", line))),
        question=question,
        answer=answer,
        options=options,
        metadata=metadata,
    )


# lm-eval's medmcqa wording (lm_eval/tasks/medmcqa/utils_medmcqa.py doc_to_text)
prompt, loglik = choice_presets(lm_eval_question("Choices:\n"))


@task(NAME)
def medmcqa(source: str | None = None, limit: int | None = None, seed: int = 0) -> Task:
    """MedMCQA dev split (4183 items; 2816 single-choice); subgroups by subject.

    source: None (our bundled sample), a .jsonl/.json/.parquet file or a folder holding the
        validation split, "hub" (openlifescienceai/medmcqa at a pinned commit) or "hf://ID@REVISION".
    limit: the first N items in file order. seed: unused (nothing is shuffled); accepted so every
        task factory takes the same arguments.
    """
    return choice_task(
        SPLIT, VERSION, source, limit, to_sample, prompt=prompt, loglik=loglik, subgroups=("subject_name",)
    )
