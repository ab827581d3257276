"""How an eval reaches a model: an OpenAI-compatible endpoint, or a model loaded in-process.

Both give the same `Answer`, produced by the same chat layer (galen serve's, or galen's own in
process), so a score does not depend on how the model was reached.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from galen.engine.base import Loglik, LoglikRequest
from galen.engine.chat import ChatEngine, ChatRequest
from galen.engine.sampling import PRESETS
from galen.errors import BadRequest, EngineError


@dataclass(frozen=True)
class GenParams:
    """Decoding settings of one eval call; all of them go into the cache key."""

    max_tokens: int = 2048
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    seed: int = 0
    thinking: bool | None = None  # None: the model's default


@dataclass
class Answer:
    content: str
    reasoning: str | None
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"

    @property
    def unclosed_reasoning(self) -> bool:
        """Cut off while still thinking: there is no answer to extract."""
        return self.truncated and not self.content and bool(self.reasoning)


class ModelClient(Protocol):
    fingerprint: dict[str, Any]

    async def chat(self, messages: list[dict[str, Any]], params: GenParams) -> Answer: ...

    async def loglikelihoods(self, requests: list[LoglikRequest]) -> list[Loglik]: ...

    def close(self) -> None: ...


class EndpointClient:
    """Any OpenAI-compatible server (galen serve, vLLM, ...)."""

    def __init__(self, base_url: str, model: str | None = None, api_key: str | None = None) -> None:
        import openai

        self.base_url = base_url
        self._client = openai.AsyncOpenAI(
            base_url=base_url, api_key=api_key or "EMPTY", max_retries=2, timeout=3600
        )
        try:
            listed = (
                openai.OpenAI(base_url=base_url, api_key=api_key or "EMPTY", max_retries=1).models.list().data
            )
        except openai.APIStatusError as exc:
            raise EngineError(f"{base_url}/models answered {exc.status_code}: {exc.message}") from None
        except openai.APIConnectionError:
            raise EngineError(f"cannot reach {base_url}: is the server running?") from None
        self.model = model or listed[0].id
        self.fingerprint = {"endpoint": base_url, "model": self.model}

    async def chat(self, messages: list[dict[str, Any]], params: GenParams) -> Answer:
        extra: dict[str, Any] = {"top_k": params.top_k}
        if params.thinking is not None:
            extra["chat_template_kwargs"] = {"enable_thinking": params.thinking}
        import openai

        try:
            response = await self._client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=params.max_tokens,
                temperature=params.temperature,
                top_p=params.top_p,
                seed=params.seed,
                extra_body=extra,
            )
        except openai.APIStatusError as exc:  # the server's own message says what to change
            raise EngineError(f"{self.base_url} answered {exc.status_code}: {exc.message}") from None
        except openai.APIConnectionError as exc:
            raise EngineError(f"cannot reach {self.base_url}: {exc}") from None
        choice, usage = response.choices[0], response.usage
        extras = choice.message.model_extra or {}
        details = getattr(usage, "completion_tokens_details", None)
        return Answer(
            content=choice.message.content or "",
            reasoning=extras.get("reasoning_content", extras.get("reasoning")),
            finish_reason=choice.finish_reason or "stop",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            reasoning_tokens=(getattr(details, "reasoning_tokens", None) or 0) if details else 0,
        )

    async def loglikelihoods(self, requests: list[LoglikRequest]) -> list[Loglik]:
        raise BadRequest(
            "mode",
            "log-likelihood scoring needs the model in this process: pass the model's folder or GGUF "
            "with --engine transformers instead of an endpoint URL",
        )

    def close(self) -> None:
        pass


class LocalClient:
    """A model loaded in this process, through the same ChatEngine that galen serve uses."""

    def __init__(self, chat: ChatEngine) -> None:
        self.chat_engine = chat
        # One worker per engine slot: asyncio's default pool has only cpu_count + 4 threads.
        self._pool = ThreadPoolExecutor(chat.engine.info.max_concurrency, thread_name_prefix="galen-eval")
        self.fingerprint = {
            "model": chat.source.model_id,
            "location": chat.source.location,
            "engine": chat.engine.info.name,
            "family": chat.profile.family,
        }

    @staticmethod
    def _request(messages: list[dict[str, Any]], params: GenParams) -> ChatRequest:
        sampling = PRESETS["greedy"].updated(**{k: v for k, v in asdict(params).items() if k != "thinking"})
        return ChatRequest(messages, sampling, enable_thinking=params.thinking)

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
    model: str, engine: str = "auto", api_key: str | None = None, parallel: int = 8
) -> ModelClient:
    """An endpoint for an http(s) URL; otherwise the model is loaded here (GGUF, HF folder, name)
    with `parallel` slots, so that many calls in flight decode together."""
    if model.startswith(("http://", "https://")):
        return EndpointClient(model.rstrip("/"), api_key=api_key)
    from galen.engine.registry import EngineOptions, load_engine
    from galen.models.source import resolve

    source = resolve(model)
    return LocalClient(ChatEngine(load_engine(source, engine, EngineOptions(parallel=parallel)), source))
