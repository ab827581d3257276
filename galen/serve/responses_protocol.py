"""Request models of OpenAI's Responses API (`POST /v1/responses`), as far as galen serves it.

The request's top level is checked here by pydantic (FastAPI names the field of any error). Input
items are read one by one in `responses_input.py`, whose item models are below: an item's type
is only known once it is read, and an error must name the item (`input[2].call_id`).

Fields galen cannot honour are refused with a 400 naming them rather than silently ignored;
the few OpenAI itself treats as hints (`user`, `service_tier`, `prompt_cache_key`, ...) are
accepted and ignored (docs/serve.md has the table).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from galen.chat.output_format import OutputFormat
from galen.serve.turn import GalenFields

NAME_PATTERN = r"^[A-Za-z0-9_.\-]+$"
ACCEPTED_INCLUDES = ("reasoning.encrypted_content",)  # nothing is encrypted: the text is sent
REFUSED = {
    "truncation": "'auto' (dropping input items to fit the window) is not supported; a prompt "
    "too long for the window is a 400",
    "top_logprobs": "log-probabilities are not returned by galen's Responses API yet",
    "background": "background responses are not supported: nothing runs after the answer is sent",
    "conversation": "OpenAI's stored conversations are not supported; chain turns with previous_response_id",
    "prompt": "OpenAI's stored prompt templates are not supported; send `instructions` and `input`",
}


class FunctionTool(BaseModel):
    """Responses' function tools are flat: no nested `function` object as in chat completions."""

    type: Literal["function"]
    name: str = Field(min_length=1, max_length=64, pattern=NAME_PATTERN)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None

    @field_validator("parameters")
    @classmethod
    def _object_schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and value.get("type", "object") != "object":
            raise ValueError("a function's parameters must be a JSON schema of type 'object'")
        return value


class NamedFunction(BaseModel):
    type: Literal["function"]
    name: str


class Reasoning(BaseModel):
    """`effort: "none"` turns thinking off, any other effort on; `summary` is ignored (the
    reasoning comes back whole, as `reasoning_text`)."""

    effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None
    summary: Literal["auto", "concise", "detailed"] | None = None
    generate_summary: Literal["auto", "concise", "detailed"] | None = None


class TextFormat(BaseModel):
    """`text.format`: Responses' flat form of chat completions' `response_format` (the schema
    sits beside `name`, not inside a `json_schema` object)."""

    model_config = ConfigDict(populate_by_name=True)

    type: Literal["text", "json_object", "json_schema"] = "text"
    name: str | None = Field(default=None, min_length=1, max_length=64, pattern=NAME_PATTERN)
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    description: str | None = None
    strict: bool | None = None

    @model_validator(mode="after")
    def _schema_with_its_type(self) -> TextFormat:
        if self.type == "json_schema" and self.schema_ is None:
            raise ValueError("type 'json_schema' needs a `schema` (and a `name`)")
        return self

    def output_format(self) -> OutputFormat | None:
        """The constraint on the answer (a 400 naming `text.format.schema` for a bad schema)."""
        if self.type == "json_object":
            return OutputFormat.json_object("text.format")
        if self.type == "json_schema":
            return OutputFormat.json_schema(self.schema_, "text.format.schema", self.name, self.strict)
        return None

    def echo(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class TextConfig(BaseModel):
    format: TextFormat | None = None
    verbosity: Literal["low", "medium", "high"] | None = None


class ResponsesRequest(GalenFields):
    model: str | None = None
    input: str | list[Any]
    instructions: str | None = None
    max_output_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    tools: list[FunctionTool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedFunction | None = None
    # galen's, as in chat completions: the tool_choice once a tool result (a function_call_output)
    # follows the last user message, so an agent can force a first call and still finish.
    tool_choice_after_result: Literal["none", "auto", "required"] | NamedFunction | None = None
    parallel_tool_calls: bool = True
    stream: bool = False
    store: bool = True
    previous_response_id: str | None = None
    reasoning: Reasoning | None = None
    text: TextConfig | None = None
    metadata: dict[str, str] | None = None
    include: list[str] | None = None
    truncation: Literal["auto", "disabled"] | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    background: bool | None = None
    conversation: Any = None
    prompt: Any = None
    max_tool_calls: int | None = Field(default=None, ge=1)  # at most one turn: always honoured
    # Hints OpenAI itself treats as account-level: accepted, ignored.
    user: str | None = None
    safety_identifier: str | None = None
    service_tier: str | None = None
    prompt_cache_key: str | None = None

    @field_validator("input")
    @classmethod
    def _not_empty(cls, value: str | list[Any]) -> str | list[Any]:
        if isinstance(value, list) and not value:
            raise ValueError("must hold at least one item")
        return value

    @field_validator("truncation", "top_logprobs", "background", "conversation", "prompt")
    @classmethod
    def _refused(cls, value: Any, info: ValidationInfo) -> Any:
        if value and value != "disabled":
            raise ValueError(REFUSED[info.field_name])
        return value

    @field_validator("include")
    @classmethod
    def _includes(cls, value: list[str] | None) -> list[str] | None:
        for item in value or []:
            if item not in ACCEPTED_INCLUDES:
                raise ValueError(f"{item!r} is not supported; galen accepts {list(ACCEPTED_INCLUDES)}")
        return value


# -- input items (read by responses_input.py) ------------------------------------------------


class TextPart(BaseModel):
    type: Literal["input_text", "output_text"]
    text: str


class RefusalPart(BaseModel):
    type: Literal["refusal"]
    refusal: str


class ImagePart(BaseModel):
    type: Literal["input_image"]
    image_url: str = Field(min_length=1)  # file_id needs OpenAI's file store: refused
    detail: str | None = None


class MessageItem(BaseModel):
    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[Any]
    id: str | None = None
    status: str | None = None


class ReasoningText(BaseModel):
    type: Literal["reasoning_text", "summary_text"]
    text: str


class ReasoningItem(BaseModel):
    type: Literal["reasoning"]
    id: str | None = None
    summary: list[ReasoningText] = Field(default_factory=list)
    content: list[ReasoningText] | None = None
    encrypted_content: str | None = None
    status: str | None = None

    @property
    def text(self) -> str:
        """The reasoning itself when the item has it, else its summary."""
        return "".join(p.text for p in (self.content or self.summary))


class FunctionCallItem(BaseModel):
    type: Literal["function_call"]
    call_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    arguments: str
    id: str | None = None
    status: str | None = None


class FunctionCallOutputItem(BaseModel):
    type: Literal["function_call_output"]
    call_id: str = Field(min_length=1)
    output: str | list[Any]
    id: str | None = None
    status: str | None = None
