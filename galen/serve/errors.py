"""One place where errors become error JSON: OpenAI's {"error": {message, type, param, code}}
everywhere, and Anthropic's {"type": "error", "error": {type, message}} under /v1/messages
(`ANTHROPIC_PATHS`), so each API's SDK reads its own shape. Messages name the field at fault."""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from galen.errors import BadRequest, GalenError

M = TypeVar("M", bound=BaseModel)

log = logging.getLogger("galen.serve")


ANTHROPIC_PATHS = ("/v1/messages",)
# galen's (OpenAI's) error types by HTTP status, as Anthropic names them.
ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
}


def error_body(message: str, type_: str, param: str | None = None, code: str | int | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def anthropic_error_body(message: str, status: int) -> dict:
    return {"type": "error", "error": {"type": ANTHROPIC_TYPES.get(status, "api_error"), "message": message}}


def is_anthropic(path: str) -> bool:
    return path.startswith(ANTHROPIC_PATHS)


def error_for(
    path: str, message: str, type_: str, status: int, param: str | None = None, code: str | int | None = None
) -> dict:
    """The error JSON in the shape of the API that `path` belongs to."""
    if is_anthropic(path):
        return anthropic_error_body(message, status)
    return error_body(message, type_, param, code)


def _is_field(part: object) -> bool:
    """A field name or list index, not a pydantic union-branch tag such as `str` or `list[any]`."""
    return part != "body" and str(part) not in UNION_TAGS and "[" not in str(part)


UNION_TAGS = ("str", "int", "float", "bool", "none", "dict", "list")


def _location(loc: tuple) -> str:
    parts = [str(p) for p in loc if _is_field(p)]
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out


def validated(model: type[M], data: Any, where: str) -> M:
    """`data` as `model`, or a 400 naming the field under `where` (e.g. `input[2].call_id`).
    For the parts of a request (items, blocks) whose type is only known once read."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        inner = _location(tuple(first.get("loc", ())))
        param = f"{where}{'' if inner.startswith('[') or not inner else '.'}{inner}"
        raise BadRequest(param, first.get("msg", "invalid")) from None


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    first = exc.errors()[0] if exc.errors() else {}
    param = _location(tuple(first.get("loc", ()))) or None
    if first.get("type") == "json_invalid":
        return "the request body is not valid JSON", None
    message = first.get("msg", "invalid request")
    return (f"{param}: {message}" if param else message), param


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GalenError)
    async def _galen(request: Request, exc: GalenError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
        if exc.status == 500:  # a 503 (shutting down) is expected, not an engine fault
            log.error("engine error: %s", exc.message)
        body = error_for(request.url.path, exc.message, exc.type, exc.status, exc.param, exc.code)
        return JSONResponse(body, exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = _validation_message(exc)
        return JSONResponse(error_for(request.url.path, message, "invalid_request_error", 400, param), 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
        code = "request_too_large" if exc.status_code == 413 else None  # see body_limit.py
        body = error_for(request.url.path, str(exc.detail), kind, exc.status_code, code=code)
        return JSONResponse(body, exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Never a traceback to the client; the log keeps it for the operator.
        log.exception("unexpected error")
        message = f"internal error: {type(exc).__name__}"
        return JSONResponse(error_for(request.url.path, message, "server_error", 500), 500)
