"""llama.cpp on the CPU, through the prebuilt `xllamacpp` wheel.

xllamacpp embeds llama.cpp's server: requests go in as JSON and come back through a callback,
one call per streamed chunk, with continuous batching across `parallel` slots. The server also
listens on a loopback port; galen uses it only for `/tokenize` and protects it with a random
API key, so nothing else on the machine can drive it.

llama.cpp's server installs its own SIGINT and SIGTERM handlers, which stop its loop and leave
Python running with a dead engine; the engine puts Python's handlers back, so Ctrl+C and SIGTERM
reach galen (whose server drains before it closes the engine).
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from galen.engine import grammar
from galen.engine.base import Chunk, Engine, EngineInfo, GenerationRequest, TokenLogprob
from galen.errors import BadRequest, ContextWindowExceeded, EngineError, ModelLoadError

_DONE = object()
# With GenerationRequest.stream False, text is handed over in pieces of this many tokens: few
# enough thread hand-offs to save CPU, often enough that a cancelled request stops soon.
HELD_TOKENS = 32


def _body(request: GenerationRequest, stream: bool, cache_prompt: bool = True) -> dict[str, Any]:
    """The llama.cpp request: every sampling value explicit, since its defaults differ from ours."""
    s = request.sampling
    body: dict[str, Any] = {
        "prompt": request.prompt,
        "stream": stream,
        "temperature": s.temperature,
        "top_p": s.top_p,
        "top_k": s.top_k,
        "min_p": s.min_p,
        "presence_penalty": s.presence_penalty,
        "frequency_penalty": s.frequency_penalty,
        "repeat_penalty": s.repetition_penalty,
        "stop": list(s.stop),
        "max_tokens": s.max_tokens if s.max_tokens is not None else -1,
        "cache_prompt": cache_prompt,
    }
    if s.seed is not None:
        body["seed"] = s.seed
    if request.json_schema is not None:
        # llama.cpp compiles it with llguidance (xllamacpp is built with it), as galen checked it.
        body["json_schema"] = grammar.with_layout(request.json_schema)
    if request.logprobs is not None:
        # The raw distribution (post_sampling_probs off); at least one, for the sampled token.
        body["n_probs"] = max(request.logprobs, 1)
    return body


def _logprobs(choice: dict[str, Any], top: int | None) -> list[TokenLogprob]:
    """llama.cpp's `logprobs.content` entries, with `top` alternatives each."""
    if top is None:
        return []
    entries = (choice.get("logprobs") or {}).get("content") or []
    return [_token_logprob(e, top) for e in entries]


def _token_logprob(entry: dict[str, Any], top: int) -> TokenLogprob:
    alternatives = tuple(_token_logprob(t, 0) for t in (entry.get("top_logprobs") or [])[:top])
    token = entry.get("token", "")
    raw = entry.get("bytes")
    data = tuple(raw) if raw else tuple(token.encode())
    return TokenLogprob(token, float(entry["logprob"]), data, alternatives, entry.get("id"))


def _merged_logprobs(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in items:
        choices = item.get("choices") or [{}]
        out += ((choices[0].get("logprobs") or {}).get("content")) or []
    return out


def _is_text(item: dict[str, Any]) -> bool:
    """A chunk that only carries text (no error, no finish reason)."""
    choices = item.get("choices")
    return "error" not in item and bool(choices) and not choices[0].get("finish_reason")


def _prefixed(item: dict[str, Any], held: list[dict[str, Any]]) -> dict[str, Any]:
    """`item` with the held-back chunks' text (and log-probabilities) before its own: the last
    chunk of a piece, an error, the end."""
    if not item.get("choices"):
        return item
    first = item["choices"][0]
    text = "".join(h["choices"][0].get("text") or "" for h in held)
    merged = {**first, "text": text + (first.get("text") or "")}
    if logprobs := _merged_logprobs([*held, item]):
        merged["logprobs"] = {"content": logprobs}
    return {**item, "choices": [merged, *item["choices"][1:]]}


def _raise_for(error: dict[str, Any]) -> None:
    message = str(error.get("message", error))
    if error.get("type") == "exceed_context_size_error":
        raise ContextWindowExceeded(int(error.get("n_prompt_tokens", 0)), 0, int(error.get("n_ctx", 0)))
    if int(error.get("code", 500)) == 400:
        raise BadRequest(None, f"the engine rejected the request: {message}")
    raise EngineError(f"llama.cpp failed: {message}")


class LlamaCppEngine(Engine):
    """A GGUF model served by llama.cpp with `parallel` concurrent slots."""

    def __init__(
        self,
        path: str | Path,
        *,
        model_id: str | None = None,
        context_length: int = 8192,
        parallel: int = 4,
        threads: int | None = None,
        cache_prompt: bool = True,
    ) -> None:
        import xllamacpp

        # False: every prompt is computed from its first token, so its numbers never depend on
        # what an earlier request left in the slot (galen eval --deterministic).
        self.cache_prompt = cache_prompt
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        # One KV stream per slot, each a full window: a shared (unified) pool makes every slot's
        # attention span all slots' tokens, so 8 long few-shot prompts ran slower together than
        # one at a time; one pool of a single window also overflowed mid-generation.
        params.n_ctx = context_length * parallel
        params.n_parallel = parallel
        params.kv_unified = False
        params.verbosity = -1
        self._key = secrets.token_hex(16)
        params.api_keys = [self._key]
        n_threads = threads or max(1, os.cpu_count() or 1)
        params.cpuparams.n_threads = n_threads
        params.cpuparams_batch.n_threads = n_threads
        try:
            with _python_keeps_signals():
                self._server = xllamacpp.Server(params)
        except Exception as exc:
            raise ModelLoadError(f"llama.cpp could not load {path}: {exc}") from exc
        self._running: set[threading.Event] = set()  # one per request in flight: set = cancel
        self._lock = threading.Lock()
        self.tokens_generated = 0  # streamed by llama.cpp, one per chunk: shows when cancels land
        self._http = httpx.Client(
            base_url=self._server.listening_address, headers={"Authorization": f"Bearer {self._key}"}
        )
        self.info = EngineInfo(
            name="llama.cpp",
            model_id=model_id or Path(path).stem,
            context_length=context_length,
            max_concurrency=parallel,
            supports_json_schema=True,
            supports_logprobs=True,
        )

    def tokenize(self, text: str) -> list[int]:
        response = self._http.post(
            "/tokenize", json={"content": text, "add_special": False, "parse_special": True}
        )
        response.raise_for_status()
        return response.json()["tokens"]

    def check_json_schema(self, schema: dict[str, Any], param: str) -> None:
        grammar.check_schema(schema, param)  # the compiler llama.cpp itself uses

    def stream(self, request: GenerationRequest) -> Iterator[Chunk]:
        if isinstance(request.prompt, str):
            # Token ids, not text: llama.cpp would add a BOS that the chat template already wrote.
            request = replace(request, prompt=self.tokenize(request.prompt))
        request = self._within_window(request)
        chunks: queue.Queue[Any] = queue.Queue()
        cancelled = threading.Event()
        held: list[dict[str, Any]] = []  # chunks not handed over yet, when only the whole answer is wanted

        def on_chunk(data: bytes) -> bool:
            # Bytes, not str: a token cut inside a multibyte character must not kill the stream.
            item = json.loads(data.decode("utf-8", errors="replace"))
            with self._lock:
                self.tokens_generated += 1
            if not request.stream and _is_text(item) and len(held) < HELD_TOKENS - 1:
                held.append(item)
            else:
                chunks.put(_prefixed(item, held) if held else item)
                held.clear()
            return cancelled.is_set()

        def run() -> None:
            try:
                body = _body(request, True, self.cache_prompt)
                self._server.handle_completions(json.dumps(body).encode(), on_chunk)
            except Exception as exc:  # surfaced to the consumer below
                chunks.put(exc)
            finally:
                with self._lock:
                    self._running.discard(cancelled)
                chunks.put(_DONE)

        with self._lock:
            self._running.add(cancelled)
        threading.Thread(target=run, daemon=True, name="llama.cpp-request").start()
        try:
            yield from self._chunks(chunks, request.logprobs)
        finally:
            cancelled.set()

    def _within_window(self, request: GenerationRequest) -> GenerationRequest:
        """The window is per request (the KV pool holds one per slot): refuse a prompt that fills
        it, and let the answer use at most what is left."""
        n_prompt, window = len(request.prompt), self.info.context_length
        wanted = request.sampling.max_tokens
        if n_prompt >= window:
            raise ContextWindowExceeded(n_prompt, wanted or 0, window)
        if wanted is None or wanted > window - n_prompt:
            request = replace(request, sampling=request.sampling.updated(max_tokens=window - n_prompt))
        return request

    def _chunks(self, chunks: queue.Queue[Any], top_logprobs: int | None = None) -> Iterator[Chunk]:
        while (item := chunks.get()) is not _DONE:
            if isinstance(item, Exception):
                raise EngineError(f"llama.cpp failed: {item}") from item
            if "error" in item or "choices" not in item:
                _raise_for(item.get("error", item))
            choice = item["choices"][0] if item["choices"] else {}
            usage = item.get("usage") or {}
            yield Chunk(
                text=choice.get("text") or "",
                finish_reason=choice.get("finish_reason"),
                prompt_tokens=usage.get("prompt_tokens"),
                completion_tokens=usage.get("completion_tokens"),
                logprobs=_logprobs(choice, top_logprobs),
            )

    @property
    def in_flight(self) -> int:
        """Requests llama.cpp is still working on (a cancelled one counts until it has stopped)."""
        return len(self._running)

    def metrics_text(self) -> str:
        return str(self._server.handle_metrics())

    def close(self, timeout: float = 10.0) -> None:
        """Cancel what is still generating, wait for it (llama.cpp must not be freed under a
        request), then free the model."""
        with self._lock:
            running = list(self._running)
        for cancelled in running:
            cancelled.set()
        deadline = time.monotonic() + timeout
        while self._running and time.monotonic() < deadline:
            time.sleep(0.02)
        self._http.close()
        self.__dict__.pop("_server", None)


@contextmanager
def _python_keeps_signals() -> Iterator[None]:
    """Put back Python's SIGINT/SIGTERM handlers after llama.cpp installs its own (see above)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            if handler is not None:
                signal.signal(sig, handler)
