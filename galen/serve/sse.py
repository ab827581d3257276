"""Server-sent events as OpenAI streams them: `data: {json}` lines, then `data: [DONE]`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any


def sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


def sse_done() -> str:
    return "data: [DONE]\n\n"


async def held(slot: AbstractAsyncContextManager[Any], events: AsyncIterator[str]) -> AsyncIterator[str]:
    """Stream `events` while holding a concurrency slot, released when the stream ends or breaks."""
    async with slot:
        async for event in events:
            yield event
