"""POST /v1/completions: raw text completion, no chat template and no output parsing."""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request

from galen.engine.base import Chunk, GenerationRequest
from galen.engine.sampling import SamplingParams
from galen.errors import BadRequest, ContextWindowExceeded
from galen.serve import prompt_logprobs
from galen.serve.disconnect import complete_or_cancel
from galen.serve.limits import Admission, Slot
from galen.serve.logprobs import completion_logprobs
from galen.serve.protocol import CompletionRequest
from galen.serve.state import ServerState
from galen.serve.streaming import sse, sse_done, start_stream

router = APIRouter()
log = logging.getLogger("galen.serve")


def _prompts(body: CompletionRequest) -> list[str | list[int]]:
    if isinstance(body.prompt, str):
        return [body.prompt]
    if all(isinstance(p, int) for p in body.prompt):
        return [list(body.prompt)]  # type: ignore[arg-type]
    return list(body.prompt)  # type: ignore[arg-type]


def _requests(
    state: ServerState, body: CompletionRequest, prompts: list[str | list[int]]
) -> list[tuple[int, GenerationRequest]]:
    """One engine request per (prompt, n); max_tokens is clamped to what the window leaves.
    Runs after admission, in a slot: tokenising is work too."""
    sampling = state.sampling(body, thinking=None)
    engine = state.chat.engine
    schema = _json_schema(state, body)
    _check_logprobs(state, body)
    out = []
    for p_index, prompt in enumerate(prompts):
        param = "prompt" if len(prompts) == 1 else f"prompt[{p_index}]"
        if isinstance(prompt, str):
            prompt = engine.tokenize(prompt)  # counted once, sent as ids
        if not prompt:
            raise BadRequest(param, "must hold at least one token")
        used = len(prompt)
        room = engine.info.context_length - used
        if room < 1:
            raise ContextWindowExceeded(used, sampling.max_tokens or 0, engine.info.context_length, param)
        for i in range(body.n):
            seed = None if sampling.seed is None else sampling.seed + i
            params: SamplingParams = sampling.updated(
                max_tokens=min(sampling.max_tokens or room, room), seed=seed
            )
            request = GenerationRequest(prompt, params, json_schema=schema, logprobs=body.logprobs)
            out.append((p_index * body.n + i, request))
    return out


def _json_schema(state: ServerState, body: CompletionRequest) -> dict[str, Any] | None:
    """The schema the text must match, checked (a 400 naming the field) before anything runs."""
    output_format = body.output_format()
    if output_format is None:
        return None
    state.chat.engine.check_json_schema(output_format.schema, output_format.param)
    return output_format.schema


def _check_logprobs(state: ServerState, body: CompletionRequest) -> None:
    info = state.chat.engine.info
    if body.logprobs is not None and not info.supports_logprobs:
        raise BadRequest("logprobs", f"the {info.name} engine does not return log-probabilities")


def _chunks(slot: Slot, state: ServerState, request: GenerationRequest) -> AsyncIterator[Chunk]:
    return slot.iterate(functools.partial(state.chat.engine.stream, request))


async def _one(slot: Slot, state: ServerState, index: int, request: GenerationRequest) -> tuple[dict, Chunk]:
    parts, last, logprobs = [], Chunk(""), []
    async for chunk in _chunks(slot, state, dataclasses.replace(request, stream=False)):  # the answer, whole
        parts.append(chunk.text)
        logprobs += chunk.logprobs
        last = chunk
    choice = {"index": index, "text": "".join(parts), "logprobs": None, "finish_reason": last.finish_reason}
    if request.logprobs is not None:
        choice["logprobs"] = completion_logprobs(logprobs)
    return choice, last


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    total = prompt_tokens + completion_tokens
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": total}


async def _stream(
    state: ServerState, body: CompletionRequest, admission: Admission, requests: list, model: str
) -> AsyncIterator[str]:
    base = {
        "id": f"cmpl-{uuid.uuid4().hex}",
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
    }
    prompt_tokens = completion_tokens = 0
    for index, request in requests:  # choices one after another keeps the stream simple
        offset = 0  # where the next token's text starts, for logprobs.text_offset
        async with admission.slot() as slot:
            async for chunk in _chunks(slot, state, request):
                choice = {
                    "index": index,
                    "text": chunk.text,
                    "logprobs": None,
                    "finish_reason": chunk.finish_reason,
                }
                if request.logprobs is not None:
                    choice["logprobs"] = completion_logprobs(chunk.logprobs, offset)
                    offset += sum(len(t.token) for t in chunk.logprobs)
                yield sse({**base, "choices": [choice]})
                if chunk.finish_reason:
                    prompt_tokens += chunk.prompt_tokens or 0
                    completion_tokens += chunk.completion_tokens or 0
    if body.stream_options and body.stream_options.include_usage:
        yield sse({**base, "choices": [], "usage": _usage(prompt_tokens, completion_tokens)})
    yield sse_done()
    state.metrics.count_tokens(prompt_tokens, completion_tokens)


async def _complete(
    state: ServerState, body: CompletionRequest, admission: Admission, requests: list, model: str
) -> dict[str, Any]:
    results = await admission.run_all(
        [functools.partial(_one, state=state, index=i, request=r) for i, r in requests]
    )
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


@router.post("/v1/completions")
async def completions(body: CompletionRequest, request: Request) -> Any:
    state: ServerState = request.app.state.galen
    model = state.check_model(body.model)
    prompts = _prompts(body)
    prompt_logprobs.check_fields(state, body, prompts)
    if prompt_logprobs.handles(body):  # echo, prompt log-probabilities: see that module

        async def generate(admission: Admission) -> dict[str, Any]:
            requests = await admission.call(_requests, state, body, prompts)
            return await _complete(state, body, admission, requests, model)

        return await prompt_logprobs.answer(state, body, request, prompts, model, generate)
    # Every choice of every prompt is admitted before any of them is tokenised.
    param = "n" if len(prompts) == 1 else "prompt"
    async with state.limiter.admit(len(prompts) * body.n, param) as admission:
        requests = await admission.call(_requests, state, body, prompts)
        if body.stream:
            owned = admission.transfer()
            return await start_stream(owned, _stream(state, body, owned, requests, model))
        return await complete_or_cancel(request, _complete(state, body, admission, requests, model))
