"""The one client for OpenAI-compatible servers: galen eval, judges and graders, distillation
teachers, the rubric reward and `galen chat` all reach a server through `EndpointClient`.

- The key is `api_key` when given, else the environment variable `api_key_env` (default
  OPENAI_API_KEY), else "EMPTY" (what galen serve and vLLM accept when they need no key). Keys
  are read here and never stored in a config, a run folder or a fingerprint.
- The model is `model_name` when given (checked against the server's /v1/models when it lists
  models), else the first model the server lists.
- Retries are the `openai` SDK's: connection errors, timeouts, 408, 409, 429 and 5xx are retried
  `max_retries` times with exponential backoff, honouring the server's Retry-After. Each call
  gives up after `timeout` seconds.
- Every failure becomes one `EndpointError` line a user can act on (a refused key, an unknown
  model, a server that is down), never a traceback.

`GenParams` and `Answer` are what one call takes and gives, whoever answers it (an endpoint here,
a model in this process in `galen.evals.clients`).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlparse

from galen.engine.base import Loglik, LoglikRequest
from galen.errors import EngineError

DEFAULT_KEY_ENV = "OPENAI_API_KEY"
NO_KEY = "EMPTY"
TIMEOUT = 600.0  # seconds per call: a long thinking answer on a busy server takes minutes
MAX_RETRIES = 4


@dataclass(frozen=True)
class GenParams:
    """Decoding settings of one call; all of them go into the call cache's key."""

    max_tokens: int = 2048
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    seed: int = 0
    thinking: bool | None = None  # None: the model's default
    # OpenAI's `response_format` (e.g. a json_schema) when the reply must be JSON of a shape;
    # None: free text. A dict, so GenParams is compared but never hashed.
    response_format: dict[str, Any] | None = None

    def settings(self) -> dict[str, Any]:
        """The fields as a dict, without `response_format` when it is None (so call-cache keys
        and recorded sampling of free-text calls are what they were before it existed)."""
        fields = asdict(self)
        if fields["response_format"] is None:
            del fields["response_format"]
        return fields


@dataclass
class Answer:
    content: str
    reasoning: str | None
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    endpoint: str = ""  # the server that answered (a teacher pool has several), "" when unknown

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"

    @property
    def unclosed_reasoning(self) -> bool:
        """Cut off while still thinking: there is no answer to extract."""
        return self.truncated and not self.content and bool(self.reasoning)


class EndpointError(EngineError):
    """A server could not be used: the message is one line that says what to change."""


class PromptTooLong(EndpointError):
    """The server refused the prompt as longer than its context window (galen serve's
    `context_length_exceeded`, vLLM's "maximum context length"): this prompt, not the server,
    is the problem, so a batch job can count it and go on."""


def _too_long(exc: Exception) -> bool:
    code = getattr(exc, "code", None)
    text = str(getattr(exc, "message", "")).lower()
    return code == "context_length_exceeded" or "maximum context length" in text or "context window" in text


def resolve_api_key(given: str | None = None, env: str = DEFAULT_KEY_ENV) -> str:
    """The key to send: `given`, else the environment variable `env`, else "EMPTY"."""
    return given or os.environ.get(env) or NO_KEY


def is_openai(url: str) -> bool:
    """Whether `url` is OpenAI's own API (where reference settings such as simple-evals' apply)."""
    return (urlparse(url).hostname or "").endswith("api.openai.com")


def one_line(text: str, limit: int = 300) -> str:
    first = " ".join(str(text).split())
    return first if len(first) <= limit else first[: limit - 1] + "…"


def endpoint_error(exc: Exception, url: str, model: str | None, key_env: str) -> EndpointError:
    """The one-line error for an `openai` exception raised while talking to `url`."""
    import openai

    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return EndpointError(
            f"{url} refused the API key ({exc.status_code}): set {key_env} or pass --api-key"
        )
    if isinstance(exc, openai.BadRequestError) and _too_long(exc):
        return PromptTooLong(f"{url} refused a prompt as too long: {one_line(exc.message)}")
    if isinstance(exc, openai.NotFoundError):
        what = f"model {model!r}" if model else "the request"
        return EndpointError(f"{url} answered 404 for {what}: {one_line(exc.message)}")
    if isinstance(exc, openai.APITimeoutError):
        return EndpointError(f"{url} did not answer in time, even after retries; is it overloaded?")
    if isinstance(exc, openai.APIConnectionError):
        return EndpointError(f"no server answers at {url}: is it running? (`galen serve` starts one)")
    if isinstance(exc, openai.APIStatusError):
        return EndpointError(f"{url} answered {exc.status_code}: {one_line(exc.message)}")
    return EndpointError(f"{url}: {type(exc).__name__}: {one_line(str(exc))}")


# Fields of a /v1/models entry that say which weights answer: galen serve's fingerprint, vLLM's
# `root` (the path or hub id it loaded), a `revision` where a server reports one.
SERVED_IDENTITY = ("weights_sha256", "template_sha256", "revision", "root")


def served_identity(card: dict[str, Any]) -> dict[str, Any]:
    """The identifying fields of one served model's /v1/models entry (its extra fields)."""
    found = dict(card.get("fingerprint") or {})
    for key in ("revision", "root"):
        if isinstance(card.get(key), str) and card[key]:
            found.setdefault(key, card[key])
    return found


def _reasoning(message: Any) -> str | None:
    extras = message.model_extra or {}
    return extras.get("reasoning_content", extras.get("reasoning"))


class EndpointClient:
    """One OpenAI-compatible server and one model on it (see the module docstring)."""

    def __init__(
        self,
        base_url: str,
        model_name: str | None = None,
        api_key: str | None = None,
        *,
        api_key_env: str = DEFAULT_KEY_ENV,
        timeout: float = TIMEOUT,
        max_retries: int = MAX_RETRIES,
    ) -> None:
        import openai

        self.base_url = base_url.rstrip("/")
        self.key_env = api_key_env
        self._options = {
            "base_url": self.base_url,
            "api_key": resolve_api_key(api_key, api_key_env),
            "timeout": timeout,
            "max_retries": max_retries,
        }
        self.sync = openai.OpenAI(**self._options)
        self._async: dict[int, Any] = {}  # one async client per event loop: pools belong to a loop
        cards = self._listed()
        self.model = self._pick(model_name, cards)
        card = cards.get(self.model) or {}
        reported = served_identity(card)
        # What the server says the model can do (galen serve's card); None where it says nothing.
        capabilities = card.get("capabilities")
        self.json_schema: bool | None = (
            "json_schema" in (capabilities.get("structured_outputs") or [])
            if isinstance(capabilities, dict)
            else None
        )
        self.fingerprint: dict[str, Any] = {"endpoint": self.base_url, "model": self.model}
        # What the server says it serves (galen serve: the weights' and template's hashes; vLLM:
        # the path it loaded; any server: a revision; galen's default thinking budget): part of
        # the call cache's key.
        for key in (*SERVED_IDENTITY, "location", "family", "thinking_budget"):
            if reported.get(key):
                self.fingerprint[key] = reported[key]

    def error(self, exc: Exception) -> EndpointError:
        return endpoint_error(exc, self.base_url, getattr(self, "model", None), self.key_env)

    def _listed(self) -> dict[str, dict[str, Any]]:
        """Served model id -> the extra fields of its card (galen serve: fingerprint, capabilities)."""
        import openai

        try:
            models = self.sync.models.list().data
        except openai.NotFoundError:
            return {}  # a server without /v1/models: the name given is trusted
        except openai.OpenAIError as exc:
            raise self.error(exc) from None
        return {m.id: m.model_extra or {} for m in models}

    def _pick(self, name: str | None, served: dict[str, Any]) -> str:
        if name and served and name not in served:
            shown = ", ".join(list(served)[:8]) + (", ..." if len(served) > 8 else "")
            raise EndpointError(f"model {name!r} is not served at {self.base_url} (it serves: {shown})")
        if name:
            return name
        if not served:
            raise EndpointError(f"{self.base_url} lists no models: name one with --model-name")
        return next(iter(served))

    def async_client(self) -> Any:
        import openai

        loop = id(asyncio.get_running_loop())
        if loop not in self._async:
            self._async = {loop: openai.AsyncOpenAI(**self._options)}
        return self._async[loop]

    async def chat(self, messages: list[dict[str, Any]], params: GenParams) -> Answer:
        import openai

        extra: dict[str, Any] = {}
        if not is_openai(self.base_url):  # OpenAI's API refuses parameters it does not know
            extra["top_k"] = params.top_k
            if params.thinking is not None:
                extra["chat_template_kwargs"] = {"enable_thinking": params.thinking}
        shape = {"response_format": params.response_format} if params.response_format else {}
        try:
            response = await self.async_client().chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=params.max_tokens,
                temperature=params.temperature,
                top_p=params.top_p,
                seed=params.seed,
                extra_body=extra or None,
                **shape,  # type: ignore[arg-type]
            )
        except openai.OpenAIError as exc:
            raise self.error(exc) from None
        choice, usage = response.choices[0], response.usage
        details = getattr(usage, "completion_tokens_details", None)
        return Answer(
            content=choice.message.content or "",
            reasoning=_reasoning(choice.message),
            finish_reason=choice.finish_reason or "stop",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            reasoning_tokens=(getattr(details, "reasoning_tokens", None) or 0) if details else 0,
            endpoint=self.base_url,
        )

    async def loglikelihoods(self, requests: list[LoglikRequest]) -> list[Loglik]:
        """log P(continuation | context) from the server's prompt log-probabilities (see
        `galen.engine.endpoint_loglik`): one /v1/completions call per few contexts."""
        from galen.engine.endpoint_loglik import score_through

        return await score_through(self, requests)

    def close(self) -> None:
        self.sync.close()
