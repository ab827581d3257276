"""The chat layer over engines in-process: thinking, budgets, forced calls, the 27B code path."""

from __future__ import annotations

import pytest

from galen.engine.chat import NO_BUDGET, ChatEngine, ChatRequest
from galen.engine.sampling import SamplingParams
from galen.models.source import resolve

ASK = [{"role": "user", "content": "Which electrolyte disturbance follows rhabdomyolysis?"}]


@pytest.fixture(scope="module")
def chat(smollm2_engine):
    return ChatEngine(smollm2_engine, resolve("smollm2", chat_template="chatml_think"))


def test_thinking_on_by_default_for_thinking_families(chat):
    prompt = chat.render(ChatRequest(ASK))
    assert prompt.thinking and prompt.starts_in_reasoning
    off = chat.render(ChatRequest(ASK, enable_thinking=False))
    assert not off.thinking and not off.starts_in_reasoning and off.tokens > prompt.tokens


def test_stream_events_add_up_to_the_result(chat):
    request = ChatRequest(ASK, SamplingParams(max_tokens=30, seed=8))
    events = list(chat.stream(request))
    result = chat.complete(request)
    assert "".join(e.delta.reasoning for e in events) == (result.output.reasoning or "")
    assert "".join(e.delta.content for e in events) == result.output.content
    assert events[-1].output == result.output or events[-1].output.content == result.output.content


def test_thinking_budget_forces_an_answer(chat):
    result = chat.complete(ChatRequest(ASK, SamplingParams(max_tokens=40, seed=2), thinking_budget=5))
    assert result.output.reasoning_closed
    assert result.completion_tokens <= 40


def test_the_embedded_default_budget_and_what_replaces_it(chat):
    """SmolLM2's default of 32 tokens belongs to the embedded model, not to its template's
    family: the same weights loaded from their path have none."""
    assert chat.thinking_budget(ChatRequest(ASK)) == 32
    assert chat.thinking_budget(ChatRequest(ASK, thinking_budget=5)) == 5
    assert chat.thinking_budget(ChatRequest(ASK, thinking_budget=0)) == 0
    assert chat.thinking_budget(ChatRequest(ASK, thinking_budget=NO_BUDGET)) is None
    same_weights = resolve(chat.source.location, chat_template="chatml_think")
    assert same_weights.profile.family == "chatml-think" and same_weights.thinking_budget is None
    assert resolve("smollm2").thinking_budget is None  # its own ChatML template: it never thinks


def test_max_tokens_past_the_window_is_clamped(chat):
    prepared = chat.prepare(ChatRequest(ASK, SamplingParams(max_tokens=81920)))
    assert prepared.budget == chat.engine.info.context_length - prepared.prompt.tokens


def test_forced_named_call_parses(chat):
    tool = {
        "type": "function",
        "function": {
            "name": "order_test",
            "parameters": {
                "type": "object",
                "properties": {"test": {"type": "string"}},
                "required": ["test"],
            },
        },
    }
    request = ChatRequest(
        ASK,
        SamplingParams(max_tokens=80, seed=1),
        tools=[tool],
        tool_choice={"type": "function", "function": {"name": "order_test"}},
        thinking_budget=8,
    )
    result = chat.complete(request)
    assert [c.name for c in result.output.tool_calls] == ["order_test"]
    assert result.output.reasoning_closed


@pytest.mark.slow
def test_tiny_qwen3_6_runs_the_27b_code_path(tiny_qwen_cache, monkeypatch):
    """Real Qwen3.6 tokenizer and template, hybrid DeltaNet/attention weights, transformers engine."""
    from galen.engine.registry import load_engine

    monkeypatch.setenv("GALEN_CACHE", str(tiny_qwen_cache))
    source = resolve("tiny-qwen3.6")
    assert source.profile.family == "qwen3.6" and source.profile.tool_format == "qwen3_xml"
    with load_engine(source) as engine:
        chat = ChatEngine(engine, source)
        assert engine.info.name == "transformers"
        result = chat.complete(ChatRequest(ASK, SamplingParams(max_tokens=12, seed=0)))
        # Random weights never close the think block: everything is reasoning, cut by length.
        assert result.finish_reason == "length" and result.output.content == ""
        assert result.output.reasoning is not None and result.completion_tokens == 12
        budget = chat.complete(ChatRequest(ASK, SamplingParams(max_tokens=12, seed=0), thinking_budget=4))
        assert budget.output.reasoning_closed


def test_images_on_a_vision_model_are_refused_until_an_engine_takes_them(smollm2_engine):
    from dataclasses import replace

    from galen.errors import BadRequest

    vision = replace(resolve("smollm2", chat_template="qwen3_6"), vision=True)
    chat = ChatEngine(smollm2_engine, vision)
    parts = [{"type": "image_url", "image_url": {"url": "x"}}, {"type": "text", "text": "Where is this?"}]
    with pytest.raises(BadRequest) as info:
        chat.render(ChatRequest([{"role": "user", "content": parts}]))
    assert info.value.code == "media_not_supported"


def test_thinking_budget_zero_closes_the_think_block_at_once(chat):
    result = chat.complete(ChatRequest(ASK, SamplingParams(max_tokens=12, seed=2), thinking_budget=0))
    assert result.output.reasoning == "" and result.output.reasoning_closed
