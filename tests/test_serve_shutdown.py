"""SIGTERM: stop admitting, finish or stop in-flight work within --shutdown-timeout, exit 0."""

from __future__ import annotations

import json
import signal
import threading
import time

import httpx

ESSAY = {
    "messages": [{"role": "user", "content": "Write a long essay about the kidney."}],
    "max_tokens": 900,
    "enable_thinking": False,
}


def _stream_lines(url: str, body: dict, out: list) -> None:
    try:
        with httpx.stream("POST", url, json=body, timeout=60) as response:
            out.append(response.status_code)
            for line in response.iter_lines():  # one by one: the test watches them arrive
                if line:
                    out.append(line)
    except httpx.HTTPError as exc:  # a broken connection fails the test below
        out.append(repr(exc))


def test_sigterm_stops_admitting_and_stops_long_streams_in_time(server_factory):
    server = server_factory("--parallel", "2", "--context-length", "1024", "--shutdown-timeout", "2")
    url = f"{server.base_url}/chat/completions"
    streams = [[] for _ in range(2)]
    threads = [
        threading.Thread(target=_stream_lines, args=(url, {**ESSAY, "stream": True, "seed": i}, out))
        for i, out in enumerate(streams)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while min(len(out) for out in streams) < 3 and time.monotonic() < deadline:  # both streaming
        time.sleep(0.05)
    short = {}
    short_done = threading.Thread(
        target=lambda: short.update(r=httpx.post(url, json={**ESSAY, "max_tokens": 3}, timeout=60))
    )
    short_done.start()  # queued behind the two streams; it will not finish in time either
    time.sleep(0.3)
    sent = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    refused = httpx.post(url, json={**ESSAY, "max_tokens": 3}, timeout=10)
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert refused.json()["error"]["code"] == "server_shutting_down"
    assert httpx.get(f"{server.url}/health", timeout=5).status_code == 503  # draining
    assert server.process.wait(timeout=30) == 0
    assert time.monotonic() - sent < 2 + 5  # the timeout, then a bounded grace
    for thread in (*threads, short_done):
        thread.join(timeout=30)
    for lines in streams:
        assert lines[0] == 200 and lines[-1] == "data: [DONE]", lines[-3:]
        error = json.loads(lines[-2][6:])["error"]
        assert error["code"] == "server_shutting_down"
    assert short["r"].status_code == 503
    assert "Traceback" not in server.log_text()


def test_sigterm_lets_work_that_fits_in_the_timeout_finish(server_factory):
    server = server_factory("--parallel", "1", "--context-length", "512", "--shutdown-timeout", "30")
    url = f"{server.base_url}/chat/completions"
    out: list = []
    body = {**ESSAY, "max_tokens": 40, "stream": True, "stream_options": {"include_usage": True}}
    thread = threading.Thread(target=_stream_lines, args=(url, body, out))
    thread.start()
    deadline = time.monotonic() + 60
    while len(out) < 3 and time.monotonic() < deadline:  # streaming
        time.sleep(0.02)
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=60) == 0
    thread.join(timeout=30)
    assert out[0] == 200 and out[-1] == "data: [DONE]"
    usage = json.loads(out[-2][6:])["usage"]
    assert usage["completion_tokens"] > 0 and not any('"error"' in line for line in out[1:])
