"""POST /v1/messages and /v1/messages/count_tokens through the real `anthropic` SDK against a
real `galen serve` (the session's embedded SmolLM2, which thinks by default)."""

from __future__ import annotations

import json

import anthropic
import httpx
import jsonschema
import pytest

ASK = [{"role": "user", "content": "Define oliguria."}]
LAB_TOOL = {
    "name": "get_lab_result",
    "description": "Latest value of a laboratory test for the current patient",
    "input_schema": {
        "type": "object",
        "properties": {
            "test": {"type": "string", "maxLength": 32},
            "days_back": {"type": "integer", "maximum": 365},
        },
        "required": ["test", "days_back"],
    },
}
THINK = {"type": "enabled", "budget_tokens": 12}
# Recent SDKs no longer take temperature as an argument; the API (and galen) still do.
GREEDY = {"extra_body": {"temperature": 0, "seed": 1}}


@pytest.fixture(scope="module")
def claude(server):
    return anthropic.Anthropic(base_url=server.url, api_key="EMPTY", max_retries=0, timeout=120)


def _create(claude, **kwargs):
    body = {"model": "smollm2", "max_tokens": 40, "messages": ASK, **GREEDY, **kwargs}
    return claude.messages.create(**body)


def test_thinking_enabled_gives_a_thinking_block_then_text(claude):
    message = _create(claude, thinking=THINK, system="Answer in one short sentence.")
    assert message.type == "message" and message.role == "assistant" and message.id.startswith("msg_")
    kinds = [block.type for block in message.content]
    assert kinds[0] == "thinking" and "text" in kinds, kinds
    assert message.content[0].thinking and len(message.content[0].signature) == 64
    assert message.stop_reason in ("end_turn", "max_tokens")
    assert message.usage.input_tokens > 0 and 0 < message.usage.output_tokens <= 40


def test_thinking_disabled_gives_text_only(claude):
    message = _create(claude, thinking={"type": "disabled"})
    assert [block.type for block in message.content] == ["text"]


def test_stream_events_in_anthropic_order_and_equal_to_non_stream(claude):
    whole = _create(claude, thinking=THINK)
    with claude.messages.stream(
        model="smollm2", max_tokens=40, messages=ASK, thinking=THINK, **GREEDY
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()
    kinds = [e.type for e in events if e.type in _RAW]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    opened: list[int] = []
    starts = [e.index for e in events if e.type == "content_block_start"]
    assert starts == list(range(len(final.content))) and len(starts) >= 2
    for event in events:
        if event.type == "content_block_start":
            assert not opened
            opened.append(event.index)
        elif event.type == "content_block_delta":
            assert opened == [event.index]
        elif event.type == "content_block_stop":
            assert opened == [event.index]
            opened.clear()
    assert [b.model_dump() for b in final.content] == [b.model_dump() for b in whole.content]
    assert final.stop_reason == whole.stop_reason and final.usage.output_tokens == whole.usage.output_tokens


_RAW = {"message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta",
        "message_stop"}  # fmt: skip


@pytest.mark.parametrize("stream", [False, True])
def test_forced_tool_use_then_tool_result(claude, stream):
    ask = {
        "messages": [{"role": "user", "content": "What is the patient's latest creatinine?"}],
        "tools": [LAB_TOOL],
        "tool_choice": {"type": "tool", "name": "get_lab_result"},
        "max_tokens": 120,
    }
    if stream:
        with claude.messages.stream(model="smollm2", thinking=THINK, **ask, **GREEDY) as events:
            first = events.get_final_message()
    else:
        first = _create(claude, thinking=THINK, **ask)
    assert first.stop_reason == "tool_use"
    calls = [block for block in first.content if block.type == "tool_use"]
    assert len(calls) == 1 and calls[0].name == "get_lab_result"
    assert isinstance(calls[0].input["test"], str) and isinstance(calls[0].input["days_back"], int)
    history = [*ask["messages"], {"role": "assistant", "content": [b.model_dump() for b in first.content]},
               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": calls[0].id,
                                             "content": "1.9 mg/dL"}]}]  # fmt: skip
    none, off = {"type": "none"}, {"type": "disabled"}  # no tools shown now: it answers in text
    second = _create(claude, messages=history, tools=[LAB_TOOL], tool_choice=none, thinking=off)
    assert second.content[0].type == "text" and second.stop_reason in ("end_turn", "max_tokens")


def _stopped(claude, **kwargs):
    """An answer, then the same request stopped at its third word: (full, cut)."""
    plain = _create(claude, thinking={"type": "disabled"}, **kwargs)
    words = plain.content[0].text.split()
    assert len(words) > 3, plain.content[0].text
    cut = _create(claude, thinking={"type": "disabled"}, stop_sequences=["never-there", words[2]], **kwargs)
    assert words[2] not in cut.content[0].text and plain.content[0].text.startswith(cut.content[0].text)
    return words[2], cut


def test_stop_sequences_cut_the_answer(claude):
    """llama.cpp does not say which stop string ended a generation, so the reason is end_turn."""
    _, cut = _stopped(claude)
    assert cut.stop_reason == "end_turn" and cut.stop_sequence is None


def test_stop_sequence_is_reported_where_the_engine_says_which(qwen_server):
    """The transformers engine (tiny-qwen3.6) reports the stop string, as Anthropic does."""
    claude = anthropic.Anthropic(base_url=qwen_server.url, api_key="EMPTY", max_retries=0, timeout=120)
    stop, cut = _stopped(claude, model="EpistemeAI/Reasoning-Medical-27B")
    assert cut.stop_reason == "stop_sequence" and cut.stop_sequence == stop


def test_thinking_display_omitted_keeps_only_the_signature(claude):
    shown = _create(claude, thinking=THINK, max_tokens=16)
    hidden = _create(claude, thinking={**THINK, "display": "omitted"}, max_tokens=16)
    assert shown.content[0].thinking and hidden.content[0].thinking == ""
    assert hidden.content[0].signature == shown.content[0].signature


def test_count_tokens_matches_the_rendered_prompt(claude, server):
    system = "You are careful."
    counted = claude.messages.count_tokens(model="smollm2", system=system, messages=ASK)
    chat = [{"role": "system", "content": system}, *ASK]
    tokenized = httpx.post(f"{server.url}/tokenize", json={"messages": chat}, timeout=60).json()
    assert counted.input_tokens == tokenized["count"] > 0
    with_tools = claude.messages.count_tokens(model="smollm2", system=system, messages=ASK, tools=[LAB_TOOL])
    assert with_tools.input_tokens > counted.input_tokens


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"messages": ASK}, "max_tokens"),
        ({"max_tokens": 8, "messages": []}, "messages"),
        ({"max_tokens": 8, "messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
        ({"max_tokens": 8, "messages": [{"role": "user", "content": [{"type": "document"}]}]},
         "messages[0].content[0].type"),
        ({"max_tokens": 8, "messages": [{"role": "user", "content": [{"type": "tool_result"}]}]},
         "messages[0].content[0].tool_use_id"),
        ({"max_tokens": 8, "messages": [{"role": "user", "content": [{"type": "thinking"}]}]},
         "messages[0].content[0].type"),
        ({"max_tokens": 8, "messages": ASK, "thinking": {"type": "on"}}, "thinking.type"),
        ({"max_tokens": 8, "messages": ASK, "thinking": {"type": "enabled", "budget_tokens": -1}},
         "thinking.budget_tokens"),
        ({"max_tokens": 8, "messages": ASK, "temperature": 1.5}, "temperature"),
        ({"max_tokens": 8, "messages": ASK, "stop_sequences": [""]}, "stop_sequences"),
        ({"max_tokens": 8, "messages": ASK, "tools": [{"type": "web_search_20250305", "name": "web"}]},
         "tools[0].type"),
        ({"max_tokens": 8, "messages": ASK, "tools": [LAB_TOOL],
          "tool_choice": {"type": "tool", "name": "x"}},
         "tool_choice.name"),
        ({"max_tokens": 8, "messages": ASK, "tool_choice": {"type": "any"}}, "tool_choice"),
        ({"max_tokens": 8, "messages": ASK, "mcp_servers": [{"url": "http://x"}]}, "mcp_servers"),
        ({"max_tokens": 8, "messages": ASK, "output_config": {"format": {"type": "json_schema"}}},
         "output_config.format.schema"),
        ({"max_tokens": 8, "messages": ASK,
          "output_config": {"format": {"type": "json_schema", "schema": {"type": 5}}}},
         "output_config.format.schema"),
    ],
)  # fmt: skip
def test_bad_requests_are_anthropic_400s_naming_the_field(server, body, field):
    response = httpx.post(f"{server.url}/v1/messages", json={"model": "smollm2", **body}, timeout=60)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error", error
    assert error["error"]["message"].startswith(f"{field}:"), error
    assert "Traceback" not in error["error"]["message"]


def test_sdk_raises_its_own_errors(claude, server):
    with pytest.raises(anthropic.BadRequestError) as caught:
        _create(claude, messages=[{"role": "user", "content": [{"type": "search_result"}]}])
    assert "messages[0].content[0].type" in caught.value.message
    with pytest.raises(anthropic.NotFoundError):
        claude.messages.create(model="claude-opus-9", max_tokens=8, messages=ASK)
    bad_json = httpx.post(f"{server.url}/v1/messages", content=b"{nope", timeout=30)
    assert bad_json.status_code == 400 and bad_json.json()["type"] == "error"


def test_output_config_format_constrains_the_answer(claude):
    schema = {"type": "object", "properties": {"answer": {"type": "string", "enum": ["A", "B", "C", "D"]}},
              "required": ["answer"], "additionalProperties": False}  # fmt: skip
    question = [{"role": "user", "content": "Which vitamin deficiency causes scurvy? A) A B) B12 C) C D) D"}]
    message = _create(claude, messages=question, max_tokens=48, thinking={"type": "disabled"},
                      output_config={"format": {"type": "json_schema", "schema": schema}})  # fmt: skip
    jsonschema.validate(json.loads(message.content[0].text), schema)
