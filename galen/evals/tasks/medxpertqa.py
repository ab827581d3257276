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

Official scorer: accuracy, https://github.com/TsinghuaC3I/MedXpertQA (eval/). lm-eval has no
MedXpertQA task, so the "lm-eval" preset uses the authors' zero-shot answer-only prompt instead (a
system role "You are a helpful medical assistant." and "Q: {question}\\nA: Among A through J, the
answer is"), as in their eval code and OpenCompass's MedXpertQA config.
"""

from __future__ import annotations

from typing import Any

from galen.evals.loading import FileSplit
from galen.evals.task import Sample, Task, task
from galen.evals.tasks.common import Messages, bad_row, choice_presets, choice_task

NAME = "medxpertqa"
VERSION = "1"
HUB_ID = "TsinghuaC3I/MedXpertQA"
REVISION = "f4e6fe7e5a9e13d6c97d7aa2b91cdd8b80c9cc61"
HUB_FILES = ("Text/test.jsonl",)
TEST_ROWS = 2450
FOLDER_FILES = ("Text/test.jsonl", "test.jsonl", "*.jsonl", "**/test/*.parquet")
SPLIT = FileSplit(NAME, "medxpertqa.jsonl", HUB_ID, REVISION, HUB_FILES, FOLDER_FILES, TEST_ROWS)
METADATA = ("medical_task", "body_system", "question_type")
SYSTEM = "You are a helpful medical assistant."


def strip_choices(question: str) -> str:
    """The question without the "Answer Choices: (A) ..." copy of the options at its end."""
    cut = question.rfind("Answer Choices:")
    return question[:cut].rstrip() if cut > 0 else question.strip()


def to_sample(row: dict[str, Any], line: int) -> Sample:
    try:
        options = {str(k): str(v) for k, v in row["options"].items()}
        question, answer = row["question"], str(row["label"]).strip()
    except (KeyError, AttributeError) as exc:
        raise bad_row(
            NAME, row.get("id", line), f"missing field {exc}; expected question, options, label"
        ) from None
    return Sample(
        id=str(row.get("id", line)),
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
