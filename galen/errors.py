"""Typed errors raised anywhere in galen; the server turns them into OpenAI's error JSON.

Each error names the request field at fault (`param`) so a user can fix the request, and carries
the HTTP status it maps to.
"""

from __future__ import annotations


class GalenError(Exception):
    """Base class: a message for the user, an HTTP status and OpenAI's error `type`."""

    status: int = 500
    type: str = "server_error"
    retry_after: int | None = None  # seconds, sent as Retry-After when set

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


class BadRequest(GalenError):
    """The request is malformed or asks for something the model cannot do (HTTP 400)."""

    status = 400
    type = "invalid_request_error"

    def __init__(self, param: str | None, message: str, code: str | None = None) -> None:
        text = f"{param}: {message}" if param else message
        super().__init__(text, param=param, code=code)


class ContextWindowExceeded(BadRequest):
    """Prompt plus requested output do not fit in the model's context window."""

    def __init__(
        self, prompt_tokens: int, max_tokens: int, context_length: int, param: str = "messages"
    ) -> None:
        wanted = f" and max_tokens asks for {max_tokens} more" if max_tokens else ""
        super().__init__(
            param,
            f"the prompt is {prompt_tokens} tokens{wanted}, "
            f"but the model's context window is {context_length} tokens",
            code="context_length_exceeded",
        )


class NotFound(GalenError):
    status = 404
    type = "not_found_error"


class Unauthorized(GalenError):
    status = 401
    type = "authentication_error"


class Overloaded(GalenError):
    """Too many requests in flight and queued (HTTP 429, with Retry-After)."""

    status = 429
    type = "rate_limit_error"

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message, code="server_busy")
        self.retry_after = retry_after


class ShuttingDown(GalenError):
    """The server is stopping: new work is refused and unfinished work stopped (HTTP 503)."""

    status = 503
    type = "server_error"

    def __init__(self, message: str = "the server is shutting down; retry on another instance") -> None:
        super().__init__(message, code="server_shutting_down")
        self.retry_after = 1


class EngineError(GalenError):
    """The engine failed on a valid request (HTTP 500, without a traceback)."""

    status = 500
    type = "server_error"


class ModelLoadError(GalenError):
    """Weights could not be found or loaded; raised at start-up, shown as a CLI message."""
