"""What the answer must look like: free text, any JSON object, or JSON matching a schema.

Every API that constrains the answer maps onto `OutputFormat`: chat and text completions'
`response_format`, the Responses API's `text.format`. The chat layer applies it to the answer
after the reasoning (`engine.chat`), through the same JSON-schema constraint that forced tool
calls use (`GenerationRequest.json_schema`), so every engine enforces it as it samples.

A schema is checked here against its JSON Schema metaschema (the `jsonschema` library), so a
malformed one is a 400 naming the field before anything runs; whether the engine's grammar
compiler can enforce it is the engine's check (`Engine.check_json_schema`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jsonschema

from galen.errors import BadRequest

# `json_object`: any JSON object, as OpenAI and vLLM define it.
JSON_OBJECT_SCHEMA: dict[str, Any] = {"type": "object"}


@dataclass(frozen=True)
class OutputFormat:
    """A JSON constraint on the answer.

    schema: the JSON Schema the answer must match (`JSON_OBJECT_SCHEMA` for `json_object`).
    param: the request field that asked for it, named in errors (e.g.
        `response_format.json_schema.schema`, or `text.format.schema` on the Responses API).
    name, strict: as the request gave them (OpenAI's json_schema `name` and `strict`); the
        schema is enforced either way.
    """

    schema: dict[str, Any]
    param: str
    name: str | None = None
    strict: bool | None = None

    @classmethod
    def json_object(cls, param: str) -> OutputFormat:
        return cls(dict(JSON_OBJECT_SCHEMA), param)

    @classmethod
    def json_schema(
        cls, schema: Any, param: str, name: str | None = None, strict: bool | None = None
    ) -> OutputFormat:
        """A checked schema; a 400 naming `param` when it is not valid JSON Schema."""
        check_json_schema(schema, param)
        return cls(schema, param, name, strict)


def check_json_schema(schema: Any, param: str) -> None:
    """Raise a 400 naming `param` unless `schema` is valid under its metaschema (the draft its
    `$schema` names, else the latest, 2020-12)."""
    if not isinstance(schema, dict):
        raise BadRequest(param, "must be a JSON Schema object")
    if not isinstance(schema.get("$schema", ""), str):
        raise BadRequest(param, "`$schema` must be a metaschema URI")
    validator = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        error = jsonschema.exceptions.best_match(validator(validator.META_SCHEMA).iter_errors(schema))
    except RecursionError:
        raise BadRequest(param, "is nested too deeply") from None
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path)
        at = f" (at /{where})" if where else ""
        message = f"is not a valid JSON Schema: {error.message}{at}"
        raise BadRequest(param, message, code="invalid_json_schema")
