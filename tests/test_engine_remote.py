"""The remote engine (vLLM, or any OpenAI-compatible server) pointed at a running galen."""

from __future__ import annotations

import pytest

from galen.engine.base import GenerationRequest
from galen.engine.chat import ChatEngine, ChatRequest
from galen.engine.remote import RemoteEngine
from galen.engine.sampling import PRESETS, SamplingParams
from galen.engine.vllm import NATIVE_CONTEXT, VLLMLaunch
from galen.errors import ModelLoadError
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
    result = chat.complete(ChatRequest([{"role": "user", "content": "Hi"}], SamplingParams(max_tokens=6)))
    assert result.output.reasoning is not None and result.completion_tokens == 6


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
