"""What galen sends vLLM for images and video, and the `vllm serve` flags it adds.

There is no GPU here, so no vLLM: the request is checked against a small loopback HTTP server
that records it and answers like vLLM's chat endpoint (a stand-in, not vLLM; what vLLM does with
the request is unverified until it is run on a GPU, see docs/serve.md).
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from media_samples import data_url, mp4, png

from galen.engine.chat import ChatEngine, ChatRequest
from galen.engine.remote import RemoteEngine
from galen.engine.sampling import SamplingParams
from galen.engine.vllm import VLLMLaunch
from galen.engine.vllm_media import VLLMMediaFlags, prerendered_template
from galen.errors import BadRequest
from galen.models.source import resolve

ANSWER = "The disc is red.\n</think>\n\nA red lesion."  # the prompt opened <think>


class _Recorder(BaseHTTPRequestHandler):
    requests: list[tuple[str, dict]] = []

    def log_message(self, *args: object) -> None:
        pass

    def _json(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        self._json({"data": [{"id": "Reasoning-Medical-27B", "max_model_len": 262144}]})

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/tokenize":
            self._json({"tokens": list(range(len(body["prompt"]) // 4))})
            return
        _Recorder.requests.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        pieces = [{"choices": [{"delta": {"content": ANSWER[i : i + 7]}, "finish_reason": None}]}
                  for i in range(0, len(ANSWER), 7)]  # fmt: skip
        pieces.append({"choices": [{"delta": {}, "finish_reason": "stop"}]})
        pieces.append({"choices": [], "usage": {"prompt_tokens": 321, "completion_tokens": 12}})
        for piece in pieces:
            self.wfile.write(f"data: {json.dumps(piece)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")


@pytest.fixture(scope="module")
def vllm_like():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def chat(vllm_like: str, tiny_qwen_cache) -> ChatEngine:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GALEN_CACHE", str(tiny_qwen_cache))
        source = resolve("tiny-qwen3.6")
    return ChatEngine(RemoteEngine(vllm_like, supports_media=True), source)


def test_a_media_prompt_reaches_vllm_with_galens_prompt_and_the_bytes(chat: ChatEngine) -> None:
    image, clip = png(), mp4()
    content = [
        {"type": "image_url", "image_url": {"url": data_url(image, "image/png")}},
        {"type": "video_url", "video_url": {"url": data_url(clip, "video/mp4")}},
        {"type": "text", "text": "Compare them."},
    ]
    request = ChatRequest(
        [{"role": "user", "content": content}],
        SamplingParams(max_tokens=40, temperature=0.0),
        mm_processor_kwargs={"fps": 2, "do_sample_frames": True},
    )
    _Recorder.requests.clear()
    result = chat.complete(request)
    path, body = _Recorder.requests[-1]
    assert path == "/v1/chat/completions"
    parts = body["messages"][0]["content"]
    rendered = chat.render(request).text
    assert parts[0] == {"type": "text", "text": rendered}  # galen's template, placeholders in place
    assert rendered.count("<|vision_start|><|image_pad|><|vision_end|>") == 1
    assert rendered.count("<|vision_start|><|video_pad|><|vision_end|>") == 1
    assert base64.b64decode(parts[1]["image_url"]["url"].split(",", 1)[1]) == image
    assert base64.b64decode(parts[2]["video_url"]["url"].split(",", 1)[1]) == clip
    assert body["mm_processor_kwargs"] == {"fps": 2, "do_sample_frames": True}
    assert body["skip_special_tokens"] is False and body["add_generation_prompt"] is False
    assert body["max_tokens"] == 40 and body["temperature"] == 0.0 and "prompt" not in body
    # galen parses vLLM's raw text itself, and reports vLLM's prompt count (placeholders expanded).
    assert result.output.reasoning == "The disc is red." and result.output.content == "A red lesion."
    assert result.prompt_tokens == 321


def test_text_prompts_still_use_completions(chat: ChatEngine) -> None:
    _Recorder.requests.clear()
    chat.complete(ChatRequest([{"role": "user", "content": "Hi"}], SamplingParams(max_tokens=4)))
    assert _Recorder.requests[-1][0] == "/v1/completions"


def test_broken_media_is_refused_before_vllm_sees_it(chat: ChatEngine) -> None:
    content = [
        {"type": "text", "text": "x"},
        {"type": "image_url", "image_url": {"url": data_url(b"xx", "image/png")}},
    ]
    _Recorder.requests.clear()
    with pytest.raises(BadRequest) as info:
        chat.complete(ChatRequest([{"role": "user", "content": content}]))
    assert info.value.param == "messages[0].content[1]" and not _Recorder.requests


def test_vllm_command_carries_the_media_flags() -> None:
    media = VLLMMediaFlags(
        limit_mm_per_prompt={"image": 4, "video": 1},
        mm_processor_kwargs={"size": {"longest_edge": 469762048, "shortest_edge": 4096}},
    )
    cmd = VLLMLaunch(model="/models/rm27b", media=media).command()
    flag = {cmd[i]: cmd[i + 1] for i in range(len(cmd) - 1) if cmd[i].startswith("--")}
    assert json.loads(flag["--limit-mm-per-prompt"]) == {"image": 4, "video": 1}
    assert json.loads(flag["--mm-processor-kwargs"])["size"]["longest_edge"] == 469762048
    assert json.loads(flag["--media-io-kwargs"]) == {"video": {"num_frames": -1}}  # the card's setting
    assert (
        flag["--chat-template"] == prerendered_template()
        and flag["--chat-template-content-format"] == "openai"
    )
    text_only = VLLMLaunch(model="/models/rm27b", media=VLLMMediaFlags(language_model_only=True)).command()
    assert "--language-model-only" in text_only and "--limit-mm-per-prompt" not in text_only


def test_the_prerendered_template_prints_the_prompt_unchanged() -> None:
    from jinja2 import Environment

    template = Environment().from_string(open(prerendered_template()).read())
    content = [{"type": "text", "text": "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>x"},
               {"type": "image"}]  # fmt: skip
    assert template.render(messages=[{"role": "user", "content": content}]) == content[0]["text"]
