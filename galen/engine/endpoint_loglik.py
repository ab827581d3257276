"""Log-likelihoods through an OpenAI-compatible server, as lm-eval's `local-completions` gets them.

One /v1/completions call carries a few contexts, each alone and followed by each of its
continuations, with `echo: true, logprobs: 1, max_tokens: 0`: the server returns the
log-probability of every prompt token (galen serve on the transformers engine does; so does
vLLM). A continuation's tokens are those after as many tokens as the context alone has, which
is lm-eval's split (the pair encoded whole, cut where the context's own encoding ends), done by
the server's own tokenizer, so no tokenizer is needed here. Trailing spaces of a context move
to its continuation first, as lm-eval moves them. Greedy means every continuation token was the
most likely one there (lm-eval's test: its log-probability is the top one).

A server that answers without prompt log-probabilities (a chat-only server, OpenAI's API today)
is a one-line `EndpointError` naming it.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from galen.engine.base import Loglik, LoglikRequest
from galen.errors import EngineError


class EndpointClient(Protocol):
    """What is used of `galen.engine.endpoint.EndpointClient` (which imports this module)."""

    base_url: str
    model: str

    def async_client(self) -> Any: ...

    def error(self, exc: Exception) -> Exception: ...


class NoPromptScores(EngineError):
    """The server answered, but without prompt log-probabilities."""


PROMPTS_PER_CALL = 32  # under galen serve's default --max-choices (64)
IN_FLIGHT = 2  # calls at once: 2 x 32 choices fit galen serve's default admission (64 + 1)


def split_spaces(context: str, continuation: str) -> tuple[str, str]:
    """Trailing spaces of the context move to the continuation (lm-eval's rule)."""
    spaces = len(context) - len(context.rstrip(" "))
    if spaces:
        return context[:-spaces], context[-spaces:] + continuation
    return context, continuation


def batches(contexts: dict[str, list[str]]) -> list[list[str]]:
    """Contexts grouped so that one call carries at most PROMPTS_PER_CALL prompts (a context
    with more continuations than that goes alone)."""
    out: list[list[str]] = [[]]
    size = 0
    for context, continuations in contexts.items():
        need = 1 + len(continuations)
        if out[-1] and size + need > PROMPTS_PER_CALL:
            out.append([])
            size = 0
        out[-1].append(context)
        size += need
    return [b for b in out if b]


def _no_scores(client: EndpointClient) -> Exception:
    return NoPromptScores(
        f"{client.base_url} returned no prompt log-probabilities for model {client.model!r} "
        "(/v1/completions with echo and logprobs): --mode loglik needs a server that does, such as "
        "galen serve --engine transformers or vLLM"
    )


def token_logprobs(client: EndpointClient, choice: Any) -> tuple[list[float | None], list[dict | None]]:
    """(log-probability, top alternatives) of each prompt token of one choice."""
    logprobs = getattr(choice, "logprobs", None)
    values = getattr(logprobs, "token_logprobs", None) if logprobs is not None else None
    if not values:
        raise _no_scores(client)
    tops = getattr(logprobs, "top_logprobs", None) or [None] * len(values)
    return list(values), list(tops)


def continuation_loglik(
    values: list[float | None], tops: list[dict | None], n_context: int, client: EndpointClient
) -> Loglik:
    """The Loglik of the tokens after the first `n_context` of a scored context+continuation."""
    scored = values[n_context:]
    if any(v is None for v in scored):
        raise _no_scores(client)
    greedy = all(
        top is not None and len(top) > 0 and float(v) >= max(top.values())  # type: ignore[arg-type]
        for v, top in zip(scored, tops[n_context:], strict=True)
    )
    return Loglik(float(sum(scored)), greedy, len(scored))  # type: ignore[arg-type]


async def _call(client: EndpointClient, contexts: list[str], wanted: dict[str, list[str]]) -> dict:
    import openai

    prompts: list[str] = []
    for context in contexts:
        prompts += [context, *(context + c for c in wanted[context])]
    try:
        response = await client.async_client().completions.create(
            model=client.model, prompt=prompts, echo=True, logprobs=1, max_tokens=0, temperature=0
        )
    except openai.OpenAIError as exc:
        raise client.error(exc) from None
    choices = sorted(response.choices, key=lambda c: c.index)
    if len(choices) != len(prompts):
        raise _no_scores(client)
    found: dict[tuple[str, str], Loglik] = {}
    at = 0
    for context in contexts:
        n_context = len(token_logprobs(client, choices[at])[0])
        for i, continuation in enumerate(wanted[context], start=1):
            values, tops = token_logprobs(client, choices[at + i])
            found[(context, continuation)] = continuation_loglik(values, tops, n_context, client)
        at += 1 + len(wanted[context])
    return found


async def score_through(client: EndpointClient, requests: list[LoglikRequest]) -> list[Loglik]:
    """Every request scored by the server behind `client`, in the order given."""
    pairs = [split_spaces(r.context, r.continuation) for r in requests]
    wanted: dict[str, list[str]] = {}
    for context, continuation in pairs:
        if continuation and continuation not in wanted.setdefault(context, []):
            wanted[context].append(continuation)
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(group: list[str]) -> dict:
        async with gate:
            return await _call(client, group, wanted)

    found: dict[tuple[str, str], Loglik] = {}
    for part in await asyncio.gather(*(one(g) for g in batches({c: v for c, v in wanted.items() if v}))):
        found.update(part)
    return [found.get(pair, Loglik(0.0, True, 0)) for pair in pairs]
