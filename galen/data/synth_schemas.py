"""The JSON Schemas a teacher is asked to fill when it can follow one (`response_format`).

The schema fixes an item's SHAPE, so that a small teacher cannot drop a field, add a sixth option
or give a gold letter that is not an option; `galen.data.generators` still judges its CONTENT with
the same checks as for a free-text reply (the quote copied from the chunk, the item on topic).
Lengths are bounds a sound item meets, set so that a model's reply ends before `max_tokens`.
Fields come in the order a small model writes them best: the guideline QA quotes the passage
first and then asks about what it copied.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from galen.files import sha256_bytes


class _Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GroundedQA(_Reply):
    quote: str = Field(min_length=30, max_length=400)
    question: str = Field(min_length=10, max_length=200)
    answer: str = Field(min_length=3, max_length=300)


class Options(_Reply):
    A: str = Field(min_length=1, max_length=150)
    B: str = Field(min_length=1, max_length=150)
    C: str = Field(min_length=1, max_length=150)
    D: str = Field(min_length=1, max_length=150)


class ExamMCQ(_Reply):
    question: str = Field(min_length=10, max_length=300)
    options: Options
    answer: Literal["A", "B", "C", "D"]
    explanation: str = Field(min_length=10, max_length=400)


class Vignette(_Reply):
    vignette: str = Field(min_length=60, max_length=600)
    question: str = Field(min_length=10, max_length=200)
    reference_answer: str = Field(min_length=20, max_length=400)


REPLIES: dict[str, type[_Reply]] = {"guideline_qa": GroundedQA, "mcq": ExamMCQ, "vignette": Vignette}


def schema(generator: str) -> dict[str, Any]:
    return REPLIES[generator].model_json_schema()


def schema_sha256(generator: str) -> str:
    """What a kept record names: the sha256 of the schema's canonical JSON."""
    text = json.dumps(schema(generator), sort_keys=True, separators=(",", ":"))
    return sha256_bytes(text.encode("utf-8"))


def response_format(generator: str) -> dict[str, Any]:
    """OpenAI's `response_format` for `generator`'s reply."""
    return {
        "type": "json_schema",
        "json_schema": {"name": generator, "schema": schema(generator), "strict": True},
    }
