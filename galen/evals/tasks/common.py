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


def kind_of(value: Any) -> str:
    """A JSON value's type as a row error names it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a string ({value[:30]!r})"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def require(task: str, row: dict[str, Any], row_id: Any, name: str, expected: str) -> Any:
    """row[name], or an error saying the field is missing and what the row should have."""
    if not isinstance(row, dict):
        raise bad_row(task, row_id, f"is {kind_of(row)}, not a JSON object")
    if name not in row:
        raise bad_row(task, row_id, f"field {name!r} is missing; expected {expected}")
    return row[name]


def text_field(task: str, row_id: Any, name: str, value: Any) -> str:
    """A question's text: a non-empty string, or an error naming the field and what it holds."""
    if not isinstance(value, str) or not value.strip():
        raise bad_row(task, row_id, f"field {name!r} must be a non-empty string, got {kind_of(value)}")
    return value


OPTIONS_SHAPES = 'a {"A": text, ...} object, a list of texts, or a list of {"letter", "content"} objects'


def options_field(task: str, row_id: Any, name: str, value: Any) -> dict[str, str]:
    """Options in any of the shapes upstream files use, as letter -> text:
    {"A": "x", ...}; ["x", "y"] (lettered in order); [{"letter": "A", "content": "x"}, ...]
    (the MedXpertQA authors' eval input). Anything else names the field and what it holds."""

    def bad(why: str) -> BadRequest:
        return bad_row(task, row_id, f"field {name!r} {why}; expected {OPTIONS_SHAPES}")

    if isinstance(value, dict):
        if not all(isinstance(v, str | int | float) for v in value.values()):
            raise bad("has a value that is not text")
        return {str(k).strip(): str(v) for k, v in value.items()}
    if not isinstance(value, list) or not value:
        raise bad(f"is {kind_of(value)}")
    if all(isinstance(v, dict) for v in value):
        out = {}
        for i, item in enumerate(value):
            if not isinstance(item.get("letter"), str) or "content" not in item:
                raise bad(
                    f"entry {i} has keys {', '.join(map(repr, item)) or 'none'}, not letter and content"
                )
            out[item["letter"].strip()] = str(item["content"])
        return out
    if all(isinstance(v, str | int | float) or v is None for v in value):
        try:
            return options_from_list(value)
        except ValueError as exc:
            raise bad(str(exc)) from None
    raise bad("mixes texts and objects")


def letter_field(task: str, row_id: Any, name: str, value: Any) -> str:
    """A gold letter given as "C", or as a one-element list ["C"] (MedXpertQA's eval input)."""
    if isinstance(value, list):
        if len(value) != 1:
            raise bad_row(
                task, row_id, f"field {name!r} holds {len(value)} answers; this task needs exactly one"
            )
        value = value[0]
    if not isinstance(value, str) or not value.strip():
        raise bad_row(
            task, row_id, f'field {name!r} must be an option letter such as "C", got {kind_of(value)}'
        )
    return value.strip()


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
    rows = take(got.rows, limit)
    if (bad := next((i for i, row in enumerate(rows) if not isinstance(row, dict)), None)) is not None:
        raise bad_row(split.task, bad, f"is {kind_of(rows[bad])}, not a JSON object")
    samples = [checked(split.task, to_sample(row, i)) for i, row in enumerate(rows)]
    name = split.task
    return Task(name=name, version=version, samples=samples, source=got.source, files=got.files, **fields)
