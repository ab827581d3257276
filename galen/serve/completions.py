"""POST /v1/completions: raw text completion, no chat template and no output parsing."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from galen.engine.base import Chunk, GenerationRequest
from galen.engine.sampling import SamplingParams
from galen.errors import ContextWindowExceeded
from galen.serve.bridge import iterate_in_thread
from galen.serve.disconnect import complete_or_cancel
from galen.serve.protocol import CompletionRequest
from galen.serve.sse import held, sse, sse_done
from galen.serve.state import ServerState

router = APIRouter()
log = logging.getLogger("galen.serve")


def _prompts(body: CompletionRequest) -> list[str | list[int]]:
    if isinstance(body.prompt, str):
        return [body.prompt]
    if all(isinstance(p, int) for p in body.prompt):
        return [list(body.prompt)]  # type: ignore[arg-type]
    return list(body.prompt)  # type: ignore[arg-type]


def _requests(state: ServerState, body: CompletionRequest) -> list[tuple[int, GenerationRequest]]:
    """One engine request per (prompt, n); max_tokens is clamped to what the window leaves."""
    sampling = state.sampling(body, thinking=None)
    engine = state.chat.engine
    out = []
    for p_index, prompt in enumerate(_prompts(body)):
        if isinstance(prompt, str):
            prompt = engine.tokenize(prompt)  # counted once, sent as ids
        used = len(prompt)
        room = engine.info.context_length - used
        if room < 1:
            raise ContextWindowExceeded(used, sampling.max_tokens or 0, engine.info.context_length)
        for i in range(body.n):
            seed = None if sampling.seed is None else sampling.seed + i
            params: SamplingParams = sampling.updated(
                max_tokens=min(sampling.max_tokens or room, room), seed=seed
            )
            out.append((p_index * body.n + i, GenerationRequest(prompt, params)))
    return out


async def _chunks(state: ServerState, request: GenerationRequest) -> AsyncIterator[Chunk]:
    async for chunk in iterate_in_thread(lambda: state.chat.engine.stream(request)):
        yield chunk


async def _one(state: ServerState, index: int, request: GenerationRequest) -> tuple[dict[str, Any], Chunk]:
    parts, last = [], Chunk("")
    async for chunk in _chunks(state, request):
        parts.append(chunk.text)
        last = chunk
    choice = {"index": index, "text": "".join(parts), "logprobs": None, "finish_reason": last.finish_reason}
    return choice, last


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    total = prompt_tokens + completion_tokens
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": total}


async def _stream(
    state: ServerState, body: CompletionRequest, requests: list, model: str
) -> AsyncIterator[str]:
    base = {
        "id": f"cmpl-{uuid.uuid4().hex}",
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
    }
    prompt_tokens = completion_tokens = 0
    for index, request in requests:  # choices one after another keeps the stream simple
        async for chunk in _chunks(state, request):
            choice = {
                "index": index,
                "text": chunk.text,
                "logprobs": None,
                "finish_reason": chunk.finish_reason,
            }
            yield sse({**base, "choices": [choice]})
            if chunk.finish_reason:
                prompt_tokens += chunk.prompt_tokens or 0
                completion_tokens += chunk.completion_tokens or 0
    if body.stream_options and body.stream_options.include_usage:
        yield sse({**base, "choices": [], "usage": _usage(prompt_tokens, completion_tokens)})
    yield sse_done()
    state.metrics.count_tokens(prompt_tokens, completion_tokens)


@router.post("/v1/completions")
async def completions(body: CompletionRequest, request: Request) -> Any:
    state: ServerState = request.app.state.galen
    model = state.check_model(body.model)
    requests = await asyncio.to_thread(_requests, state, body)
    admission = state.limiter.admit()
    if body.stream:
        return StreamingResponse(
            held(admission, _stream(state, body, requests, model)), media_type="text/event-stream"
        )
    async with admission:
        return await complete_or_cancel(request, _complete(state, body, requests, model))


async def _complete(
    state: ServerState, body: CompletionRequest, requests: list, model: str
) -> dict[str, Any]:
    results = await asyncio.gather(*(_one(state, i, r) for i, r in requests))
    prompt_tokens = sum(last.prompt_tokens or 0 for _, last in results[:: body.n])
    completion_tokens = sum(last.completion_tokens or 0 for _, last in results)
    state.metrics.count_tokens(prompt_tokens, completion_tokens)
    if state.settings.log_content:
        log.info("completion prompts=%r outputs=%r", body.prompt, [c["text"][:2000] for c, _ in results])
    return {
        "id": f"cmpl-{uuid.uuid4().hex}",
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice for choice, _ in results],
        "usage": _usage(prompt_tokens, completion_tokens),
    }
