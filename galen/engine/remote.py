"""Any OpenAI-compatible server (vLLM, SGLang, another galen) as an engine.

galen renders the prompt and parses the output itself, so only `/v1/completions` is used: the
remote side runs tokens, nothing else, and behaves exactly like a local engine. Special tokens
are kept in the output because the parser needs the think and tool-call tags. A prompt with
images or video goes to `/v1/chat/completions` instead (see `engine.remote_media`).

Calls go through the `openai` SDK, which parses server-sent events, retries a request that
failed before any answer came (connection errors, 429, 5xx: safe, since nothing was generated
yet) and raises on an `{"error": ...}` event sent mid-stream. An answer that fails or is cut
off half-way is an `EngineError`, never text with `finish_reason: "stop"`, so no caller can
mistake it for a real answer (or cache it as one).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai

from galen.engine import remote_media
from galen.engine.base import Chunk, Engine, EngineInfo, GenerationRequest, MediaPrompt
from galen.errors import BadRequest, EngineError, ModelLoadError


def _body(model: str, request: GenerationRequest) -> dict[str, Any]:
    """The `/v1/completions` request: every sampling value explicit, vLLM's extras included."""
    s = request.sampling
    body: dict[str, Any] = {
        "model": model,
        "prompt": request.prompt,
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": s.temperature,
        "top_p": s.top_p,
        "top_k": s.top_k if s.top_k > 0 else -1,
        "min_p": s.min_p,
        "presence_penalty": s.presence_penalty,
        "frequency_penalty": s.frequency_penalty,
        "repetition_penalty": s.repetition_penalty,
        "stop": list(s.stop),
        "skip_special_tokens": False,
        "add_special_tokens": False,  # the chat template already wrote BOS where the model wants one
        "spaces_between_special_tokens": False,
    }
    if s.max_tokens is not None:
        body["max_tokens"] = s.max_tokens
    if s.seed is not None:
        body["seed"] = s.seed
    if request.json_schema is not None:
        body["structured_outputs"] = {"json": request.json_schema}  # vLLM >= 0.10
    return body


def _status_error(exc: openai.APIStatusError) -> Exception:
    if exc.status_code in (400, 422):
        return BadRequest(None, f"the remote engine rejected the request: {exc.message}")
    return EngineError(f"remote engine answered {exc.status_code}: {exc.message}")


def _text(choice: Any) -> str | None:
    """/completions streams `text`; /chat/completions streams `delta.content` (a field the SDK
    keeps as a plain dict when a completions chunk carries it too)."""
    if text := getattr(choice, "text", None):
        return text
    delta = getattr(choice, "delta", None)
    return delta.get("content") if isinstance(delta, dict) else getattr(delta, "content", None)


class RemoteEngine(Engine):
    """Completions from `base_url` (e.g. http://gpu-node:8000/v1)."""

    def __init__(
        self,
        base_url: str,
        *,
        model: str | None = None,
        api_key: str | None = None,
        context_length: int | None = None,
        max_concurrency: int = 64,
        timeout: float = 600.0,
        supports_media: bool = False,
        max_retries: int = 2,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = openai.OpenAI(
            base_url=self.base_url, api_key=api_key or "EMPTY", timeout=timeout, max_retries=max_retries
        )
        listed = self._first_model()
        self.model = model or listed.get("id", "default")
        self.info = EngineInfo(
            name="remote",
            model_id=self.model,
            context_length=context_length
            or int(listed.get("max_model_len") or listed.get("context_length") or 8192),
            max_concurrency=max_concurrency,
            supports_json_schema=True,
            supports_media=supports_media,
        )

    def _first_model(self) -> dict[str, Any]:
        try:
            models = self._client.with_options(max_retries=0, timeout=30).models.list().data
        except openai.APIError as exc:
            raise ModelLoadError(
                f"cannot reach an OpenAI-compatible server at {self.base_url}: {exc.message}"
            ) from exc
        return models[0].model_dump() if models else {}

    def tokenize(self, text: str) -> list[int]:
        # vLLM and galen serve /tokenize beside /v1, outside the SDK's resources.
        root = self.base_url.removesuffix("/v1")
        body = {"model": self.model, "prompt": text, "add_special_tokens": False}
        try:
            response = self._client.post(f"{root}/tokenize", body=body, cast_to=httpx.Response)
        except openai.APIStatusError as exc:
            raise EngineError(f"{root}/tokenize answered {exc.status_code}; cannot count tokens") from exc
        except openai.APIError as exc:
            raise EngineError(f"cannot reach {root}/tokenize: {exc.message}") from exc
        return response.json()["tokens"]

    def encode_media(self, prompt: MediaPrompt) -> MediaPrompt:
        """Check the media here; the server expands the placeholders, so `ids` count them as one
        token each (the usage vLLM reports at the end has the real count)."""
        if not self.info.supports_media:
            return super().encode_media(prompt)
        remote_media.check_media(prompt.media)
        return MediaPrompt(prompt.text, prompt.media, self.tokenize(prompt.text))

    def _open(self, request: GenerationRequest) -> openai.Stream:
        """Start the streamed call: /completions, or /chat/completions for a media prompt."""
        body = _body(self.model, request)
        if isinstance(request.prompt, MediaPrompt):
            body = remote_media.chat_body(body, request)
            model, messages = body.pop("model"), body.pop("messages")
            body.pop("stream")
            return self._client.chat.completions.create(
                model=model, messages=messages, stream=True, extra_body=body
            )
        model, prompt = body.pop("model"), body.pop("prompt")
        body.pop("stream")
        return self._client.completions.create(model=model, prompt=prompt, stream=True, extra_body=body)

    def stream(self, request: GenerationRequest) -> Iterator[Chunk]:
        try:
            stream = self._open(request)
        except openai.APIStatusError as exc:
            raise _status_error(exc) from exc
        except openai.APIError as exc:
            raise EngineError(f"cannot reach the remote engine: {exc.message}") from exc
        # Usage arrives in its own chunk after the finish reason: hold the finish back until then.
        finish, usage, stop_sequence = None, None, None
        with stream:  # leaving early closes the connection, which cancels the remote generation
            try:
                for chunk in stream:
                    usage = chunk.usage or usage
                    for choice in chunk.choices:
                        finish = choice.finish_reason or finish
                        stop_sequence = _stop_string(choice) or stop_sequence
                        if text := _text(choice):
                            yield Chunk(text)
            except openai.APIError as exc:  # an error event in the stream
                raise EngineError(f"the remote engine failed mid-answer: {exc.message}") from exc
            except httpx.HTTPError as exc:
                raise EngineError(f"the remote engine's stream broke mid-answer: {exc}") from exc
        if finish is None or finish == "abort":  # vLLM's "abort": the request was dropped
            raise EngineError(f"the remote engine's answer was cut off (finish reason {finish})")
        yield Chunk(
            "",
            finish if finish in ("stop", "length") else "stop",
            usage.prompt_tokens if usage else None,
            usage.completion_tokens if usage else None,
            stop_sequence=stop_sequence,
        )

    def close(self) -> None:
        self._client.close()


def _stop_string(choice: Any) -> str | None:
    """The stop string that ended a choice: vLLM's `stop_reason` (a token id when a stop token
    ended it, None for EOS); servers without it say nothing."""
    reason = (getattr(choice, "model_extra", None) or {}).get("stop_reason")
    return reason if isinstance(reason, str) else None
