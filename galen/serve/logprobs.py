"""Generated tokens' log-probabilities in OpenAI's two shapes: chat completions' `logprobs.content`
and the legacy completions' `logprobs` (tokens, token_logprobs, top_logprobs, text_offset)."""

from __future__ import annotations

from typing import Any

from galen.engine.base import TokenLogprob


def _token(entry: TokenLogprob) -> dict[str, Any]:
    return {"token": entry.token, "logprob": entry.logprob, "bytes": list(entry.bytes)}


def chat_logprobs(entries: list[TokenLogprob]) -> dict[str, Any]:
    """`choices[i].logprobs` of a chat completion (or of one streamed chunk)."""
    content = [{**_token(e), "top_logprobs": [_token(t) for t in e.top]} for e in entries]
    return {"content": content, "refusal": None}


def completion_logprobs(entries: list[TokenLogprob], offset: int = 0) -> dict[str, Any]:
    """`choices[i].logprobs` of a text completion; `offset` is where the first token's text
    starts in the choice's text (a streamed chunk continues from the text sent before it)."""
    offsets = []
    for entry in entries:
        offsets.append(offset)
        offset += len(entry.token)
    return {
        "tokens": [e.token for e in entries],
        "token_logprobs": [e.logprob for e in entries],
        "top_logprobs": [{t.token: t.logprob for t in e.top} for e in entries],
        "text_offset": offsets,
    }
