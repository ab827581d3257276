"""A scripted OpenAI-compatible server for fault injection: the one fake in the remote tests.

A real upstream (vLLM, or galen itself) cannot be made to fail half-way on demand, so this one
answers `/v1/completions` by a script set through `POST /control`:

- `ok`: two text chunks, a finish reason, usage, `[DONE]`;
- `error_mid_stream`: two text chunks, then an `{"error": ...}` event, as vLLM sends one;
- `cut`: two text chunks, then the connection ends (no finish reason, no `[DONE]`);
- `busy_once`: a 503 to the first request, then `ok` (a client should retry);
- `reject`: a 400 before any chunk.

`/tokenize` gives one token per character; `/v1/models` lists one model.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse


@dataclass
class Script:
    mode: str = "ok"
    requests: int = 0
    keys: list[str] = field(default_factory=list)


def _chunk(text: str, finish: str | None = None, stop_reason: str | None = None) -> str:
    choice = {"index": 0, "text": text, "finish_reason": finish, "logprobs": None, "stop_reason": stop_reason}
    body = {"id": "c", "object": "text_completion", "created": 0, "model": "fake", "choices": [choice]}
    return f"data: {json.dumps(body)}\n\n"


def _events(mode: str) -> Iterator[str]:
    yield _chunk("The kidney ")
    yield _chunk("filters")
    if mode == "error_mid_stream":
        yield f"data: {json.dumps({'error': {'message': 'CUDA out of memory', 'type': 'server_error'}})}\n\n"
        return
    if mode == "cut":
        return
    if mode == "stop_string":  # vLLM names the stop string that ended the text
        yield _chunk("", "stop", stop_reason="</answer>")
    else:
        yield _chunk("", "length")
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    yield f"data: {json.dumps({'id': 'c', 'object': 'text_completion', 'choices': [], 'usage': usage})}\n\n"
    yield "data: [DONE]\n\n"


def make_app(script: Script) -> FastAPI:
    app = FastAPI()

    @app.post("/control")
    async def control(body: dict) -> dict:
        script.mode, script.requests = body["mode"], 0
        return {}

    @app.get("/v1/models")
    async def models() -> dict:
        return {"object": "list", "data": [{"id": "fake", "object": "model", "max_model_len": 512}]}

    @app.post("/tokenize")
    async def tokenize(body: dict) -> dict:
        return {"tokens": [ord(c) for c in body.get("prompt", "")]}

    @app.post("/v1/completions")
    async def completions(request: Request):
        script.requests += 1
        script.keys.append(request.headers.get("authorization", ""))
        if script.mode == "busy_once" and script.requests == 1:
            return JSONResponse({"error": {"message": "busy", "type": "server_error"}}, 503)
        if script.mode == "reject":
            return JSONResponse({"error": {"message": "prompt too long", "type": "BadRequestError"}}, 400)
        return StreamingResponse(_events(script.mode), media_type="text/event-stream")

    return app


class FakeUpstream:
    """The fake, served by uvicorn in a thread on a free loopback port."""

    def __init__(self) -> None:
        self.script = Script()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        config = uvicorn.Config(make_app(self.script), host="127.0.0.1", port=self.port, log_level="error")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeUpstream:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def mode(self, mode: str) -> None:
        self.script.mode, self.script.requests = mode, 0

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
