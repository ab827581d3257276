"""Any OpenAI-compatible server (vLLM, SGLang, another galen) as an engine.

galen renders the prompt and parses the output itself, so only `/v1/completions` is used: the
remote side runs tokens, nothing else, and behaves exactly like a local engine. Special tokens
are kept in the output because the parser needs the think and tool-call tags. A prompt with
images or video goes to `/v1/chat/completions` instead (see `engine.remote_media`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from galen.engine import remote_media
from galen.engine.base import Chunk, Engine, EngineInfo, GenerationRequest, MediaPrompt
from galen.errors import BadRequest, EngineError, ModelLoadError


def _body(model: str, request: GenerationRequest) -> dict[str, Any]:
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
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)
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
            response = self._http.get("/models")
            response.raise_for_status()
            data = response.json().get("data") or [{}]
        except (httpx.HTTPError, ValueError) as exc:
            raise ModelLoadError(
                f"cannot reach an OpenAI-compatible server at {self.base_url}: {exc}"
            ) from exc
        return data[0]

    def tokenize(self, text: str) -> list[int]:
        # vLLM and galen serve /tokenize beside /v1.
        root = self.base_url.removesuffix("/v1")
        response = self._http.post(
            f"{root}/tokenize", json={"model": self.model, "prompt": text, "add_special_tokens": False}
        )
        if response.status_code != 200:
            raise EngineError(f"{root}/tokenize answered {response.status_code}; cannot count tokens")
        return response.json()["tokens"]

    def encode_media(self, prompt: MediaPrompt) -> MediaPrompt:
        """Check the media here; the server expands the placeholders, so `ids` count them as one
        token each (the usage vLLM reports at the end has the real count)."""
        if not self.info.supports_media:
            return super().encode_media(prompt)
        remote_media.check_media(prompt.media)
        return MediaPrompt(prompt.text, prompt.media, self.tokenize(prompt.text))

    def _request(self, request: GenerationRequest) -> tuple[str, dict[str, Any]]:
        body = _body(self.model, request)
        if isinstance(request.prompt, MediaPrompt):
            return "/chat/completions", remote_media.chat_body(body, request)
        return "/completions", body

    def stream(self, request: GenerationRequest) -> Iterator[Chunk]:
        # Usage arrives in its own chunk after the finish reason: hold the finish back until then.
        finish, usage = None, {}
        path, body = self._request(request)
        with self._http.stream("POST", path, json=body) as response:
            if response.status_code >= 400:
                self._raise(response)
            for line in response.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                data = json.loads(line[6:])
                usage = data.get("usage") or usage
                for choice in data.get("choices") or []:
                    finish = choice.get("finish_reason") or finish
                    # /completions streams `text`; /chat/completions streams `delta.content`.
                    text = choice.get("text") or (choice.get("delta") or {}).get("content")
                    if text:
                        yield Chunk(text)
        yield Chunk("", finish or "stop", usage.get("prompt_tokens"), usage.get("completion_tokens"))

    @staticmethod
    def _raise(response: httpx.Response) -> None:
        response.read()
        try:
            message = response.json().get("error", {}).get("message", response.text)
        except ValueError:
            message = response.text
        if response.status_code in (400, 422):
            raise BadRequest(None, f"the remote engine rejected the request: {message}")
        raise EngineError(f"remote engine answered {response.status_code}: {message}")

    def close(self) -> None:
        self._http.close()
