"""Load: many concurrent clients sending mixed streamed and non-streamed chat and completions.

Each client loops: it picks one of four request kinds at random (chat or completion, streamed or
not) with a short question and 1 to 16 tokens, sends it, and on a 429 waits the Retry-After it
was given, as a polite client does. The server runs with `--parallel 8 --max-queue 32`, so 64
clients overflow the queue and some answers are 429s. What must hold:

- every answer is a 200 or a 429 with Retry-After; every 200 stream ends with `[DONE]` and holds
  no error event;
- memory does not grow with traffic: RSS after a warm-up of `warmup` requests, then after
  `requests` more, differs by less than 50 MB.

Latency is the time to the whole answer (p50 / p99 of the 200s), queueing included.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from benchmarks.reliability import Check
from benchmarks.reliability.servers import galen_serve, healthy, rss_mb
from galen.testing.server import RunningServer

QUESTIONS = ["What is anemia?", "Name a loop diuretic.", "What does the liver do?", "Define sepsis."]
RSS_LIMIT_MB = 50


@dataclass
class Tally:
    statuses: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    missing_retry_after: int = 0
    broken_streams: int = 0
    transport_errors: int = 0

    @property
    def requests(self) -> int:
        return sum(self.statuses.values()) + self.transport_errors


def _request(rng: random.Random) -> tuple[str, dict]:
    question, tokens = rng.choice(QUESTIONS), rng.randint(1, 16)
    stream = rng.random() < 0.5
    if rng.random() < 0.5:
        body = {"messages": [{"role": "user", "content": question}], "enable_thinking": False}
        path = "/v1/chat/completions"
    else:
        body, path = {"prompt": f"Question: {question}\nAnswer:"}, "/v1/completions"
    return path, body | {"max_tokens": tokens, "stream": stream, "seed": rng.randint(0, 999)}


async def _one(http: httpx.AsyncClient, path: str, body: dict, tally: Tally) -> float:
    """Send one request; returns how long to wait before the next (Retry-After on a 429)."""
    started = time.perf_counter()
    try:
        async with http.stream("POST", path, json=body) as response:
            lines = [line async for line in response.aiter_lines() if line]
    except httpx.HTTPError:
        tally.transport_errors += 1
        return 0.5
    tally.statuses[response.status_code] += 1
    if response.status_code == 429:
        if "retry-after" not in response.headers:
            tally.missing_retry_after += 1
        return float(response.headers.get("retry-after", 1))
    if response.status_code == 200:
        tally.latencies.append(time.perf_counter() - started)
        if body["stream"] and (lines[-1:] != ["data: [DONE]"] or any('"error"' in x for x in lines)):
            tally.broken_streams += 1
        if not body["stream"]:
            json.loads(lines[0])
    return 0.0


async def _drive(served: RunningServer, clients: int, until: callable, tally: Tally, seed: int) -> None:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=served.url, timeout=300, limits=limits) as http:

        async def client(index: int) -> None:
            rng = random.Random(seed * 1000 + index)
            while not until():
                path, body = _request(rng)
                if wait := await _one(http, path, body, tally):
                    await asyncio.sleep(wait)

        await asyncio.gather(*(client(i) for i in range(clients)))


def _percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else 0.0


def run(
    clients: int = 64, seconds: float = 60, warmup: int = 1000, requests: int = 10_000, time_cap: float = 3600
) -> Check:
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "serve.log"
        with galen_serve(
            "--parallel", "8", "--max-queue", "32", "--context-length", "512", log=log
        ) as served:
            window, rest = Tally(), Tally()
            began = time.monotonic()
            asyncio.run(_drive(served, clients, lambda: time.monotonic() - began > seconds, window, 1))
            window_seconds = time.monotonic() - began
            # Memory: warm up (allocator arenas, caches), then `requests` more.
            asyncio.run(_drive(served, clients, lambda: rest.requests >= warmup, rest, 2))
            rss_before = rss_mb(served)
            counted = Tally()
            deadline = time.monotonic() + time_cap
            done = lambda: counted.requests >= requests or time.monotonic() > deadline  # noqa: E731
            asyncio.run(_drive(served, clients, done, counted, 3))
            rss_after, alive = rss_mb(served), healthy(served)
    growth = rss_after - rss_before
    statuses = window.statuses + counted.statuses
    only_200_429 = set(statuses) <= {200, 429}
    bad = (
        window.missing_retry_after
        + counted.missing_retry_after
        + window.broken_streams
        + counted.broken_streams
    )
    bad += window.transport_errors + counted.transport_errors
    passed = only_200_429 and bad == 0 and alive and counted.requests >= requests and growth < RSS_LIMIT_MB
    codes = ", ".join(f"{code}: {n:,}" for code, n in sorted(statuses.items()))
    p50, p99 = _percentile(window.latencies, 50), _percentile(window.latencies, 99)
    return Check(
        "load",
        passed,
        f"{clients} clients: {window.requests:,} requests in {window_seconds:.0f} s, then "
        f"{counted.requests:,} after a {warmup:,}-request warm-up",
        {
            "statuses": codes,
            "p50 / p99 latency": f"{p50:.2f} / {p99:.2f} s",
            "requests/s": f"{window.requests / window_seconds:.1f}",
            "RSS growth": f"{growth:+.1f} MB ({rss_before:.0f} -> {rss_after:.0f} MB, limit {RSS_LIMIT_MB})",
            "broken streams / no Retry-After / transport errors": (
                f"{window.broken_streams + counted.broken_streams} / "
                f"{window.missing_retry_after + counted.missing_retry_after} / "
                f"{window.transport_errors + counted.transport_errors}"
            ),
        },
    )
