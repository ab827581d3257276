"""Disconnects: a client that goes away mid-answer stops its generation.

The server runs in this process (the real app and engine, served by uvicorn on a loopback port)
so that llama.cpp's own count of streamed tokens can be read: `LlamaCppEngine.tokens_generated`
counts the chunks llama.cpp streams, one per token. A client reads the first chunks of a long
answer and drops the connection; the tokens llama.cpp generated after the drop are counted once
it has stopped. Non-streamed requests (a client whose read times out) are measured the same way:
galen takes their text from llama.cpp in pieces of `HELD_TOKENS`, so up to one piece may follow.
"""

from __future__ import annotations

import threading
import time

import httpx
import uvicorn

from benchmarks.reliability import Check
from benchmarks.reliability.servers import free_port
from galen.engine.chat import ChatEngine
from galen.engine.llamacpp import HELD_TOKENS, LlamaCppEngine
from galen.models.embedded import DEFAULT_TEMPLATE
from galen.models.source import resolve
from galen.serve.app import create_app
from galen.serve.state import ServerState, ServeSettings

PARALLEL = 8  # one decode step makes at most this many tokens, one per slot
ESSAY = {
    "messages": [{"role": "user", "content": "Write a long essay about the kidney."}],
    "max_tokens": 1500,
}


def _settle(engine: LlamaCppEngine, timeout: float = 30) -> int:
    """Tokens generated once llama.cpp has nothing left in flight."""
    deadline = time.monotonic() + timeout
    while engine.in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    return engine.tokens_generated


def _drop_stream(base: str, engine: LlamaCppEngine, seed: int, read: int = 10) -> int:
    body = {**ESSAY, "stream": True, "seed": seed, "enable_thinking": False}
    with httpx.stream("POST", f"{base}/chat/completions", json=body, timeout=60) as response:
        for i, _ in enumerate(response.iter_lines()):
            if i >= read:
                dropped = engine.tokens_generated
                break
    return _settle(engine) - dropped


def _drop_plain(base: str, engine: LlamaCppEngine, seed: int) -> int:
    body = {**ESSAY, "seed": seed, "enable_thinking": False}
    try:
        httpx.post(f"{base}/chat/completions", json=body, timeout=1.5)
    except httpx.ReadTimeout:
        dropped = engine.tokens_generated
    else:
        return -1  # answered within the timeout: nothing to measure
    return _settle(engine) - dropped


def run(drops: int = 5) -> Check:
    source = resolve("smollm2", chat_template=DEFAULT_TEMPLATE)
    engine = LlamaCppEngine(source.location, context_length=2048, parallel=PARALLEL)
    port = free_port()
    config = uvicorn.Config(create_app(ServerState(ChatEngine(engine, source), ServeSettings())), port=port)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}/v1"
        streamed = [_drop_stream(base, engine, seed) for seed in range(drops)]
        plain = [n for n in (_drop_plain(base, engine, seed) for seed in range(drops)) if n >= 0]
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        engine.close()
    passed = max(streamed) < PARALLEL and (not plain or max(plain) <= HELD_TOKENS + PARALLEL)
    return Check(
        "disconnect",
        passed,
        f"{drops} dropped streams, {len(plain)} timed-out non-streamed requests",
        {
            "tokens after a dropped stream (max)": f"{max(streamed)} (each: {streamed}; limit < {PARALLEL})",
            "tokens after a dropped non-streamed request (max)": (
                f"{max(plain) if plain else '–'} (each: {plain}; limit <= {HELD_TOKENS + PARALLEL})"
            ),
        },
    )
