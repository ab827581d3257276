"""Cancel a non-streamed generation when its client goes away (streams are cancelled by Starlette)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

POLL_SECONDS = 0.25


async def _until_disconnect(request: Request) -> None:
    while not await request.is_disconnected():
        await asyncio.sleep(POLL_SECONDS)


async def complete_or_cancel(request: Request, work: Awaitable[Any]) -> Any:
    """Run `work`, cancelling it (and so the engine's generation) if the client disconnects."""
    task, watch = asyncio.ensure_future(work), asyncio.ensure_future(_until_disconnect(request))
    done, _ = await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
    watch.cancel()
    if task not in done:
        task.cancel()
        return JSONResponse({"error": {"message": "client disconnected", "type": "cancelled"}}, 499)
    return task.result()
