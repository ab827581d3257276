"""POST /v1/chat/completions: chat turns through the shared chat layer, streamed or not."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

from fastapi import APIRouter, Request

from galen.chat.parser import Delta
from galen.chat.tool_calls import ToolCall
from galen.chat.tool_choice import effective_tool_choice
from galen.engine.chat import ChatEvent, ChatRequest, Prepared
from galen.serve.disconnect import complete_or_cancel
from galen.serve.limits import Admission, Slot
from galen.serve.logprobs import chat_logprobs
from galen.serve.protocol import ChatCompletionRequest
from galen.serve.state import ServerState
from galen.serve.streaming import sse, sse_done, start_stream

router = APIRouter()
log = logging.getLogger("galen.serve")


def _chat_request(body: ChatCompletionRequest, state: ServerState) -> ChatRequest:
    kwargs = dict(body.chat_template_kwargs or {})
    enable = body.enable_thinking if body.enable_thinking is not None else kwargs.pop("enable_thinking", None)
    preserve = (
        body.preserve_thinking
        if body.preserve_thinking is not None
        else kwargs.pop("preserve_thinking", None)
    )
    request = ChatRequest(
        messages=body.messages,
        tools=[t.model_dump(exclude_none=True) for t in body.tools] if body.tools else None,
        tool_choice=effective_tool_choice(body.tool_choice, body.tool_choice_after_result, body.messages),
        parallel_tool_calls=body.parallel_tool_calls,
        enable_thinking=enable,
        preserve_thinking=preserve,
        template_kwargs=kwargs,
        thinking_budget=body.thinking_budget,
        mm_processor_kwargs=body.mm_processor_kwargs,
        output_format=body.response_format.output_format() if body.response_format else None,
        logprobs=body.logprobs_wanted(),
    )
    request.sampling = state.sampling(body, state.chat.thinking_enabled(request))
    return request


def _seeds(body: ChatCompletionRequest) -> list[int | None]:
    # n choices from one seed must differ, and stay reproducible.
    return [None if body.seed is None else body.seed + i for i in range(body.n)]


def _tool_call_json(call: ToolCall, index: int) -> dict[str, Any]:
    function = {"name": call.name, "arguments": call.arguments}
    return {"index": index, "id": call.id, "type": "function", "function": function}


class _Choice:
    """Turns one choice's chat events into OpenAI deltas, counting tool calls as it goes."""

    def __init__(self, index: int, parallel_tool_calls: bool) -> None:
        self.index = index
        self.parallel = parallel_tool_calls
        self.calls: list[ToolCall] = []

    def delta(self, delta: Delta) -> dict[str, Any] | None:
        out: dict[str, Any] = {}
        if delta.reasoning:
            out["reasoning_content"] = out["reasoning"] = delta.reasoning
        if delta.content:
            out["content"] = delta.content
        calls = [c for c in delta.tool_calls if self.parallel or not self.calls]
        if calls and not self.parallel:
            calls = calls[:1]
        if calls:
            out["tool_calls"] = [_tool_call_json(c, len(self.calls) + i) for i, c in enumerate(calls)]
            self.calls.extend(calls)
        return out or None

    def finish_reason(self, event: ChatEvent) -> str:
        # A call cut by max_tokens goes out with its partial arguments, as "length" (as OpenAI's).
        if event.finish_reason == "length":
            return "length"
        return "tool_calls" if self.calls else (event.finish_reason or "stop")


def _usage(prompt_tokens: int, completion_tokens: int, reasoning_tokens: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
    }


def _events(
    slot: Slot, state: ServerState, prepared: Prepared, seed: int | None, stream: bool = True
) -> AsyncIterator[ChatEvent]:
    return slot.iterate(lambda: state.chat.run(prepared, seed, stream))


def _finish_choice(index: int, choice: _Choice, event: ChatEvent) -> dict[str, Any]:
    out: dict[str, Any] = {"index": index, "delta": {}, "finish_reason": choice.finish_reason(event)}
    if event.output and event.output.issues:
        out["tool_call_errors"] = _issues(event)
    return out


def _issues(event: ChatEvent) -> list[dict[str, str]]:
    issues = event.output.issues if event.output else []
    if issues:
        log.warning("unparseable tool call in output: %s", issues[0].reason)
    return [{"reason": i.reason, "raw": i.raw} for i in issues]


def _log_output(state: ServerState, event: ChatEvent) -> None:
    if state.settings.log_content and event.output:
        out = event.output
        log.info("chat output reasoning=%r content=%r", (out.reasoning or "")[:2000], out.content[:2000])


async def _merged(
    state: ServerState, admission: Admission, prepared: Prepared, seeds: list[int | None]
) -> AsyncIterator[tuple[int, ChatEvent]]:
    """Events of all `n` choices as they come, tagged with the choice index; each choice runs
    in its own slot. The first error ends the whole stream."""
    queue: asyncio.Queue[tuple[int, ChatEvent | Exception | None]] = asyncio.Queue()

    async def pump(index: int, seed: int | None) -> None:
        try:
            async with admission.slot() as slot:
                async for event in _events(slot, state, prepared, seed):
                    await queue.put((index, event))
        except Exception as exc:
            await queue.put((index, exc))
        await queue.put((index, None))

    tasks = [asyncio.create_task(pump(i, seed)) for i, seed in enumerate(seeds)]
    try:
        running = len(tasks)
        while running:
            index, event = await queue.get()
            if event is None:
                running -= 1
            elif isinstance(event, Exception):
                raise event
            else:
                yield index, event
    finally:
        for task in tasks:
            task.cancel()


async def _stream(
    state: ServerState, body: ChatCompletionRequest, admission: Admission, prepared: Prepared, model: str
) -> AsyncIterator[str]:
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }
    choices = [_Choice(i, body.parallel_tool_calls) for i in range(body.n)]
    prompt_tokens = completion_tokens = reasoning_tokens = 0
    started, last = time.perf_counter(), None
    async with aclosing(_merged(state, admission, prepared, _seeds(body))) as merged:
        async for index, event in merged:
            if last is None:  # only once the engine has answered, so early errors are HTTP errors
                for choice in choices:
                    yield sse({**base, "choices": [_role_chunk(choice.index)]})
            now = time.perf_counter()
            (state.metrics.ttft if last is None else state.metrics.itl).observe(now - (last or started))
            last = now
            delta = choices[index].delta(event.delta)
            if delta or event.logprobs:
                choice: dict[str, Any] = {"index": index, "delta": delta or {}, "finish_reason": None}
                if body.logprobs:
                    choice["logprobs"] = chat_logprobs(event.logprobs)
                yield sse({**base, "choices": [choice]})
            if event.finish_reason:
                prompt_tokens = event.prompt_tokens
                completion_tokens += event.completion_tokens
                reasoning_tokens += event.reasoning_tokens
                _log_output(state, event)
                yield sse({**base, "choices": [_finish_choice(index, choices[index], event)]})
    if body.stream_options and body.stream_options.include_usage:
        yield sse(
            {**base, "choices": [], "usage": _usage(prompt_tokens, completion_tokens, reasoning_tokens)}
        )
    yield sse_done()
    state.metrics.count_tokens(prompt_tokens, completion_tokens)


def _role_chunk(index: int) -> dict[str, Any]:
    return {"index": index, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}


async def _one_choice(
    slot: Slot, state: ServerState, prepared: Prepared, index: int, seed: int | None, parallel: bool
) -> tuple[dict[str, Any], ChatEvent]:
    choice = _Choice(index, parallel)
    last = ChatEvent(Delta())
    logprobs = []
    async for event in _events(slot, state, prepared, seed, stream=False):  # the answer, whole
        choice.delta(event.delta)
        logprobs += event.logprobs
        last = event
    output = last.output
    assert output is not None
    message: dict[str, Any] = {
        "role": "assistant",
        "content": output.content or ("" if not choice.calls else None),
    }
    if output.reasoning is not None:
        message["reasoning_content"] = message["reasoning"] = output.reasoning
    if choice.calls:
        message["tool_calls"] = [_tool_call_json(c, i) for i, c in enumerate(choice.calls)]
        for call in message["tool_calls"]:
            call.pop("index")
    body: dict[str, Any] = {"index": index, "message": message, "finish_reason": choice.finish_reason(last)}
    if prepared.request.logprobs is not None:
        body["logprobs"] = chat_logprobs(logprobs)
    if output.issues:
        body["tool_call_errors"] = _issues(last)
    _log_output(state, last)
    return body, last


async def _complete(
    state: ServerState, body: ChatCompletionRequest, admission: Admission, prepared: Prepared, model: str
) -> dict:
    def choice(index: int, seed: int | None) -> Callable[[Slot], Awaitable[tuple[dict, ChatEvent]]]:
        return lambda slot: _one_choice(slot, state, prepared, index, seed, body.parallel_tool_calls)

    results = await admission.run_all([choice(i, seed) for i, seed in enumerate(_seeds(body))])
    prompt_tokens = results[0][1].prompt_tokens
    completion_tokens = sum(event.completion_tokens for _, event in results)
    reasoning_tokens = sum(event.reasoning_tokens for _, event in results)
    state.metrics.count_tokens(prompt_tokens, completion_tokens)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice for choice, _ in results],
        "usage": _usage(prompt_tokens, completion_tokens, reasoning_tokens),
    }


@router.post("/v1/chat/completions")
async def chat_completions(body: ChatCompletionRequest, request: Request) -> Any:
    state: ServerState = request.app.state.galen
    model = state.check_model(body.model)
    chat_request = _chat_request(body, state)
    if state.settings.log_content:
        log.info("chat request messages=%s", json.dumps(body.messages, ensure_ascii=False)[:2000])
    async with state.limiter.admit(body.n) as admission:
        prepared = await admission.call(state.chat.prepare, chat_request)
        if body.stream:
            owned = admission.transfer()
            return await start_stream(owned, _stream(state, body, owned, prepared, model))
        return await complete_or_cancel(request, _complete(state, body, admission, prepared, model))
