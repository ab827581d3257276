"""The remote engine (vLLM, or any OpenAI-compatible server) pointed at a running galen."""

from __future__ import annotations

import json

import httpx
import pytest

from galen.engine.base import GenerationRequest
from galen.engine.chat import ChatEngine, ChatRequest
from galen.engine.remote import RemoteEngine
from galen.engine.sampling import PRESETS, SamplingParams
from galen.engine.vllm import NATIVE_CONTEXT, VLLMLaunch
from galen.errors import BadRequest, EngineError, ModelLoadError
from galen.models.families import QWEN3_6
from galen.models.source import resolve


@pytest.fixture(scope="module")
def remote(server):
    engine = RemoteEngine(server.base_url)
    yield engine
    engine.close()


def test_remote_reads_model_and_window(remote):
    assert remote.info.model_id == "smollm2" and remote.info.context_length == 1024
    assert remote.tokenize("<|im_start|>user") == [1, 4093]


def test_remote_matches_the_local_engine(remote, smollm2_engine):
    request = GenerationRequest("The kidney filters", PRESETS["greedy"].updated(max_tokens=12))
    here, there = smollm2_engine.generate(request), remote.generate(request)
    assert there.text == here.text
    assert there.finish_reason == "length" and there.completion_tokens == 12


def test_chat_over_remote_uses_the_same_chat_layer(remote):
    chat = ChatEngine(remote, resolve("smollm2", chat_template="chatml_think"))
    # Greedy: a sampled reply may end (EOS) before its sixth token.
    request = ChatRequest([{"role": "user", "content": "Hi"}], PRESETS["greedy"].updated(max_tokens=6))
    result = chat.complete(request)
    assert result.output.reasoning is not None
    assert result.finish_reason == "length" and result.completion_tokens == 6


def test_unreachable_server_is_a_load_error():
    with pytest.raises(ModelLoadError, match="cannot reach"):
        RemoteEngine("http://127.0.0.1:9/v1")


def test_vllm_command_follows_the_card():
    launch = VLLMLaunch(
        "EpistemeAI/Reasoning-Medical-27B",
        tensor_parallel=4,
        pipeline_parallel=2,
        max_model_len=1_010_000,
        yarn_factor=4.0,
        mtp_tokens=2,
        rope=QWEN3_6.rope,  # the family's rope settings come from its profile
    )
    cmd = launch.command()
    assert cmd[:3] == ["vllm", "serve", "EpistemeAI/Reasoning-Medical-27B"]
    assert cmd[cmd.index("--tensor-parallel-size") + 1] == "4"
    assert cmd[cmd.index("--pipeline-parallel-size") + 1] == "2"
    assert cmd[cmd.index("--max-model-len") + 1] == "1010000"
    import json

    rope = json.loads(cmd[cmd.index("--hf-overrides") + 1])["text_config"]["rope_parameters"]
    assert rope["rope_type"] == "yarn" and rope["factor"] == 4.0
    assert rope["original_max_position_embeddings"] == NATIVE_CONTEXT and rope["mrope_section"] == [
        11,
        11,
        10,
    ]
    spec = json.loads(cmd[cmd.index("--speculative-config") + 1])
    assert spec == {"method": "mtp", "num_speculative_tokens": 2}
    assert launch.environment()["VLLM_ALLOW_LONG_MAX_MODEL_LEN"] == "1"
    plain = VLLMLaunch("m").command()
    assert "--hf-overrides" not in plain and "--speculative-config" not in plain


# -- faults: a scripted upstream (tests/fake_upstream.py) --------------------------------------


@pytest.fixture(scope="module")
def upstream():
    from fake_upstream import FakeUpstream

    fake = FakeUpstream().start()
    yield fake
    fake.stop()


@pytest.fixture
def flaky(upstream):
    engine = RemoteEngine(upstream.base_url, api_key="k")
    yield engine
    engine.close()
    upstream.mode("ok")


def test_an_error_event_mid_stream_is_an_error_not_an_answer(upstream, flaky):
    upstream.mode("error_mid_stream")
    seen = []
    with pytest.raises(EngineError, match="CUDA out of memory"):
        for chunk in flaky.stream(GenerationRequest("The kidney", SamplingParams(max_tokens=8))):
            seen.append(chunk)
    assert [c.text for c in seen] == ["The kidney ", "filters"]
    assert all(c.finish_reason is None for c in seen)


def test_a_stream_cut_short_is_an_error(upstream, flaky):
    upstream.mode("cut")
    with pytest.raises(EngineError, match="cut off"):
        flaky.generate(GenerationRequest("The kidney", SamplingParams(max_tokens=8)))


def test_a_failure_before_any_answer_is_retried(upstream, flaky):
    upstream.mode("busy_once")
    answer = flaky.generate(GenerationRequest("The kidney", SamplingParams(max_tokens=8)))
    assert answer.text == "The kidney filters" and answer.finish_reason == "length"
    assert upstream.script.requests == 2 and upstream.script.keys[-1] == "Bearer k"


def test_a_rejected_request_is_a_bad_request(upstream, flaky):
    upstream.mode("reject")
    with pytest.raises(BadRequest, match="prompt too long"):
        flaky.generate(GenerationRequest("The kidney", SamplingParams(max_tokens=8)))


def test_chat_over_a_failing_remote_raises_so_no_caller_keeps_a_half_answer(upstream, flaky):
    """Evals and distillation call ChatEngine.complete: a half answer must raise there, since
    whatever returns normally would be scored and cached as the model's answer."""
    upstream.mode("error_mid_stream")
    chat = ChatEngine(flaky, resolve("smollm2", chat_template="chatml_think"))
    with pytest.raises(EngineError):
        chat.complete(ChatRequest([{"role": "user", "content": "Hi"}], SamplingParams(max_tokens=6)))


def test_galen_serve_over_a_failing_remote_ends_the_stream_with_an_error_event(upstream, server_factory):
    from openai import APIError, OpenAI

    served = server_factory("--model", upstream.base_url, "--chat-template", "chatml_think")
    client = OpenAI(base_url=served.base_url, api_key="x", max_retries=0)
    messages = [{"role": "user", "content": "Hi"}]
    upstream.mode("error_mid_stream")
    body = {"messages": messages, "max_tokens": 6, "stream": True, "enable_thinking": False}
    with httpx.stream("POST", f"{served.base_url}/chat/completions", json=body, timeout=30) as response:
        lines = [line for line in response.iter_lines() if line]
    assert response.status_code == 200
    assert "CUDA out of memory" in lines[-2] and json.loads(lines[-2][6:])["error"]["type"] == "server_error"
    assert lines[-1] == "data: [DONE]"
    with pytest.raises(APIError, match="CUDA out of memory"):
        for _ in client.chat.completions.create(model="fake", messages=messages, max_tokens=6, stream=True):
            pass
    plain = httpx.post(f"{served.base_url}/chat/completions", json={**body, "stream": False}, timeout=30)
    assert plain.status_code == 500 and "CUDA out of memory" in plain.json()["error"]["message"]
    upstream.mode("ok")


def test_json_schema_reaches_the_remote_and_binds_the_answer_after_the_reasoning(remote):
    # The remote engine sends vLLM's `structured_outputs`, which galen's completions also take.
    import jsonschema

    from galen.chat.output_format import OutputFormat

    schema = {
        "type": "object",
        "properties": {"answer": {"enum": ["A", "B", "C", "D"]}},
        "required": ["answer"],
        "additionalProperties": False,
    }
    chat = ChatEngine(remote, resolve("smollm2", chat_template="chatml_think"))
    request = ChatRequest(
        messages=[{"role": "user", "content": "Scurvy: vitamin A, B, C or D?"}],
        sampling=SamplingParams(max_tokens=48, seed=4),
        thinking_budget=16,
        output_format=OutputFormat.json_schema(schema, "response_format.json_schema.schema"),
    )
    result = chat.complete(request)
    assert result.output.reasoning  # free reasoning first
    jsonschema.validate(json.loads(result.output.content), schema)


def test_remote_engine_refuses_logprobs_naming_the_field(remote):
    chat = ChatEngine(remote, resolve("smollm2", chat_template="chatml_think"))
    with pytest.raises(BadRequest) as info:
        chat.prepare(ChatRequest(messages=[{"role": "user", "content": "hi"}], logprobs=0))
    assert info.value.param == "logprobs"
