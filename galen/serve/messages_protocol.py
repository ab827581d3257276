"""Request models of Anthropic's Messages API (`POST /v1/messages`, `/v1/messages/count_tokens`).

The top level is checked by pydantic; content blocks are read one by one in `messages_input.py`
with the block models below, so an error names the block (`messages[1].content[0].tool_use_id`).
Errors come back in Anthropic's shape (`errors.py`). Fields galen cannot honour are refused with a
400 naming them; `metadata` and `service_tier` are accepted and ignored.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from galen.chat.output_format import OutputFormat
from galen.serve.turn import GalenFields

NAME_PATTERN = r"^[A-Za-z0-9_.\-]+$"
REFUSED = {
    "container": "Anthropic's code-execution containers are not supported",
    "mcp_servers": "MCP servers are not supported; send tools and run them yourself",
    "context_management": "context management is not supported",
}


class SystemText(BaseModel):
    type: Literal["text"]
    text: str


class Tool(BaseModel):
    """A client tool; Anthropic's server tools (web search, bash, ...) are refused by type."""

    type: Literal["custom"] | None = None
    name: str = Field(min_length=1, max_length=64, pattern=NAME_PATTERN)
    description: str | None = None
    input_schema: dict[str, Any]

    @field_validator("input_schema")
    @classmethod
    def _object_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        if value.get("type", "object") != "object":
            raise ValueError("a tool's input_schema must be a JSON schema of type 'object'")
        return value


class ToolChoice(BaseModel):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None

    @model_validator(mode="after")
    def _named(self) -> ToolChoice:
        if self.type == "tool" and not self.name:
            raise ValueError("tool_choice of type 'tool' needs the tool's `name`")
        return self


class Thinking(BaseModel):
    """`enabled` turns galen's thinking on, with `budget_tokens` as its thinking budget (Anthropic
    asks for at least 1,024; galen takes any budget, as small models need small ones);
    `disabled` turns it off; `adaptive` and `between_tools` turn it on with no budget of their
    own (the model's default budget applies, as without `budget_tokens`).
    `display: omitted` sends thinking blocks without their text."""

    type: Literal["enabled", "disabled", "adaptive", "between_tools"]
    budget_tokens: int | None = Field(default=None, ge=0)
    display: Literal["summarized", "omitted"] | None = None


class JsonOutputFormat(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    type: Literal["json_schema"]
    schema_: dict[str, Any] = Field(alias="schema")


class OutputConfig(BaseModel):
    """`effort` is accepted and ignored (galen's control is the thinking budget); `format`
    constrains the answer to a JSON schema, as `response_format` does on chat completions."""

    effort: Literal["low", "medium", "high", "xhigh", "max"] | None = None
    format: JsonOutputFormat | None = None

    def output_format(self) -> OutputFormat | None:
        if self.format is None:
            return None
        return OutputFormat.json_schema(self.format.schema_, "output_config.format.schema")


class InputMessage(BaseModel):
    role: Literal["user", "assistant"]
    content: str | list[Any]


class CountTokensRequest(GalenFields):
    """What a prompt is made of; also the base of a Messages request."""

    model: str | None = None
    messages: list[InputMessage] = Field(min_length=1)
    system: str | list[SystemText] | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    thinking: Thinking | None = None
    output_config: OutputConfig | None = None


class MessagesRequest(CountTokensRequest):
    max_tokens: int = Field(ge=1)
    stop_sequences: list[str] | None = None
    stream: bool = False
    temperature: float | None = Field(default=None, ge=0, le=1)
    top_p: float | None = Field(default=None, gt=0, le=1)
    metadata: dict[str, Any] | None = None  # user_id: accepted, ignored
    service_tier: str | None = None  # accepted, ignored
    container: Any = None
    mcp_servers: Any = None
    context_management: Any = None

    @field_validator("stop_sequences")
    @classmethod
    def _stops(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and (len(value) > 16 or any(not s for s in value)):
            raise ValueError("at most 16 non-empty stop sequences")
        return value

    @field_validator("container", "mcp_servers", "context_management")
    @classmethod
    def _refused(cls, value: Any, info: ValidationInfo) -> Any:
        if value:
            raise ValueError(REFUSED[info.field_name])
        return value


# -- content blocks (read by messages_input.py) ------------------------------------------------


class TextBlock(BaseModel):
    type: Literal["text"]
    text: str


class ImageSource(BaseModel):
    type: Literal["base64", "url"]
    media_type: str | None = None
    data: str | None = None
    url: str | None = None

    @property
    def as_url(self) -> str:
        if self.type == "url":
            return self.url or ""
        return f"data:{self.media_type};base64,{self.data}"

    @model_validator(mode="after")
    def _complete(self) -> ImageSource:
        if self.type == "url" and not self.url:
            raise ValueError("a 'url' image source needs `url`")
        if self.type == "base64" and not (self.data and self.media_type):
            raise ValueError("a 'base64' image source needs `media_type` and `data`")
        return self


class ImageBlock(BaseModel):
    type: Literal["image"]
    source: ImageSource


class ToolUseBlock(BaseModel):
    type: Literal["tool_use"]
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    input: dict[str, Any]


class ToolResultBlock(BaseModel):
    type: Literal["tool_result"]
    tool_use_id: str = Field(min_length=1)
    content: str | list[Any] | None = None
    is_error: bool | None = None


class ThinkingBlock(BaseModel):
    type: Literal["thinking"]
    thinking: str
    signature: str | None = None  # galen's own are hashes of the text; none is checked


class RedactedThinkingBlock(BaseModel):
    type: Literal["redacted_thinking"]
    data: str
