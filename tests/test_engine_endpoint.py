"""galen's one client for OpenAI-compatible servers, against a key-protected `galen serve` that
answers to two served names: the key from the environment or a flag, the model picked by name,
one-line errors for a refused key, an unknown model and a server that is down, and retries that
honour Retry-After. The retry test alone uses a scripted HTTP server (a few lines below that
answers 429 once): no real server can be made to refuse on cue.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from galen.engine.endpoint import EndpointClient, EndpointError, GenParams, is_openai

KEY = "k3y-galen-test-secret"


@pytest.fixture(scope="module")
def keyed(server_factory):
    return server_factory(
        "--api-key", KEY, "--served-model-name", "med-a", "--served-model-name", "med-b", "--parallel", "2"
    )


def test_key_from_the_environment_and_model_by_name(keyed, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    client = EndpointClient(keyed.base_url, "med-b")
    answer = asyncio.run(client.chat([{"role": "user", "content": "Say yes."}], GenParams(max_tokens=4)))
    assert answer.completion_tokens > 0 and client.model == "med-b"
    # galen serve publishes its weights' fingerprint; the client records it
    assert client.fingerprint["model"] == "med-b" and len(client.fingerprint["weights_sha256"]) == 64
    first = EndpointClient(keyed.base_url, api_key=KEY)
    assert first.model not in ("med-a", "med-b")  # no name: the server's first, its own id


def test_refused_key_unknown_model_and_no_server_are_one_line(keyed, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(
        EndpointError, match=r"refused the API key \(401\): set OPENAI_API_KEY or pass --api-key"
    ):
        EndpointClient(keyed.base_url, "med-b")
    with pytest.raises(EndpointError, match=r"model 'med-c' is not served at .* \(it serves: .*med-b"):
        EndpointClient(keyed.base_url, "med-c", KEY)
    with pytest.raises(EndpointError, match="no server answers at http://127.0.0.1:9/v1") as down:
        EndpointClient("http://127.0.0.1:9/v1", max_retries=0)
    assert "\n" not in down.value.message
    assert is_openai("https://api.openai.com/v1") and not is_openai(keyed.base_url)


def _eval(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "galen.cli.main", "eval", "run", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


def test_eval_through_the_keyed_server_and_its_errors(keyed, tmp_path):
    import os

    base = [
        "--model", keyed.base_url, "--tasks", "medqa", "--limit", "2", "--no-think", "--max-tokens", "8",
    ]  # fmt: skip
    env = {**os.environ, "OPENAI_API_KEY": KEY}
    good = _eval(*base, "--model-name", "med-b", "--output", str(tmp_path / "ok"), env=env)
    assert good.returncode == 0, good.stderr
    results = json.loads((tmp_path / "ok" / "results.json").read_text())
    assert results["model"]["model"] == "med-b" and results["config"]["model_name"] == "med-b"
    # the key came from the environment and is written nowhere
    for file in (tmp_path / "ok").rglob("*"):
        assert not file.is_file() or KEY.encode() not in file.read_bytes(), file
    env.pop("OPENAI_API_KEY")
    for extra, message in (
        (["--api-key", "wrong"], "refused the API key (401)"),
        (["--api-key", KEY, "--model-name", "med-z"], "model 'med-z' is not served"),
    ):
        bad = _eval(*base, *extra, "--output", str(tmp_path / "bad"), env=env)
        assert bad.returncode == 2 and message in bad.stderr, bad.stderr
        assert "Traceback" not in bad.stderr and not (tmp_path / "bad" / "results.json").exists()


class _Busy(http.server.BaseHTTPRequestHandler):
    """Answers /v1/models, then 429 with Retry-After: 1 to the first chat call, then a reply."""

    calls: list[float] = []

    def _send(self, code: int, body: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._send(200, {"object": "list", "data": [{"id": "m", "object": "model"}]})

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        _Busy.calls.append(time.monotonic())
        if len(_Busy.calls) == 1:
            self._send(429, {"error": {"message": "busy", "type": "rate_limit_error"}}, {"Retry-After": "1"})
            return
        message = {"role": "assistant", "content": "yes"}
        usage = {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        self._send(200, {"id": "c", "object": "chat.completion", "created": 0, "model": "m",
                         "choices": [choice], "usage": usage})  # fmt: skip

    def log_message(self, *args: object) -> None:
        pass


def test_a_429_is_retried_after_the_time_the_server_asks(tmp_path: Path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Busy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = EndpointClient(f"http://127.0.0.1:{server.server_port}/v1", api_key="x")
        answer = asyncio.run(client.chat([{"role": "user", "content": "hi"}], GenParams(max_tokens=2)))
    finally:
        server.shutdown()
    assert answer.content == "yes" and len(_Busy.calls) == 2
    assert _Busy.calls[1] - _Busy.calls[0] >= 0.9  # waited for Retry-After, not the SDK's 0.5 s
