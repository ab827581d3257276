"""Admission bounds all the work of a request, and hostile input is refused before it costs much.

The three measured failures of issue 12 are here: a request that fanned out past every limit
(800 choices, 1,593 threads), a 60 MB body that was read whole and ended in a 500, and a
streamed completion with an empty prompt that broke the stream after it had started.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request

import httpx
import pytest


@pytest.fixture(scope="module")
def small(server_factory):
    """Two slots, two waiting choices: capacity for four choices in all."""
    return server_factory("--parallel", "2", "--max-queue", "2", "--context-length", "256")


def _threads(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(status.read().split("Threads:")[1].split()[0])


def _rss_mb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(status.read().split("VmRSS:")[1].split()[0]) // 1024


def _post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """urllib sends the whole body before it reads anything, as many simple clients do."""
    request = urllib.request.Request(url, body, {"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_a_fan_out_past_the_limits_is_refused_before_any_work(small):
    pid, before = small.process.pid, _threads(small.process.pid)
    body = json.dumps({"prompt": ["Define anemia."] * 200, "n": 4, "max_tokens": 4}).encode()
    status, answer = _post(f"{small.base_url}/completions", body)
    error = json.loads(answer)["error"]
    assert status == 400 and error["param"] == "prompt" and error["code"] == "too_many_choices"
    assert "800 choices" in error["message"] and "at most 4" in error["message"]
    assert _threads(pid) - before <= 2
    chat = {"messages": [{"role": "user", "content": "hi"}], "n": 5, "max_tokens": 2}
    response = httpx.post(f"{small.base_url}/chat/completions", json=chat, timeout=30)
    assert response.status_code == 400 and response.json()["error"]["param"] == "n"


def test_each_choice_takes_a_slot_and_the_queue_counts_choices(small):
    """Four choices fill two slots and the two-choice queue: a fifth is a 429, and no more than
    two generations ever run at once."""
    peak, stop = [0], threading.Event()

    def watch() -> None:
        while not stop.is_set():
            health = httpx.get(f"{small.url}/health", timeout=5).json()
            peak[0] = max(peak[0], health["active"])
            time.sleep(0.02)

    async def fire() -> tuple[httpx.Response, httpx.Response]:
        body = {"prompt": "The kidney", "n": 4, "max_tokens": 48, "temperature": 1.0, "seed": 1}
        async with httpx.AsyncClient(timeout=120) as http:
            big = asyncio.create_task(http.post(f"{small.base_url}/completions", json=body))
            await asyncio.sleep(0.4)
            one = await http.post(f"{small.base_url}/completions", json={**body, "n": 1})
            return await big, one

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        big, one = asyncio.run(fire())
    finally:
        stop.set()
        watcher.join()
    assert big.status_code == 200 and len(big.json()["choices"]) == 4
    assert one.status_code == 429 and one.headers["retry-after"] == "1"
    assert peak[0] == 2


def test_a_60_mb_body_is_a_413_at_once_that_the_client_hears(small):
    pid = small.process.pid
    rss, started = _rss_mb(pid), time.monotonic()
    big = b'{"prompt": "' + b"a" * (60 * 2**20) + b'", "max_tokens": 1}'
    status, answer = _post(f"{small.base_url}/completions", big)
    assert status == 413 and time.monotonic() - started < 5
    error = json.loads(answer)["error"]
    assert error["code"] == "request_too_large" and "--max-body-bytes" in error["message"]
    assert _rss_mb(pid) - rss < 20
    assert httpx.get(f"{small.url}/health", timeout=5).status_code == 200


def test_a_chunked_body_is_cut_off_at_the_limit(server_factory):
    """Without a Content-Length the limit applies to the bytes as they arrive."""
    server = server_factory("--parallel", "1", "--max-body-bytes", "65536")

    def chunks():
        yield b'{"prompt": "'
        for _ in range(64):
            yield b"a" * 4096
        yield b'"}'

    response = httpx.post(
        f"{server.base_url}/completions",
        content=chunks(),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    fits = httpx.post(f"{server.base_url}/completions", json={"prompt": "hi", "max_tokens": 1}, timeout=30)
    assert fits.status_code == 200


def test_tokenize_is_admitted_like_a_generation(server_factory):
    server = server_factory("--parallel", "1", "--max-queue", "0")
    body = {
        "messages": [{"role": "user", "content": "Write a long essay."}],
        "max_tokens": 300,
        "stream": True,
        # No thinking budget: the stand-in then reasons until max_tokens, so the slot stays taken.
        # With its default budget of 32 the first chunk could come with the whole reasoning and a
        # short answer could end the stream before /tokenize arrived (seen on a fresh clone).
        "thinking_budget": -1,
    }

    async def fire() -> httpx.Response:
        async with httpx.AsyncClient(timeout=120) as http:
            # The first streamed chunk proves the one slot is taken (a fixed sleep raced on a slow
            # CI machine); the tokenize call goes out while the stream is still open.
            async with http.stream("POST", f"{server.base_url}/chat/completions", json=body) as long:
                assert long.status_code == 200
                async for line in long.aiter_lines():
                    if line.startswith("data: "):
                        break
                return await http.post(f"{server.url}/tokenize", json={"prompt": "x " * 1000})

    assert asyncio.run(fire()).status_code == 429


@pytest.mark.parametrize(
    ("prompt", "param"), [("", "prompt"), ([""], "prompt"), (["ok", ""], "prompt"), ([-1, 5], "prompt")]
)
def test_bad_prompts_are_400_before_a_stream_starts(server, prompt, param):
    body = {"prompt": prompt, "max_tokens": 4, "stream": True}
    response = httpx.post(f"{server.base_url}/completions", json=body, timeout=30)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


def test_an_engine_error_before_the_first_token_is_a_plain_http_error(server):
    """A token id past the vocabulary is only found by the engine: the stream has not started,
    so the answer is a 400 with OpenAI's error JSON, not an event in a 200 stream."""
    body = {"prompt": [1, 10_000_000], "max_tokens": 4, "stream": True}
    response = httpx.post(f"{server.base_url}/completions", json=body, timeout=30)
    assert response.status_code == 400, response.text
    assert "error" in response.json()
    assert httpx.get(f"{server.url}/health", timeout=5).json()["active"] == 0
