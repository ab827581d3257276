"""Request models of the OpenAI-compatible API, in the order of OpenAI's reference.

Fields that OpenAI's SDK passes through `extra_body` (top_k, min_p, chat_template_kwargs, ...)
arrive as top-level JSON keys, so they are plain fields here. Ranges are checked by pydantic,
and errors name the field.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from galen.chat.output_format import OutputFormat
from galen.errors import BadRequest


class FunctionDef(BaseModel):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None

    @field_validator("parameters")
    @classmethod
    def _object_schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and value.get("type", "object") != "object":
            raise ValueError("a function's parameters must be a JSON schema of type 'object'")
        return value


class Tool(BaseModel):
    type: Literal["function"] = "function"
    function: FunctionDef


class StreamOptions(BaseModel):
    include_usage: bool = False


# -- structured outputs (response_format) -----------------------------------------------------


class JsonSchemaFormat(BaseModel):
    """`response_format.json_schema`: OpenAI's named schema. `strict` is accepted either way:
    galen always enforces the schema while sampling."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    description: str | None = None
    schema_: dict[str, Any] = Field(alias="schema")
    strict: bool | None = None


class ResponseFormat(BaseModel):
    """`response_format`: `text` (no constraint), `json_object` or `json_schema`."""

    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_with_its_type(self) -> ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("type 'json_schema' needs a `json_schema` object with `name` and `schema`")
        return self

    def output_format(self) -> OutputFormat | None:
        """The chat layer's constraint; a schema that is not valid JSON Schema is a 400 here."""
        if self.type == "json_object":
            return OutputFormat.json_object("response_format")
        if self.type == "json_schema" and self.json_schema is not None:
            spec = self.json_schema
            param = "response_format.json_schema.schema"
            return OutputFormat.json_schema(spec.schema_, param, spec.name, spec.strict)
        return None


class StructuredOutputs(BaseModel):
    """vLLM's `structured_outputs` on completions, which galen's remote engine sends (so one
    galen can serve through another): `json` (a schema) or `json_object` only."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    json_: dict[str, Any] | None = Field(default=None, alias="json")
    json_object: bool | None = None

    def output_format(self) -> OutputFormat | None:
        if self.json_ is not None:
            return OutputFormat.json_schema(self.json_, "structured_outputs.json")
        return OutputFormat.json_object("structured_outputs.json_object") if self.json_object else None


# -- log-probabilities ------------------------------------------------------------------------

MAX_TOP_LOGPROBS = 20  # OpenAI's and vLLM's default limit on alternatives per token


# -- OpenAI fields galen does not implement -----------------------------------------------------

# Each would change the answer, so a request that sets one is refused (a 400 naming it) rather
# than answered as if it had not: value -> is it set to something galen would have to do.
_REFUSED: dict[str, tuple[Any, str]] = {
    "logit_bias": (bool, "token biases are not supported"),
    "functions": (bool, "the deprecated `functions` form is not supported; use `tools`"),
    "function_call": (bool, "the deprecated `function_call` form is not supported; use `tool_choice`"),
    "audio": (bool, "audio output is not supported"),
    "modalities": (lambda v: v not in (None, [], ["text"]), "only text output is supported"),
    "prediction": (bool, "predicted outputs are not supported"),
    "web_search_options": (bool, "web search is not supported"),
    "suffix": (bool, "insertion after a suffix is not supported"),
    "best_of": (lambda v: v not in (None, 1), "best_of is not supported; use n"),
}


class SamplingFields(BaseModel):
    """Sampling fields shared by chat and text completions. None means "the preset decides"."""

    model_config = ConfigDict(extra="ignore")

    model: str | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    top_k: int | None = Field(default=None, ge=-1)
    min_p: float | None = Field(default=None, ge=0, le=1)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    repetition_penalty: float | None = Field(default=None, gt=0, le=10)
    seed: int | None = Field(default=None, ge=0, le=2**32 - 2)
    stop: str | list[str] | None = None
    n: int = Field(default=1, ge=1, le=16)
    stream: bool = False
    stream_options: StreamOptions | None = None
    preset: str | None = None
    user: str | None = None
    # Refused when set (see _REFUSED); declared so that the 400 names them.
    logit_bias: Any = None
    functions: Any = None
    function_call: Any = None
    audio: Any = None
    modalities: Any = None
    prediction: Any = None
    web_search_options: Any = None
    suffix: Any = None
    best_of: Any = None

    @field_validator(*_REFUSED)
    @classmethod
    def _refused(cls, value: Any, info: ValidationInfo) -> Any:
        is_set, why = _REFUSED[info.field_name or ""]
        if is_set(value):
            raise ValueError(why)
        return None

    @field_validator("stop")
    @classmethod
    def _stops(cls, value: str | list[str] | None) -> list[str] | None:
        stops = [value] if isinstance(value, str) else value
        if stops is not None and (len(stops) > 16 or any(not s for s in stops)):
            raise ValueError("at most 16 non-empty stop sequences")
        return stops


class ChatCompletionRequest(SamplingFields):
    messages: list[dict[str, Any]] = Field(min_length=1)
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | dict[str, Any] | None = None
    # galen's: the tool_choice once a tool result follows the last user message, so that an agent
    # that sends one config every turn (Qwen-Agent) can force a first call and still finish.
    tool_choice_after_result: Literal["none", "auto", "required"] | dict[str, Any] | None = None
    parallel_tool_calls: bool = True
    chat_template_kwargs: dict[str, Any] | None = None
    # Aliases some providers use at the top level (the card mentions Alibaba Cloud's).
    enable_thinking: bool | None = None
    preserve_thinking: bool | None = None
    thinking_budget: int | None = Field(default=None, ge=-1)  # -1: none, not even the model default
    response_format: ResponseFormat | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=MAX_TOP_LOGPROBS)
    mm_processor_kwargs: dict[str, Any] | None = None  # video frame sampling on vision models

    @field_validator("top_logprobs")
    @classmethod
    def _with_logprobs(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and not info.data.get("logprobs"):
            raise ValueError("needs `logprobs: true`")
        return value

    def logprobs_wanted(self) -> int | None:
        """None: no log-probabilities; k: each generated token's, with k alternatives."""
        return (self.top_logprobs or 0) if self.logprobs else None

    @field_validator("messages")
    @classmethod
    def _messages_are_objects(cls, value: list[Any]) -> list[Any]:
        for i, message in enumerate(value):
            if not isinstance(message, dict) or "role" not in message:
                raise ValueError(f"message {i} must be an object with a 'role'")
        return value


class CompletionRequest(SamplingFields):
    prompt: str | list[str] | list[int] | list[list[int]]  # the last: several token-id prompts
    # Prompt log-probabilities (galen.serve.prompt_logprobs): `echo` with `logprobs` (OpenAI's
    # legacy fields, what lm-eval's local-completions sends) or vLLM's `prompt_logprobs`.
    echo: bool = False
    max_tokens: int | None = Field(default=None, ge=0)  # 0: with echo, the prompt alone is scored
    prompt_logprobs: int | None = Field(default=None, ge=0, le=20)
    # Generated tokens' log-probabilities with this many alternatives (OpenAI's legacy form).
    logprobs: int | None = Field(default=None, ge=0, le=MAX_TOP_LOGPROBS)
    response_format: ResponseFormat | None = None  # as vLLM's completions take it
    structured_outputs: StructuredOutputs | None = None

    def output_format(self) -> OutputFormat | None:
        """The constraint on the text, from `response_format` or vLLM's `structured_outputs`."""
        if self.response_format and self.structured_outputs:
            raise BadRequest("structured_outputs", "give either response_format or structured_outputs")
        if self.structured_outputs:
            return self.structured_outputs.output_format()
        return self.response_format.output_format() if self.response_format else None

    @field_validator("prompt")
    @classmethod
    def _not_empty(cls, value: str | list[Any]) -> str | list[Any]:
        # Caught here, before a stream starts: an empty prompt gives the engine nothing to continue.
        if not value:
            raise ValueError("must not be empty")
        if isinstance(value, list) and any(isinstance(p, str) and not p for p in value):
            raise ValueError("every prompt in the list must be a non-empty string")
        if isinstance(value, list) and any(isinstance(p, int) and p < 0 for p in value):
            raise ValueError("token ids must be >= 0")
        if isinstance(value, list) and any(isinstance(p, list) and (not p or min(p) < 0) for p in value):
            raise ValueError("every token-id prompt in the list must be non-empty, with ids >= 0")
        return value


class TokenizeRequest(BaseModel):
    model: str | None = None
    prompt: str | None = None
    messages: list[dict[str, Any]] | None = None
