"""POST /v1/messages and /v1/messages/count_tokens: Anthropic's Messages API.

A request becomes the chat turn chat completions would run (`turn.py`, `messages_input.py`):
`thinking: {type: enabled, budget_tokens: N}` is galen's thinking with a thinking budget of N,
`{type: disabled}` turns it off, and without `thinking` the model's default applies (as for chat
completions). The answer's content blocks come from the shared block assembler (`blocks.py`):
`thinking` (with a `signature` that is the sha256 of its text: galen checks none), `text` and
`tool_use`. Streamed, the events come in Anthropic's order: `message_start`, then per block
`content_block_start`, its deltas (`thinking_delta` and a closing `signature_delta`,
`text_delta`, or one `input_json_delta` with a call's whole input), `content_block_stop`, and
finally `message_delta` (stop reason, output tokens) and `message_stop`. An error after the stream
started is an `error` event. Errors are in Anthropic's shape (`errors.py`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request

from galen.engine.chat import ChatEvent, Prepared
from galen.errors import BadRequest
from galen.serve.blocks import Block, BlockAssembler, BlockEvent
from galen.serve.disconnect import complete_or_cancel
from galen.serve.errors import anthropic_error_body
from galen.serve.limits import Admission
from galen.serve.messages_input import chat_messages
from galen.serve.messages_protocol import CountTokensRequest, MessagesRequest
from galen.serve.state import ServerState
from galen.serve.streaming import error_json, sse_event, start_stream
from galen.serve.turn import Turn, chat_request, events, gather, prepare

router = APIRouter()
TOOL_CHOICES = {"auto": "auto", "any": "required", "none": "none"}


def _turn(state: ServerState, body: CountTokensRequest) -> Turn:
    thinking = body.thinking
    choice = body.tool_choice
    tools = [
        {
            "type": "function",
            "function": t.model_dump(include={"name", "description"}, exclude_none=True)
            | {"parameters": t.input_schema},
        }
        for t in body.tools or []
    ]
    if choice is None:
        tool_choice: Any = "auto"
    elif choice.type == "tool":
        if choice.name not in [t.name for t in body.tools or []]:
            raise BadRequest("tool_choice.name", f"{choice.name!r} is not one of the tools")
        tool_choice = {"type": "function", "function": {"name": choice.name}}
    else:
        tool_choice = TOOL_CHOICES[choice.type]
    turn = Turn(
        messages=chat_messages(body, state.chat.source.vision),
        tools=tools or None,
        tool_choice=tool_choice,
        parallel_tool_calls=not (choice and choice.disable_parallel_tool_use),
        enable_thinking=None if thinking is None else thinking.type != "disabled",
        thinking_budget=thinking.budget_tokens if thinking and thinking.type == "enabled" else None,
    )
    if body.output_config is not None:
        turn.output_format = body.output_config.output_format()
    if isinstance(body, MessagesRequest):
        turn.temperature, turn.top_p = body.temperature, body.top_p
        turn.max_tokens, turn.stop = body.max_tokens, body.stop_sequences
    return turn


def _signature(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _omitted(body: MessagesRequest) -> bool:
    """`thinking.display: omitted`: thinking blocks come without their text (signature only)."""
    return bool(body.thinking and body.thinking.display == "omitted")


def _content(block: Block, omit_thinking: bool = False) -> dict[str, Any]:
    if block.kind == "reasoning":
        text = "" if omit_thinking else block.text
        return {"type": "thinking", "thinking": text, "signature": _signature(block.text)}
    if block.kind == "text":
        return {"type": "text", "text": block.text}
    assert block.call is not None
    return {"type": "tool_use", "id": block.call.id, "name": block.call.name, "input": block.arguments}


def _stop(blocks: BlockAssembler, last: ChatEvent) -> tuple[str, str | None]:
    """Anthropic's stop_reason and stop_sequence for the answer."""
    if blocks.calls:
        return "tool_use", None
    if last.finish_reason == "length":
        return "max_tokens", None
    if last.stop_sequence:
        return "stop_sequence", last.stop_sequence
    return "end_turn", None


def _usage(prompt_tokens: int, output_tokens: int) -> dict[str, int]:
    return {
        "input_tokens": prompt_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def _message(
    message_id: str, model: str, content: list, usage: dict, stop: tuple[str | None, str | None]
) -> dict:
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop[0],
        "stop_sequence": stop[1],
        "usage": usage,
    }


async def _complete(
    state: ServerState, admission: Admission, prepared: Prepared, body: MessagesRequest, model: str
) -> dict[str, Any]:
    blocks, last = await gather(admission, state, prepared)
    state.metrics.count_tokens(last.prompt_tokens, last.completion_tokens)
    content = [_content(b, _omitted(body)) for b in blocks.blocks]
    usage = _usage(last.prompt_tokens, last.completion_tokens)
    return _message(f"msg_{uuid.uuid4().hex}", model, content, usage, _stop(blocks, last))


def _event(kind: str, **payload: Any) -> str:
    return sse_event(kind, {"type": kind, **payload})


def _block_events(event: BlockEvent, omit_thinking: bool) -> list[str]:
    block = event.block
    if event.kind == "start":
        if block.kind == "reasoning":
            start = {"type": "thinking", "thinking": "", "signature": ""}
        elif block.kind == "text":
            start = {"type": "text", "text": ""}
        else:
            start = {**_content(block), "input": {}}
        out = [_event("content_block_start", index=block.index, content_block=start)]
        if block.call is not None:
            delta = {"type": "input_json_delta", "partial_json": block.call.arguments}
            out.append(_event("content_block_delta", index=block.index, delta=delta))
        return out
    if event.kind == "delta":
        if block.kind == "reasoning" and omit_thinking:
            return []
        if block.kind == "reasoning":
            delta = {"type": "thinking_delta", "thinking": event.text}
        else:
            delta = {"type": "text_delta", "text": event.text}
        return [_event("content_block_delta", index=block.index, delta=delta)]
    out = []
    if block.kind == "reasoning":
        delta = {"type": "signature_delta", "signature": _signature(block.text)}
        out.append(_event("content_block_delta", index=block.index, delta=delta))
    return [*out, _event("content_block_stop", index=block.index)]


async def _stream(
    state: ServerState, admission: Admission, prepared: Prepared, body: MessagesRequest, model: str
) -> AsyncIterator[str]:
    omit = _omitted(body)
    blocks = BlockAssembler(prepared.request.parallel_tool_calls)
    last: ChatEvent | None = None
    async with events(admission, state, prepared, stream=True) as chat_events:
        async for event in chat_events:
            if last is None:  # only once the engine has answered, so early errors are HTTP errors
                usage = _usage(prepared.prompt.tokens, 0)
                start = _message(f"msg_{uuid.uuid4().hex}", model, [], usage, (None, None))
                yield _event("message_start", message=start)
            last = event
            for block_event in blocks.feed(event.delta):
                for sse in _block_events(block_event, omit):
                    yield sse
    for block_event in blocks.finish():
        for sse in _block_events(block_event, omit):
            yield sse
    assert last is not None, "a chat stream always ends with an event"
    state.metrics.count_tokens(last.prompt_tokens, last.completion_tokens)
    reason, sequence = _stop(blocks, last)
    usage = {"output_tokens": last.completion_tokens}
    yield _event("message_delta", delta={"stop_reason": reason, "stop_sequence": sequence}, usage=usage)
    yield _event("message_stop")


def _error_events(exc: BaseException) -> list[str]:
    """An error after the stream started, as Anthropic sends one."""
    error = error_json(exc)["error"]
    status = getattr(exc, "status", 500)
    return [sse_event("error", anthropic_error_body(error["message"], status))]


@router.post("/v1/messages")
async def create_message(body: MessagesRequest, request: Request) -> Any:
    state: ServerState = request.app.state.galen
    model = state.check_model(body.model)
    chat = chat_request(state, _turn(state, body), body)
    async with state.limiter.admit(1, param=None) as admission:
        prepared = await prepare(admission, state, chat)
        if body.stream:
            owned = admission.transfer()
            return await start_stream(owned, _stream(state, owned, prepared, body, model), _error_events)
        return await complete_or_cancel(request, _complete(state, admission, prepared, body, model))


@router.post("/v1/messages/count_tokens")
async def count_tokens(body: CountTokensRequest, request: Request) -> dict[str, int]:
    """The prompt's tokens as galen renders it (template, system, tools), without generating."""
    state: ServerState = request.app.state.galen
    state.check_model(body.model)
    chat = chat_request(state, _turn(state, body), body)
    async with state.limiter.admit(1, param=None) as admission:
        prompt = await admission.call(state.chat.render, chat)
    return {"input_tokens": prompt.tokens}
