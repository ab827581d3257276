"""How an eval reaches a model: an OpenAI-compatible endpoint, or a model loaded in-process.

Both give the same `Answer`, produced by the same chat layer (galen serve's, or galen's own in
process), so a score does not depend on how the model was reached. An endpoint is reached through
galen's one client (`galen.engine.endpoint.EndpointClient`: key, model name, retries, timeouts).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from galen.chat.output_format import OutputFormat
from galen.engine.base import Loglik, LoglikRequest
from galen.engine.chat import ChatEngine, ChatRequest
from galen.engine.endpoint import DEFAULT_KEY_ENV, MAX_RETRIES, TIMEOUT, Answer, EndpointClient, GenParams
from galen.engine.sampling import PRESETS
from galen.errors import BadRequest
from galen.models.fingerprint import fingerprint

__all__ = ["Answer", "EndpointClient", "GenParams", "LocalClient", "ModelClient", "open_client"]


class ModelClient(Protocol):
    fingerprint: dict[str, Any]

    async def chat(self, messages: list[dict[str, Any]], params: GenParams) -> Answer: ...

    async def loglikelihoods(self, requests: list[LoglikRequest]) -> list[Loglik]: ...

    def close(self) -> None: ...


class LocalClient:
    """A model loaded in this process, through the same ChatEngine that galen serve uses."""

    def __init__(self, chat: ChatEngine) -> None:
        self.chat_engine = chat
        # One worker per engine slot: asyncio's default pool has only cpu_count + 4 threads.
        self._pool = ThreadPoolExecutor(chat.engine.info.max_concurrency, thread_name_prefix="galen-eval")
        self.fingerprint = {**fingerprint(chat.source), "engine": chat.engine.info.name}

    @staticmethod
    def _request(messages: list[dict[str, Any]], params: GenParams) -> ChatRequest:
        given = {k: v for k, v in params.settings().items() if k not in ("thinking", "response_format")}
        shape = None
        if params.response_format and params.response_format.get("type") == "json_schema":
            spec = params.response_format["json_schema"]
            shape = OutputFormat.json_schema(spec["schema"], "response_format.json_schema.schema")
        elif params.response_format:
            shape = OutputFormat.json_object("response_format")
        sampling = PRESETS["greedy"].updated(**given)
        return ChatRequest(messages, sampling, enable_thinking=params.thinking, output_format=shape)

    async def chat(self, messages: list[dict[str, Any]], params: GenParams) -> Answer:
        request = self._request(messages, params)
        result = await asyncio.get_running_loop().run_in_executor(
            self._pool, self.chat_engine.complete, request
        )
        output = result.output
        return Answer(
            output.content,
            output.reasoning,
            result.finish_reason,
            result.prompt_tokens,
            result.completion_tokens,
            result.reasoning_tokens,
        )

    async def loglikelihoods(self, requests: list[LoglikRequest]) -> list[Loglik]:
        engine = self.chat_engine.engine
        score = getattr(engine, "loglikelihoods", None)
        if score is None:
            raise BadRequest(
                "mode",
                f"the {engine.info.name} engine cannot score log-likelihoods; use --engine transformers",
            )
        return await asyncio.to_thread(score, requests)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.chat_engine.engine.close()


def open_client(
    model: str,
    engine: str = "auto",
    api_key: str | None = None,
    parallel: int = 8,
    *,
    model_name: str | None = None,
    api_key_env: str = DEFAULT_KEY_ENV,
    timeout: float = TIMEOUT,
    max_retries: int = MAX_RETRIES,
    model_revision: str | None = None,
    device: str = "auto",
    dtype: str = "auto",
    deterministic: bool = False,
) -> ModelClient:
    """An endpoint for an http(s) URL (`model_name` picks the served model; the key is `api_key`,
    else $`api_key_env`); otherwise the model is loaded here (GGUF, HF folder, embedded name) with
    `parallel` slots, so that many calls in flight decode together (one slot and no reuse
    between requests when `deterministic`). `model_revision`, when given, joins the fingerprint."""
    client: ModelClient
    if model.startswith(("http://", "https://")):
        client = EndpointClient(
            model, model_name, api_key, api_key_env=api_key_env, timeout=timeout, max_retries=max_retries
        )
    else:
        from galen.engine.registry import EngineOptions, load_engine
        from galen.models.source import resolve

        source = resolve(model, model_id=model_name)
        options = EngineOptions(parallel=parallel, device=device, dtype=dtype, deterministic=deterministic)
        client = LocalClient(ChatEngine(load_engine(source, engine, options), source))
    if model_revision:
        client.fingerprint["model_revision"] = model_revision
    return client
