"""The Qwen3.6 code path end to end: a tiny random-weight Qwen3.6 model served by transformers."""

from __future__ import annotations

import pytest
from openai import OpenAI

pytestmark = pytest.mark.slow

TOOL = {
    "type": "function",
    "function": {
        "name": "get_lab_result",
        "parameters": {"type": "object", "properties": {"test": {"type": "string"}}, "required": ["test"]},
    },
}


@pytest.fixture(scope="module")
def qwen(qwen_server):
    return OpenAI(base_url=qwen_server.base_url, api_key="x", max_retries=0, timeout=120)


def test_qwen_model_card(qwen):
    model = qwen.models.list().data[0]
    assert model.id == "tiny-qwen3.6"
    assert model.model_extra["family"] == "qwen3.6" and model.model_extra["engine"] == "transformers"
    assert model.model_extra["capabilities"]["tool_format"] == "qwen3_xml"
    assert model.model_extra["capabilities"]["vision"] is True
    assert model.model_extra["capabilities"]["media"] == ["image", "video"]


def test_qwen_thinks_by_default_and_obeys_enable_thinking(qwen):
    messages = [{"role": "user", "content": "What is the normal serum sodium?"}]
    on = qwen.chat.completions.create(model="tiny-qwen3.6", messages=messages, max_tokens=8, seed=1)
    assert on.choices[0].message.reasoning_content is not None
    assert on.choices[0].finish_reason == "length"
    off = qwen.chat.completions.create(
        model="tiny-qwen3.6",
        messages=messages,
        max_tokens=8,
        seed=1,
        extra_body={"chat_template_kwargs": {"enable_thinking": False}},
    )
    assert off.choices[0].message.model_extra.get("reasoning_content") is None
    # "<think>", "\n\n", "</think>", "\n\n" (4 tokens) instead of "<think>", "\n" (2 tokens)
    assert off.usage.prompt_tokens == on.usage.prompt_tokens + 2


def test_qwen_renders_tools_in_its_own_format(qwen):
    plain = qwen.chat.completions.create(
        model="tiny-qwen3.6", messages=[{"role": "user", "content": "x"}], max_tokens=1
    )
    tooled = qwen.chat.completions.create(
        model="tiny-qwen3.6", messages=[{"role": "user", "content": "x"}], tools=[TOOL], max_tokens=1
    )
    assert tooled.usage.prompt_tokens > plain.usage.prompt_tokens + 100
