"""Server-sent event streams, started only once their first event is ready.

`start_stream()` is how every streaming route answers. It waits for the first event before it
sends a byte, so anything that fails before then (a prompt the engine rejects, a shutdown, an
engine error) is an ordinary HTTP error with OpenAI's error JSON and the right status. Once
the stream has started, an error goes out in-band, as an event in the API's error shape (by
default OpenAI's `data: {"error": {...}}` then `data: [DONE]`), never as a broken connection.
The request's admission is released when the stream ends, however it ends.

Other APIs frame errors their own way (Anthropic's `event: error`, the Responses API's
`response.failed`): their routers pass their own `on_error`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import aclosing
from typing import Any

from fastapi.responses import StreamingResponse

from galen.errors import GalenError
from galen.serve.errors import error_body
from galen.serve.limits import Admission

log = logging.getLogger("galen.serve")
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


def sse_event(name: str, payload: dict[str, Any]) -> str:
    """A named event (`event: NAME`), as the Responses and Messages APIs send them."""
    return f"event: {name}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n"


def sse_done() -> str:
    return "data: [DONE]\n\n"


def error_json(exc: BaseException) -> dict[str, Any]:
    """OpenAI's error object for `exc`; never a traceback (the log keeps it)."""
    if isinstance(exc, GalenError):
        if exc.status == 500:
            log.error("error in a stream: %s", exc.message)
        return error_body(exc.message, exc.type, exc.param, exc.code)
    log.error("unexpected error in a stream", exc_info=exc)
    return error_body(f"internal error: {type(exc).__name__}", "server_error")


def openai_error_events(exc: BaseException) -> list[str]:
    return [sse(error_json(exc)), sse_done()]


OnError = Callable[[BaseException], Iterable[str]]


async def start_stream(
    admission: Admission, events: AsyncIterator[str], on_error: OnError = openai_error_events
) -> StreamingResponse:
    """An SSE response for `events`, sent once the first event is ready (see the module doc)."""
    try:
        first = await anext(events, None)
    except BaseException:
        await events.aclose()
        admission.release()
        raise
    return StreamingResponse(
        _body(admission, first, events, on_error), media_type="text/event-stream", headers=SSE_HEADERS
    )


async def _body(
    admission: Admission, first: str | None, events: AsyncIterator[str], on_error: OnError
) -> AsyncIterator[str]:
    async with admission, aclosing(events):
        if first is None:
            return
        yield first
        try:
            async for event in events:
                yield event
        except Exception as exc:
            for event in on_error(exc):
                yield event
