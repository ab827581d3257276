"""Prompt log-probabilities on POST /v1/completions: `echo` with `logprobs` (OpenAI's legacy
fields, what lm-eval's `local-completions` and galen's own endpoint client send to score
log-likelihoods) and vLLM's `prompt_logprobs`.

    {"prompt": ["Question: ...\\nAnswer:", "Question: ...\\nAnswer: A"],
     "echo": true, "logprobs": 1, "max_tokens": 0}
 -> choices[i] = {"text": <the prompt>, "finish_reason": "length",
                  "logprobs": {"tokens": [...], "token_logprobs": [null, -2.1, ...],
                               "top_logprobs": [null, {" A": -0.9}, ...], "text_offset": [0, 8, ...]}}

Every prompt of a request is scored in one engine call (`prompt_logprobs` of the transformers
engine; prompts sharing a prefix share its forward pass). An engine that cannot score prompts
(llama.cpp, a remote server) gets a 400 naming the field. With echo and logprobs, max_tokens is
0 (the prompt alone) or 1 at temperature 0, which lm-eval sends and whose generated token it
drops: galen appends the most likely next token. `echo` without `logprobs` prepends the prompt
to the generated text; `prompt_logprobs` (vLLM's shape) may come with a generation.

This module is separate from completions.py, which handles generation and calls it for these
fields only.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import Request

from galen.engine.base import PromptScores, TokenScore
from galen.errors import BadRequest
from galen.serve.disconnect import complete_or_cancel
from galen.serve.limits import Admission
from galen.serve.protocol import CompletionRequest
from galen.serve.state import ServerState

MAX_ECHO_TOKENS = 1  # with echo and logprobs: 0, or 1 greedy token (lm-eval's request)


def wants_scores(body: CompletionRequest) -> bool:
    return (body.echo and body.logprobs is not None) or body.prompt_logprobs is not None


def handles(body: CompletionRequest) -> bool:
    """Whether this module answers the request (else completions.py generates as usual)."""
    return body.echo or body.prompt_logprobs is not None


def check_fields(state: ServerState, body: CompletionRequest, prompts: Sequence[Any]) -> None:
    """The 400s of these fields, before anything is admitted or tokenised."""
    engine = state.chat.engine
    if body.max_tokens == 0 and not body.echo:
        raise BadRequest("max_tokens", "must be at least 1, unless echo is true (0 then scores the prompt)")
    if not handles(body):
        return
    field = "prompt_logprobs" if body.prompt_logprobs is not None else "echo"
    if body.stream:
        raise BadRequest("stream", f"{field} is answered whole: set stream to false")
    if wants_scores(body) and getattr(engine, "prompt_logprobs", None) is None:
        raise BadRequest(
            field,
            f"the {engine.info.name} engine does not return prompt log-probabilities; "
            "serve the model with --engine transformers",
            code="prompt_logprobs_not_supported",
        )
    if body.echo and body.logprobs is not None:
        if body.max_tokens is None or body.max_tokens > MAX_ECHO_TOKENS:
            raise BadRequest(
                "max_tokens",
                "with echo and logprobs, set 0 (the prompt's log-probabilities) or 1 at temperature 0 "
                "(as lm-eval sends); log-probabilities of longer generations are not returned yet",
            )
        if body.max_tokens == 1 and state.sampling(body, thinking=None).temperature != 0:
            raise BadRequest("temperature", "with echo, logprobs and max_tokens 1, it must be 0 (greedy)")
    elif (
        body.echo
        and getattr(engine, "detokenize", None) is None
        and any(not isinstance(p, str) for p in prompts)
    ):
        raise BadRequest("echo", f"the {engine.info.name} engine cannot echo token-id prompts; send text")


def _legacy(scores: list[TokenScore], offset0: int = 0) -> dict[str, Any]:
    """OpenAI's legacy `logprobs` object for these tokens."""
    offsets, at = [], offset0
    for score in scores:
        offsets.append(at)
        at += len(score.text)
    tops: list[dict[str, float] | None] = []
    for score in scores:
        if score.logprob is None:
            tops.append(None)
            continue
        top: dict[str, float] = {}
        for _, text, logprob in score.top:  # tokens with the same text: the most likely one
            top[text] = max(logprob, top.get(text, logprob))
        tops.append(top)
    return {
        "tokens": [s.text for s in scores],
        "token_logprobs": [s.logprob for s in scores],
        "top_logprobs": tops,
        "text_offset": offsets,
    }


def _vllm(scores: list[TokenScore]) -> list[dict[str, dict[str, Any]] | None]:
    """vLLM's `prompt_logprobs`: per token, {token id: {logprob, rank, decoded_token}} for the
    token itself and the top alternatives; None for the first token."""
    out: list[dict[str, dict[str, Any]] | None] = []
    for s in scores:
        if s.logprob is None:
            out.append(None)
            continue
        entry = {str(s.token): {"logprob": s.logprob, "rank": s.rank, "decoded_token": s.text}}
        for rank, (token, text, logprob) in enumerate(s.top, start=1):
            entry.setdefault(str(token), {"logprob": logprob, "rank": rank, "decoded_token": text})
        out.append(entry)
    return out


def _echo_choice(body: CompletionRequest, index: int, scored: PromptScores) -> dict[str, Any]:
    """A choice answered from the scores alone: echo with logprobs, max_tokens 0 or 1."""
    tokens = list(scored.tokens)
    text = scored.text
    if body.max_tokens == 1:
        tokens.append(scored.following)
        text += scored.following.text
    choice: dict[str, Any] = {"index": index, "text": text, "finish_reason": "length"}
    choice["logprobs"] = _legacy(tokens)
    return choice


async def answer(
    state: ServerState,
    body: CompletionRequest,
    request: Request,
    prompts: list[str | list[int]],
    model: str,
    generate: Callable[[Admission], Awaitable[dict[str, Any]]],
) -> Any:
    """The response to a request `handles` accepts; `generate(admission)` is completions.py's
    ordinary path, used when tokens must be generated."""
    engine = state.chat.engine
    param = "n" if len(prompts) == 1 else "prompt"
    async with state.limiter.admit(len(prompts) * body.n, param) as admission:

        async def work() -> dict[str, Any]:
            scored: list[PromptScores] | None = None
            if wants_scores(body):
                top_n = max(body.logprobs or 0, body.prompt_logprobs or 0)
                scored = await admission.call(functools.partial(engine.prompt_logprobs, top_n=top_n), prompts)
            if body.echo and body.logprobs is not None:
                assert scored is not None
                return _scored_response(state, body, scored, model)
            texts = (
                [s.text for s in scored]
                if scored
                else [_text(engine, p) for p in prompts]
                if body.echo
                else []
            )
            response = (
                await generate(admission) if body.max_tokens != 0 else _empty(body, model, len(prompts))
            )
            for choice in response["choices"]:
                p_index = choice["index"] // body.n
                if body.echo:
                    choice["text"] = texts[p_index] + choice["text"]
                if scored is not None and body.prompt_logprobs is not None:
                    choice["prompt_logprobs"] = _vllm(scored[p_index].tokens)
            return response

        return await complete_or_cancel(request, work())


def _text(engine: Any, prompt: str | list[int]) -> str:
    return prompt if isinstance(prompt, str) else engine.detokenize(prompt)


def _response(model: str, choices: list[dict[str, Any]], prompt_tokens: int, completion_tokens: int) -> dict:
    """A text_completion object, as completions.py writes one."""
    return {
        "id": f"cmpl-{uuid.uuid4().hex}",
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _empty(body: CompletionRequest, model: str, n_prompts: int) -> dict[str, Any]:
    """max_tokens 0 without scores: the prompts echoed, nothing generated."""
    choices = [
        {"index": i, "text": "", "logprobs": None, "finish_reason": "length"}
        for i in range(n_prompts * body.n)
    ]
    return _response(model, choices, 0, 0)


def _scored_response(
    state: ServerState, body: CompletionRequest, scored: list[PromptScores], model: str
) -> dict[str, Any]:
    choices = []
    for p_index, s in enumerate(scored):
        for i in range(body.n):
            choice = _echo_choice(body, p_index * body.n + i, s)
            if body.prompt_logprobs is not None:
                choice["prompt_logprobs"] = _vllm(s.tokens)
            choices.append(choice)
    prompt_tokens = sum(len(s.tokens) for s in scored)
    completion_tokens = len(choices) * (body.max_tokens or 0)
    state.metrics.count_tokens(prompt_tokens, completion_tokens)
    return _response(model, choices, prompt_tokens, completion_tokens)
