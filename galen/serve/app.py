"""The FastAPI application: routers, error handlers, API key and request metrics."""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from galen import RESEARCH_NOTICE, __version__
from galen.serve import chat_completions, completions, models, playground
from galen.serve.body_limit import BodyLimit
from galen.serve.errors import error_body, install_error_handlers
from galen.serve.state import ServerState

log = logging.getLogger("galen.serve")
OPEN_PATHS = ("/health",)
# Metrics label known routes only, so random URLs cannot grow the label set without bound.
ROUTES = ("/v1/chat/completions", "/v1/completions", "/v1/models", "/health", "/metrics", "/tokenize", "/")


def _bearer(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            return value.decode("latin-1").removeprefix("Bearer ").strip()
    return ""


class Guard:
    """API key check (when one is set) and per-request metrics; no prompt text is logged.
    /health and the playground's page and files need no key: the page asks for it itself.

    A plain ASGI middleware: Starlette's BaseHTTPMiddleware would hide client disconnects
    from the endpoints, and a disconnect must cancel the generation.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: ServerState = scope["app"].state.galen
        path = scope["path"]
        key = state.settings.api_key
        open_path = path in OPEN_PATHS or (state.settings.ui and playground.is_open(path))
        if key and not open_path and not hmac.compare_digest(_bearer(scope).encode(), key.encode()):
            body = error_body("missing or wrong API key", "authentication_error", code="invalid_api_key")
            await JSONResponse(body, 401)(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            elapsed = time.perf_counter() - started
            label = path if path in ROUTES else "other"
            state.metrics.requests.labels(label, str(status)).inc()
            state.metrics.latency.labels(label).observe(elapsed)
            log.info("%s %s -> %d in %.3fs", scope["method"], path, status, elapsed)


def create_app(state: ServerState) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        state.limiter.abort()  # nothing may still be generating when the engine goes
        state.chat.engine.close()  # frees the model; a vLLM child process stops with it

    app = FastAPI(
        title="galen",
        version=__version__,
        description=RESEARCH_NOTICE,
        lifespan=lifespan,
    )
    app.state.galen = state
    install_error_handlers(app)
    app.add_middleware(Guard)
    app.add_middleware(BodyLimit, max_bytes=state.settings.max_body_bytes)  # outermost: see its doc
    for module in (chat_completions, completions, models):
        app.include_router(module.router)
    if state.settings.ui:
        app.include_router(playground.router)
    return app
