"""MedXpertQA Text: 2450 expert-level ten-option (A-J) questions from specialty board exams,
scored by accuracy, with breakdowns by reasoning vs understanding and by body system.

A row of the upstream jsonl (TsinghuaC3I/MedXpertQA `Text/test.jsonl`) has this shape:

    {"id": "Text-17",
     "question": "A 54-year-old woman ... Which ...?\\nAnswer Choices: (A) ... (B) ... (J) ...",
     "options": {"A": "...", "B": "...", ..., "J": "..."},
     "label": "F",
     "medical_task": "Diagnosis",          # or Treatment, Basic Science
     "body_system": "Cardiovascular",       # our subgroup (11 systems)
     "question_type": "Reasoning"}          # or Understanding: our subgroup

The question text repeats the choices after "Answer Choices:"; the galen preset drops that copy and
lists the options itself.

The authors' evaluation code reads its own copy of the same rows
(`eval/data/medxpertqa/input/medxpertqa_text_input.jsonl`, written by `prepare_medxpertqa.ipynb`):
`options` a list of `{"letter": "A", "content": "..."}` and `label` a one-element list (`["F"]`).
Both shapes are read; a field of any other type is an error that names it and says what it holds.

Official scorer: accuracy, https://github.com/TsinghuaC3I/MedXpertQA (eval/). lm-eval has no
MedXpertQA task, so the "lm-eval" preset uses the authors' zero-shot answer-only prompt instead (a
system role "You are a helpful medical assistant." and "Q: {question}\\nA: Among A through J, the
answer is"), as in their eval code and OpenCompass's MedXpertQA config.
"""

from __future__ import annotations

from typing import Any

from galen.evals.loading import FileSplit
from galen.evals.task import Sample, Task, task
from galen.evals.tasks.common import (
    Messages,
    choice_presets,
    choice_task,
    letter_field,
    options_field,
    require,
    text_field,
)

NAME = "medxpertqa"
VERSION = "1"
HUB_ID = "TsinghuaC3I/MedXpertQA"
REVISION = "f4e6fe7e5a9e13d6c97d7aa2b91cdd8b80c9cc61"
HUB_FILES = ("Text/test.jsonl",)
TEST_ROWS = 2450
# The hub's Text/test.jsonl, or the authors' eval input (eval/data/medxpertqa/input/ in their repo).
FOLDER_FILES = (
    "Text/test.jsonl",
    "test.jsonl",
    "medxpertqa_text_input.jsonl",
    "**/input/medxpertqa_text_input.jsonl",
    "*.jsonl",
    "**/test/*.parquet",
)
SPLIT = FileSplit(NAME, "medxpertqa.jsonl", HUB_ID, REVISION, HUB_FILES, FOLDER_FILES, TEST_ROWS)
METADATA = ("medical_task", "body_system", "question_type")
SYSTEM = "You are a helpful medical assistant."


def strip_choices(question: str) -> str:
    """The question without the "Answer Choices: (A) ..." copy of the options at its end."""
    cut = question.rfind("Answer Choices:")
    return question[:cut].rstrip() if cut > 0 else question.strip()


def to_sample(row: dict[str, Any], line: int) -> Sample:
    """A row of the hub file, or of the authors' eval input (options as a list of
    {"letter", "content"}, label as ["F"]); a wrong field is named with what it holds."""
    row_id = row.get("id", line) if isinstance(row, dict) else line
    expected = "question, options and label"
    question = text_field(NAME, row_id, "question", require(NAME, row, row_id, "question", expected))
    options = options_field(NAME, row_id, "options", require(NAME, row, row_id, "options", expected))
    answer = letter_field(NAME, row_id, "label", require(NAME, row, row_id, "label", expected))
    return Sample(
        id=str(row_id),
        question=strip_choices(question),
        answer=answer,
        options=options,
        metadata={key: row[key] for key in METADATA if row.get(key)},
    )


def lm_eval_prompt(sample: Sample) -> Messages:
    """No lm-eval task exists: the authors' zero-shot answer-only prompt ("... the answer is")."""
    first, last = next(iter(sample.options)), list(sample.options)[-1]
    choices = " ".join(f"({k}) {v}" for k, v in sample.options.items())
    text = f"Q: {sample.question}\nAnswer Choices: {choices}\nA: Among {first} through {last}, the answer is"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}]


prompt, loglik = choice_presets(lm_eval_prompt)


@task(NAME)
def medxpertqa(source: str | None = None, limit: int | None = None, seed: int = 0) -> Task:
    """MedXpertQA Text test (2450 items, 10 options); subgroups by question type and body system.

    source: None (our bundled sample), Text/test.jsonl or a folder holding it, "hub"
        (TsinghuaC3I/MedXpertQA at a pinned commit) or "hf://ID@REVISION". limit: the first N items
        in file order. seed: unused (nothing is shuffled); accepted so every task factory takes the
        same arguments.
    """
    subgroups = ("question_type", "body_system")
    return choice_task(
        SPLIT, VERSION, source, limit, to_sample, prompt=prompt, loglik=loglik, subgroups=subgroups
    )
