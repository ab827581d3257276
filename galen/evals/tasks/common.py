"""What the task files share: presets, the card's answer instruction, lettered options, row checks,
and building a multiple-choice task from a one-file split."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from galen.errors import BadRequest
from galen.evals.loading import FileSplit, load_split, take
from galen.evals.task import LETTERS, ChoiceQuery, Sample, Task

PRESETS = ("galen", "lm-eval")

# The model cards' multiple-choice instruction, word for word (Reasoning-Medical-27B, "Best Practices").
CHOICE_INSTRUCTION = (
    'Please show your choice in the answer field with only the choice letter, e.g., "answer": "C".'
)

Messages = list[dict[str, Any]]


def user(text: str) -> Messages:
    return [{"role": "user", "content": text}]


def unknown_preset(preset: str) -> BadRequest:
    return BadRequest("preset", f"unknown preset {preset!r}; use one of: {', '.join(PRESETS)}")


def lettered(options: dict[str, str]) -> str:
    """'A. text' one per line, in presentation order."""
    return "\n".join(f"{letter}. {text}" for letter, text in options.items())


def galen_choice_prompt(sample: Sample) -> Messages:
    """The zero-shot "galen" preset: question, lettered options, then the card's instruction."""
    return user(f"{sample.question}\n\n{lettered(sample.options)}\n\n{CHOICE_INSTRUCTION}")


def options_from_list(values: Sequence[Any]) -> dict[str, str]:
    """["x", "y"] -> {"A": "x", "B": "y"}; None entries (absent options) are dropped from the end."""
    texts = [v for v in values if v is not None]
    if len(texts) > len(LETTERS):
        raise ValueError(f"{len(texts)} options; at most {len(LETTERS)} are supported")
    return {LETTERS[i]: str(text) for i, text in enumerate(texts)}


def bad_row(task: str, row_id: Any, message: str) -> BadRequest:
    return BadRequest("source", f"{task}: row {row_id}: {message}")


def checked(task: str, sample: Sample) -> Sample:
    """A choice sample whose gold letter is one of its options, or an error naming the row."""
    if not sample.options:
        raise bad_row(task, sample.id, "has no options")
    if sample.answer not in sample.options:
        raise bad_row(task, sample.id, f"answer {sample.answer!r} is not one of {', '.join(sample.options)}")
    return sample


def lm_eval_question(header: str = "") -> Callable[[Sample], Messages]:
    """lm-eval's wording for MedQA and MedMCQA: "Question: ...", then `header` (MedMCQA's
    "Choices:"), the options as "A. text" one per line, and "Answer:"."""

    def prompt(sample: Sample) -> Messages:
        options = "".join(f"{k}. {v}\n" for k, v in sample.options.items())
        return user(f"Question: {sample.question}\n{header}{options}Answer:")

    return prompt


def choice_presets(
    lm_eval: Callable[[Sample], Messages],
) -> tuple[Callable[[Sample, str], Messages], Callable[[Sample], ChoiceQuery]]:
    """A multiple-choice task's prompt under both presets ("galen": the card's zero-shot prompt;
    "lm-eval": `lm_eval(sample)`), and its log-likelihood format: the lm-eval prompt's last turn,
    then " A", " B", ... (lm-eval's `multiple_choice` over the option letters)."""

    def prompt(sample: Sample, preset: str) -> Messages:
        if preset == "galen":
            return galen_choice_prompt(sample)
        if preset == "lm-eval":
            return lm_eval(sample)
        raise unknown_preset(preset)

    def loglik(sample: Sample) -> ChoiceQuery:
        return choice_query(lm_eval(sample)[-1]["content"], sample)

    return prompt, loglik


def choice_query(context: str, sample: Sample, choices: Sequence[str] | None = None) -> ChoiceQuery:
    """The sample as a log-likelihood query over its option letters (or the given labels)."""
    answers = tuple(choices) if choices is not None else tuple(sample.options)
    if sample.answer not in answers:
        raise bad_row("loglik", sample.id, f"gold {sample.answer!r} is not one of {', '.join(answers)}")
    return ChoiceQuery(context=context, choices=answers, gold=answers.index(sample.answer))


def choice_task(
    split: FileSplit,
    version: str,
    source: str | Path | None,
    limit: int | None,
    to_sample: Callable[[dict[str, Any], int], Sample],
    **fields: Any,
) -> Task:
    """A multiple-choice task from a one-file split: each row read by `to_sample(row, line)` and
    checked; `fields` are the rest of the Task (prompt, loglik, subgroups)."""
    got = load_split(split, source)
    samples = [checked(split.task, to_sample(row, i)) for i, row in enumerate(take(got.rows, limit))]
    name = split.task
    return Task(name=name, version=version, samples=samples, source=got.source, files=got.files, **fields)
