"""Your own multiple-choice task: a JSONL file of questions and a small YAML spec, given to
`--tasks` by its path (`--tasks medqa,my/cardio.yaml`), as lm-eval users add tasks of their own.

    # cardio.yaml
    name: cardio_mcq                 # how results name it
    data: cardio.jsonl               # relative to this file (.jsonl, .json or .parquet)
    fewshot_data: cardio_dev.jsonl   # optional: exemplars for the lm-eval preset, in order
    num_fewshot: 3                   # optional (default: all of fewshot_data, else 0)
    description: "The following are multiple choice questions (with answers) about cardiology."
    fields: {question: question, options: options, answer: answer, id: id}   # the defaults
    subgroups: [specialty]           # optional: row fields to break the score down by

A row's options may be {"A": text, ...}, a list of texts (lettered A, B, ... in order) or a list
of {"letter", "content"}; its answer a letter, a one-letter list or a 0-based index. The
"galen" preset asks as the card does; "lm-eval" and `--mode loglik` use MMLU's wording (the
description, the exemplars, then "question / A. ... / Answer:", scored over " A", " B", ...).
A mistake in the spec names its field; a bad row names the row, the field and what it holds.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from galen.config import ConfigModel, ConfigPath, read_yaml, validate
from galen.errors import BadRequest
from galen.evals.loading import read_records, take
from galen.evals.task import LETTERS, Sample, Task
from galen.evals.tasks.common import (
    bad_row,
    checked,
    kind_of,
    letter_field,
    options_field,
    require,
    text_field,
)
from galen.evals.tasks.mmlu import context, make_prompt, queries
from galen.files import sha256_file

SPEC_SUFFIXES = (".yaml", ".yml")


class Fields(ConfigModel):
    """Which row field holds what."""

    question: str = Field("question", description="The question text.")
    options: str = Field("options", description="The options: object, list of texts or of {letter, content}.")
    answer: str = Field("answer", description="The gold: a letter, a one-letter list or a 0-based index.")
    id: str | None = Field("id", description="An item id (default: the line number).")


class TaskSpec(ConfigModel):
    """A user-defined multiple-choice task."""

    name: str = Field(description="The task's name in results (letters, digits, _ and -).")
    data: ConfigPath = Field(description="The questions, relative to the spec file.")
    version: str = Field("1", description="Bump it when the data or wording changes.")
    description: str = Field("", description="lm-eval's description line, before the exemplars.")
    fewshot_data: ConfigPath | None = Field(None, description="Exemplars for the lm-eval preset.")
    num_fewshot: int | None = Field(None, ge=0, description="Exemplars to use (default: all given).")
    fields: Fields = Field(default_factory=Fields, description="Row field names.")
    subgroups: list[str] = Field(default_factory=list, description="Row fields to break scores down by.")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", value):
            raise ValueError(f"{value!r}: use letters, digits, _, . and - only (it names files)")
        return value


def is_spec(name: str) -> bool:
    return name.lower().endswith(SPEC_SUFFIXES)


def _answer(spec: TaskSpec, row_id: Any, value: Any, options: dict[str, str]) -> str:
    field = spec.fields.answer
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value < len(options):
            raise bad_row(
                spec.name, row_id, f"field {field!r} is index {value}; there are {len(options)} options"
            )
        return LETTERS[value]
    return letter_field(spec.name, row_id, field, value)


def _sample(spec: TaskSpec, row: dict[str, Any], line: int) -> Sample:
    f, expected = spec.fields, f"{spec.fields.question}, {spec.fields.options} and {spec.fields.answer}"
    if not isinstance(row, dict):
        raise bad_row(spec.name, line, f"is {kind_of(row)}, not a JSON object")
    row_id = row.get(f.id, line) if f.id else line
    question = text_field(
        spec.name, row_id, f.question, require(spec.name, row, row_id, f.question, expected)
    )
    options = options_field(
        spec.name, row_id, f.options, require(spec.name, row, row_id, f.options, expected)
    )
    answer = _answer(spec, row_id, require(spec.name, row, row_id, f.answer, expected), options)
    metadata = {key: row[key] for key in spec.subgroups if row.get(key) is not None}
    return checked(spec.name, Sample(str(row_id), question, answer, options, metadata=metadata))


def load_spec(path: str | Path) -> TaskSpec:
    file = Path(path).expanduser().resolve()
    return validate(TaskSpec, read_yaml(file, "task spec"), base=file.parent, source=str(file))


def custom_task(path: str | Path, limit: int | None = None, num_fewshot: int | None = None) -> Task:
    """The task a spec file describes; `num_fewshot` (the flag) overrides the spec's."""
    spec = load_spec(path)
    data = Path(spec.data)
    if not data.is_file():
        raise BadRequest("source", f"{spec.name}: no data file at {data} (spec {path})")
    samples = [_sample(spec, row, i) for i, row in enumerate(take(read_records(data), limit))]
    if not samples:
        raise BadRequest("source", f"{spec.name}: {data} has no rows")
    shots = _fewshot(spec, num_fewshot if num_fewshot is not None else spec.num_fewshot)
    header = f"{spec.description.strip()}\n\n" if spec.description.strip() else ""
    text = context(header, shots)
    files = [data, *([Path(spec.fewshot_data)] if shots else [])]
    source = f"{Path(path).resolve()} [" + ", ".join(f"{f.name} sha256:{sha256_file(f)}" for f in files) + "]"
    return Task(
        name=spec.name,
        version=spec.version,
        samples=samples,
        prompt=make_prompt(text),
        loglik=queries(text),
        fewshot=shots,
        subgroups=tuple(spec.subgroups),
        source=source,
        files=tuple(str(f) for f in files),
    )


def _fewshot(spec: TaskSpec, wanted: int | None) -> list[Sample]:
    if not spec.fewshot_data:
        if wanted:
            raise BadRequest("num_fewshot", f"{spec.name}: {wanted}-shot needs fewshot_data in its spec")
        return []
    file = Path(spec.fewshot_data)
    if not file.is_file():
        raise BadRequest("source", f"{spec.name}: no fewshot_data file at {file}")
    rows = read_records(file)
    count = len(rows) if wanted is None else wanted
    if len(rows) < count:
        raise BadRequest("num_fewshot", f"{spec.name}: {count}-shot but {file.name} has {len(rows)} rows")
    return [_sample(spec, row, i) for i, row in enumerate(rows[:count])]
