"""Responses items and Anthropic blocks -> chat messages, the block assembler and the bounded
response store: the parts of /v1/responses and /v1/messages that need no model."""

from __future__ import annotations

import pytest

from galen.chat.parser import Delta
from galen.chat.tool_calls import ToolCall
from galen.errors import BadRequest
from galen.serve.blocks import BlockAssembler
from galen.serve.messages_input import chat_messages
from galen.serve.messages_protocol import CountTokensRequest
from galen.serve.responses_input import input_messages
from galen.serve.responses_store import ResponseStore


def test_responses_items_group_into_chat_turns():
    items = [
        {"role": "developer", "content": "Be brief."},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "K+ is "},
                                                       {"type": "input_text", "text": "6.1"}]},
        {"type": "reasoning", "id": "rs_1", "summary": [],
         "content": [{"type": "reasoning_text", "text": "Check"}]},
        {"type": "function_call", "call_id": "call_1", "name": "lab", "arguments": '{"test": "K"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "6.1 mmol/L"},
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "High."}]},
        {"role": "assistant", "content": [{"type": "output_text", "text": "Hyperkalaemia."}]},
        {"role": "user", "content": "Why?"},
    ]  # fmt: skip
    assert input_messages(items, vision=False) == [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": "K+ is 6.1"},
        {
            "role": "assistant",
            "content": "",
            "reasoning_content": "Check",
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "lab", "arguments": {"test": "K"}}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "6.1 mmol/L"},
        {"role": "assistant", "content": "Hyperkalaemia.", "reasoning_content": "High."},
        {"role": "user", "content": "Why?"},
    ]
    assert input_messages("hello", vision=False) == [{"role": "user", "content": "hello"}]


@pytest.mark.parametrize(
    ("items", "param"),
    [
        (["just text"], "input[0]"),
        ([{"type": "web_search_call", "id": "ws"}], "input[0].type"),
        ([{"type": "item_reference", "id": "msg_1"}], "input[0].type"),
        ([{"type": "function_call", "name": "f", "arguments": "{}"}], "input[0].call_id"),
        (
            [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{nope"}],
            "input[0].arguments",
        ),
        ([{"type": "function_call", "call_id": "c", "name": "f", "arguments": "[1]"}], "input[0].arguments"),
        ([{"type": "function_call_output", "output": "x"}], "input[0].call_id"),
        ([{"role": "wizard", "content": "x"}], "input[0].role"),
        ([{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}], "input[0].content[0].type"),
        (
            [{"role": "user", "content": [{"type": "input_image", "image_url": "data:,"}]}],
            "input[0].content[0]",
        ),
        ([{"role": "user", "content": "a"}, {"type": "reasoning", "summary": "x"}], "input[1].summary"),
    ],
)
def test_bad_responses_items_name_the_field(items, param):
    with pytest.raises(BadRequest) as caught:
        input_messages(items, vision=False)
    assert caught.value.param == param


def _anthropic(**body) -> CountTokensRequest:
    return CountTokensRequest.model_validate(body)


def test_anthropic_blocks_become_chat_messages():
    body = _anthropic(
        system=[{"type": "text", "text": "You are careful."}],
        messages=[
            {"role": "user", "content": "Latest potassium?"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Look it up.", "signature": "x"},
                {"type": "redacted_thinking", "data": "opaque"},
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "lab", "input": {"test": "K"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1",
                 "content": [{"type": "text", "text": "6.1"}]},
                {"type": "text", "text": "Is that high?"},
            ]},
        ],
    )  # fmt: skip
    assert chat_messages(body, vision=False) == [
        {"role": "system", "content": "You are careful."},
        {"role": "user", "content": "Latest potassium?"},
        {
            "role": "assistant",
            "content": "Checking.",
            "reasoning_content": "Look it up.",
            "tool_calls": [
                {"id": "toolu_1", "type": "function", "function": {"name": "lab", "arguments": {"test": "K"}}}
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_1", "content": "6.1"},
        {"role": "user", "content": "Is that high?"},
    ]


@pytest.mark.parametrize(
    ("content", "role", "param"),
    [
        ([{"type": "document", "source": {}}], "user", "messages[0].content[0].type"),
        ([{"type": "tool_use", "id": "t", "name": "f", "input": {}}], "user", "messages[0].content[0].type"),
        ([{"type": "tool_result", "content": "x"}], "user", "messages[0].content[0].tool_use_id"),
        ([{"type": "text"}], "user", "messages[0].content[0].text"),
        (["plain"], "user", "messages[0].content[0]"),
        (
            [{"type": "image", "source": {"type": "url", "url": "http://x/y.png"}}],
            "user",
            "messages[0].content[0]",
        ),
        ([{"type": "image", "source": {"type": "base64"}}], "user", "messages[0].content[0].source"),
        ([{"type": "tool_result", "tool_use_id": "t"}], "assistant", "messages[0].content[0].type"),
        (
            [{"type": "tool_use", "id": "t", "name": "f", "input": "x"}],
            "assistant",
            "messages[0].content[0].input",
        ),
        ([{"type": "thinking"}], "assistant", "messages[0].content[0].thinking"),
    ],
)
def test_bad_anthropic_blocks_name_the_field(content, role, param):
    body = _anthropic(messages=[{"role": role, "content": content}])
    with pytest.raises(BadRequest) as caught:
        chat_messages(body, vision=False)
    assert caught.value.param == param


def test_block_assembler_orders_blocks_and_keeps_one_call_unless_parallel():
    calls = [ToolCall("a", "{}", id="call_a"), ToolCall("b", '{"x": 1}', id="call_b")]
    deltas = [Delta(reasoning="th"), Delta(reasoning="ink"), Delta(content="So"), Delta(tool_calls=calls)]
    assembler = BlockAssembler()
    kinds = [(e.kind, e.block.kind) for d in deltas for e in assembler.feed(d)] + [
        (e.kind, e.block.kind) for e in assembler.finish()
    ]
    assert kinds == [
        ("start", "reasoning"), ("delta", "reasoning"), ("delta", "reasoning"), ("stop", "reasoning"),
        ("start", "text"), ("delta", "text"), ("stop", "text"),
        ("start", "tool_call"), ("stop", "tool_call"), ("start", "tool_call"), ("stop", "tool_call"),
    ]  # fmt: skip
    assert [b.text for b in assembler.blocks[:2]] == ["think", "So"]
    assert assembler.blocks[3].arguments == {"x": 1}
    single = BlockAssembler(parallel_tool_calls=False)
    single.feed(Delta(tool_calls=calls))
    assert [c.name for c in single.calls] == ["a"]


def test_response_store_is_bounded_by_count_and_size():
    store = ResponseStore(max_items=2, max_chars=10_000)
    for i in range(3):
        store.put(f"r{i}", [{"role": "user", "content": "x"}], {"id": f"r{i}"})
    assert store.get("r0") is None and store.get("r1") and store.get("r2") and len(store) == 2
    store.get("r1")  # used: r2 is now the oldest
    store.put("r3", [], {"id": "r3"})
    assert store.get("r2") is None and store.get("r1") is not None
    big = [{"role": "user", "content": "y" * 6_000}]
    store.put("b1", big, {})
    store.put("b2", big, {})
    assert store.get("b1") is None and store.get("b2") is not None and store.chars <= 10_000
    store.put("huge", [{"role": "user", "content": "z" * 20_000}], {})
    assert store.get("huge") is None  # larger than the whole store: never kept
    assert ResponseStore(max_items=0).put("r", [], {}) is None and len(ResponseStore(max_items=0)) == 0
