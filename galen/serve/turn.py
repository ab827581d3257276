"""One chat turn for the APIs that answer with a single choice (Responses, Messages).

Each API converts its request into OpenAI-style messages and tools, then into the same
`ChatRequest` that chat completions builds, so templates, thinking, presets, tool formats and
parsers are shared: for the same prompt and sampling the three APIs give the same text.
galen's own fields (`GalenFields`: top_k, min_p, preset, enable_thinking, thinking_budget, ...)
are accepted at the top level of both, as the SDKs' `extra_body` sends them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from galen.chat.output_format import OutputFormat
from galen.chat.parser import Delta
from galen.engine.chat import ChatEvent, ChatRequest, Prepared
from galen.serve.blocks import BlockAssembler
from galen.serve.limits import Admission
from galen.serve.protocol import SamplingFields
from galen.serve.state import ServerState


class GalenFields(BaseModel):
    """galen's request fields beyond each API's own, with chat completions' ranges."""

    model_config = ConfigDict(extra="ignore")

    top_k: int | None = Field(default=None, ge=-1)
    min_p: float | None = Field(default=None, ge=0, le=1)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    repetition_penalty: float | None = Field(default=None, gt=0, le=10)
    seed: int | None = Field(default=None, ge=0, le=2**32 - 2)
    preset: str | None = None
    chat_template_kwargs: dict[str, Any] | None = None
    enable_thinking: bool | None = None
    preserve_thinking: bool | None = None
    thinking_budget: int | None = Field(default=None, ge=-1)  # -1: none, not even the model default


@dataclass
class Turn:
    """What an API request asks of the chat layer, in chat completions' terms."""

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None  # OpenAI's {"type": "function", "function": {...}}
    tool_choice: Any = "auto"
    parallel_tool_calls: bool = True
    enable_thinking: bool | None = None  # the API's own switch; None: galen's fields, then the profile
    thinking_budget: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: list[str] | None = None
    output_format: OutputFormat | None = None  # a JSON constraint on the answer


def chat_request(state: ServerState, turn: Turn, extra: GalenFields) -> ChatRequest:
    """The ChatRequest chat completions would build; the API's own fields win over galen's."""
    kwargs = dict(extra.chat_template_kwargs or {})
    template_enable = kwargs.pop("enable_thinking", None)
    preserve = kwargs.pop("preserve_thinking", None)
    enable = turn.enable_thinking
    if enable is None:
        enable = extra.enable_thinking if extra.enable_thinking is not None else template_enable
    request = ChatRequest(
        messages=turn.messages,
        tools=turn.tools or None,
        tool_choice=turn.tool_choice,
        parallel_tool_calls=turn.parallel_tool_calls,
        enable_thinking=enable,
        preserve_thinking=extra.preserve_thinking if extra.preserve_thinking is not None else preserve,
        template_kwargs=kwargs,
        thinking_budget=turn.thinking_budget if turn.thinking_budget is not None else extra.thinking_budget,
        output_format=turn.output_format,
    )
    fields = SamplingFields(
        temperature=turn.temperature,
        top_p=turn.top_p,
        max_tokens=turn.max_tokens,
        stop=turn.stop or None,
        **extra.model_dump(include=_SAMPLING_EXTRAS),
    )
    request.sampling = state.sampling(fields, state.chat.thinking_enabled(request))
    return request


_SAMPLING_EXTRAS = {
    "top_k",
    "min_p",
    "presence_penalty",
    "frequency_penalty",
    "repetition_penalty",
    "seed",
    "preset",
}


async def prepare(admission: Admission, state: ServerState, request: ChatRequest) -> Prepared:
    """Render and tokenise in a slot: errors (bad messages, a full window) come before any output."""
    return await admission.call(state.chat.prepare, request)


@asynccontextmanager
async def events(
    admission: Admission, state: ServerState, prepared: Prepared, stream: bool
) -> AsyncIterator[AsyncIterator[ChatEvent]]:
    """The turn's chat events, generated in one of the request's slots. A context manager, so
    that leaving it (the client went away) stops the generation and frees the slot at once."""
    async with admission.slot() as slot:
        async with aclosing(slot.iterate(lambda: state.chat.run(prepared, None, stream))) as chat_events:
            yield chat_events


async def gather(
    admission: Admission, state: ServerState, prepared: Prepared
) -> tuple[BlockAssembler, ChatEvent]:
    """The whole answer as blocks, and the last chat event (finish reason, token counts)."""
    blocks = BlockAssembler(prepared.request.parallel_tool_calls)
    last = ChatEvent(Delta())
    async with events(admission, state, prepared, stream=False) as chat_events:
        async for event in chat_events:
            blocks.feed(event.delta)
            last = event
    blocks.finish()
    return blocks, last
