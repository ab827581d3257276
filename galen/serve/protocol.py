"""Request models of the OpenAI-compatible API, in the order of OpenAI's reference.

Fields that OpenAI's SDK passes through `extra_body` (top_k, min_p, chat_template_kwargs, ...)
arrive as top-level JSON keys, so they are plain fields here. Ranges are checked by pydantic,
and errors name the field.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


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
    logprobs: bool | int | None = None

    @field_validator("logprobs")
    @classmethod
    def _no_logprobs(cls, value: bool | int | None) -> None:
        if value:
            raise ValueError("log-probabilities are not returned by galen yet")
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
    parallel_tool_calls: bool = True
    chat_template_kwargs: dict[str, Any] | None = None
    # Aliases some providers use at the top level (the card mentions Alibaba Cloud's).
    enable_thinking: bool | None = None
    preserve_thinking: bool | None = None
    thinking_budget: int | None = Field(default=None, ge=0)
    response_format: dict[str, Any] | None = None
    top_logprobs: int | None = None
    mm_processor_kwargs: dict[str, Any] | None = None  # video frame sampling on vision models

    @field_validator("response_format")
    @classmethod
    def _text_only(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and value.get("type", "text") != "text":
            raise ValueError("only {'type': 'text'} is supported; structured output is not enforced yet")
        return value

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

    @field_validator("logprobs")
    @classmethod
    def _no_logprobs(cls, value: bool | int | None) -> int | None:
        """Replaces SamplingFields' check for /v1/completions: `logprobs` is the number of
        alternatives shown per token (0-20; true = 1). Which requests may use it is decided in
        galen.serve.prompt_logprobs.check_fields."""
        if value is None or value is False:
            return None
        number = 1 if value is True else int(value)
        if not 0 <= number <= 20:
            raise ValueError("must be between 0 and 20")
        return number

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
