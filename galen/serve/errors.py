"""One place where errors become OpenAI's error JSON: {"error": {message, type, param, code}}."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from galen.errors import GalenError

log = logging.getLogger("galen.serve")


def error_body(message: str, type_: str, param: str | None = None, code: str | int | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def _location(loc: tuple) -> str:
    parts = [str(p) for p in loc if p != "body"]
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    first = exc.errors()[0] if exc.errors() else {}
    param = _location(tuple(first.get("loc", ()))) or None
    if first.get("type") == "json_invalid":
        return "the request body is not valid JSON", None
    message = first.get("msg", "invalid request")
    return (f"{param}: {message}" if param else message), param


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GalenError)
    async def _galen(_: Request, exc: GalenError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
        if exc.status == 500:  # a 503 (shutting down) is expected, not an engine fault
            log.error("engine error: %s", exc.message)
        return JSONResponse(
            error_body(exc.message, exc.type, exc.param, exc.code), exc.status, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = _validation_message(exc)
        return JSONResponse(error_body(message, "invalid_request_error", param), 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
        code = "request_too_large" if exc.status_code == 413 else None  # see body_limit.py
        return JSONResponse(error_body(str(exc.detail), kind, code=code), exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        # Never a traceback to the client; the log keeps it for the operator.
        log.exception("unexpected error")
        return JSONResponse(error_body(f"internal error: {type(exc).__name__}", "server_error"), 500)
