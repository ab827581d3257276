"""The request body limit (`--max-body-bytes`): a 413 before the body is read, that clients hear.

A body larger than the limit is refused before it is read: at once from its Content-Length, or
(chunked, or a lying Content-Length) as soon as the bytes received pass the limit.

An answer sent before the request body has been read is often lost, though: many clients
(Python's urllib among them) send the whole body before they read anything, and a server that
closes the connection with unread bytes in its socket makes the kernel reset it, so the client
sees "connection reset" instead of the 413. Web servers solve this with a "lingering close"
(nginx's `lingering_time`); uvicorn does not, so this middleware does it for every answer sent
before the body was read (413, 401, 429, ...): it sends the answer at once but completes it only
after reading and discarding the rest of the body, for at most `LINGER_SECONDS`. Nothing is
stored, so memory does not grow.

FastAPI's own `max_body_size` is not used: with a Content-Length past the limit it sends a
plain-text 413 of its own, bypassing both OpenAI's error shape and this lingering close.
"""

from __future__ import annotations

import asyncio

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from galen.serve.errors import error_for

LINGER_SECONDS = 10.0


class BodyTooLarge(HTTPException):
    """Raised from `receive()` once the bytes received pass the limit; FastAPI lets an
    HTTPException from reading the body through to the error handlers (errors.py)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_message(limit))


def too_large_message(limit: int) -> str:
    return f"the request body is larger than {limit} bytes, this server's --max-body-bytes"


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, received, body_done = self.max_bytes, 0, False

        async def limited_receive() -> Message:
            nonlocal received, body_done
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def lingering_send(message: Message) -> None:
            if body_done or message["type"] != "http.response.body" or message.get("more_body", False):
                await send(message)
                return
            await send({**message, "more_body": True})  # the whole answer is on its way now
            await _discard_body(receive)
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        if _content_length(scope) > limit:
            message = too_large_message(limit)
            body = error_for(scope["path"], message, "invalid_request_error", 413, code="request_too_large")
            await JSONResponse(body, 413)(scope, receive, lingering_send)
            return
        await self.app(scope, limited_receive, lingering_send)


def _content_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0  # the HTTP parser has already refused a malformed one
    return 0


async def _discard_body(receive: Receive) -> None:
    try:
        async with asyncio.timeout(LINGER_SECONDS):
            while True:
                message = await receive()
                if message["type"] != "http.request" or not message.get("more_body", False):
                    return
    except TimeoutError:
        return
