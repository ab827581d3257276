"""Tests for the streaming output parser (galen.chat.parser)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from galen.chat.parser import Delta, OutputParser, ParsedOutput, parse_output
from galen.models.profile import ThinkTags

THINK = ThinkTags()
QWEN36 = {"think": THINK, "starts_in_reasoning": True}
GEMMA = {"think": ThinkTags()}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "days": {"type": "integer"},
                    "metric": {"type": "boolean"},
                    "options": {"type": "object"},
                },
            },
        },
    },
    {"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}},
]
XML = {**QWEN36, "tool_format": "qwen3_xml", "tools": TOOLS}
JSON = {**QWEN36, "tool_format": "qwen3_json", "tools": TOOLS}

XML_CALL = (
    "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n"
    "<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>"
)
JSON_CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'


def calls(out: ParsedOutput | Delta) -> list[tuple[str, Any]]:
    """(name, decoded arguments); malformed arguments of a known function stay text."""
    return [(c.name, _decoded(c.arguments)) for c in out.tool_calls]


def _decoded(arguments: str) -> Any:
    try:
        return json.loads(arguments)
    except ValueError:
        return arguments


def stream(chunks: list[str], **kwargs: Any) -> tuple[list[Delta], ParsedOutput]:
    """Feed chunks one by one; return every delta (finish() last) and the final result."""
    parser = OutputParser(**kwargs)
    deltas = [parser.feed(c) for c in chunks]
    deltas.append(parser.finish())
    return deltas, parser.result()


def random_split(text: str, rng: random.Random) -> list[str]:
    if len(text) < 2:
        return [text]
    cuts = sorted(rng.sample(range(1, len(text)), rng.randint(0, min(len(text) - 1, 15))))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


def assert_stream_matches(text: str, chunks: list[str], **kwargs: Any) -> list[Delta]:
    """Streaming must release exactly what the one-shot parse returns, and never retract."""
    expected = parse_output(text, **kwargs)
    parser = OutputParser(**kwargs)
    deltas, reasoning, content = [], "", ""
    for chunk in [*chunks, None]:
        delta = parser.feed(chunk) if chunk is not None else parser.finish()
        deltas.append(delta)
        reasoning += delta.reasoning
        content += delta.content
        assert (expected.reasoning or "").startswith(reasoning), (chunks, reasoning)
        assert expected.content.startswith(content), (chunks, content)
    got = parser.result()
    assert reasoning == (expected.reasoning or "") and content == expected.content
    assert got.reasoning == expected.reasoning and got.content == expected.content
    assert calls(got) == calls(expected)
    assert [(c.name, c.arguments) for d in deltas for c in d.tool_calls] == [
        (c.name, c.arguments) for c in expected.tool_calls
    ]
    assert [i.raw for i in got.issues] == [i.raw for i in expected.issues]
    assert got.reasoning_closed == expected.reasoning_closed
    return deltas


# --- reasoning ----------------------------------------------------------------------------


def test_qwen36_reasoning_then_answer() -> None:
    out = parse_output("Let me think.\n</think>\n\nThe answer is B.", **QWEN36)
    assert out.reasoning == "Let me think."
    assert out.content == "The answer is B."
    assert out.reasoning_closed and out.tool_calls == [] and out.issues == []


def test_qwen36_leading_newlines_and_inner_whitespace() -> None:
    out = parse_output("\n\nStep 1.\n\n  Step 2. \n\n</think>\n\n  Answer\n", **QWEN36)
    assert out.reasoning == "Step 1.\n\n  Step 2."
    assert out.content == "Answer\n"


def test_qwen36_truncated_inside_reasoning() -> None:
    out = parse_output("Still thinking about the dose...\n</thi", **QWEN36)
    assert out.reasoning == "Still thinking about the dose...\n</thi"
    assert out.content == ""
    assert out.reasoning_closed is False


def test_qwen36_empty_output_is_unclosed_empty_reasoning() -> None:
    out = parse_output("", **QWEN36)
    assert (out.reasoning, out.content, out.reasoning_closed) == ("", "", False)


def test_qwen36_empty_reasoning() -> None:
    out = parse_output("\n\n</think>\n\nHi", **QWEN36)
    assert out.reasoning == "" and out.content == "Hi" and out.reasoning_closed


def test_plain_text_tags_at_start() -> None:
    out = parse_output("<think>weighing options</think>answer", **GEMMA)
    assert out.reasoning == "weighing options" and out.content == "answer"
    out = parse_output("  \n<think>\nx\n</think>\n\ny", **GEMMA)
    assert out.reasoning == "x" and out.content == "y"


def test_think_tag_later_in_text_is_content() -> None:
    text = "Answer first. <think>not reasoning</think> done"
    out = parse_output(text, **GEMMA)
    assert out.reasoning is None and out.content == text and out.reasoning_closed


def test_no_think_tags_means_all_content() -> None:
    text = "<think>x</think>y"
    for kwargs in ({}, {"think": None, "starts_in_reasoning": True}):
        out = parse_output(text, **kwargs)
        assert out.reasoning is None and out.content == text


def test_custom_think_tags() -> None:
    out = parse_output("[THINK]hmm[/THINK] ok", think=ThinkTags("[THINK]", "[/THINK]"))
    assert out.reasoning == "hmm" and out.content == "ok"


def test_start_tag_prefix_that_turns_out_to_be_content() -> None:
    out = parse_output("<thought>hi", **GEMMA)
    assert out.reasoning is None and out.content == "<thought>hi"
    out = parse_output("<th", **GEMMA)
    assert out.reasoning is None and out.content == "<th"


# --- partial tags are never leaked --------------------------------------------------------


def test_char_by_char_never_leaks_tag_fragments() -> None:
    text = "<think>abc def</think>\n\nThe answer."
    deltas, out = stream(list(text), **GEMMA)
    assert out.reasoning == "abc def" and out.content == "The answer."
    assert all("<" not in d.reasoning and "<" not in d.content for d in deltas)
    assert "".join(d.reasoning for d in deltas) == "abc def"
    # reasoning is released while it streams, not only at the end
    assert deltas[text.index(" def")].reasoning == ""  # the space waits for what follows
    assert deltas[text.index("def")].reasoning == " d"


def test_partial_close_tag_held_then_released_as_reasoning() -> None:
    parser = OutputParser(**QWEN36)
    assert parser.feed("a </thi").reasoning == "a"
    assert parser.feed("ng").reasoning == " </thing"
    assert parser.feed("</think>b") == Delta(content="b")
    assert not parser.finish()


def test_partial_tool_tag_held_in_content() -> None:
    parser = OutputParser(**XML)
    parser.feed("x</think>Sure. <tool")
    assert parser.feed("_c") == Delta()
    assert parser.feed("all>").content == ""
    delta = parser.feed(XML_CALL[len("<tool_call>") :])
    assert calls(delta) == [("get_weather", {"city": "Paris", "days": 3})]
    assert parser.finish() == Delta()
    assert parser.result().content == "Sure."


def test_lone_lt_is_released_once_disambiguated() -> None:
    parser = OutputParser(**XML)
    assert parser.feed("x</think>a <").content == "a"
    assert parser.feed(" b").content == " < b"


# --- tool calls ---------------------------------------------------------------------------


def test_json_tool_call() -> None:
    out = parse_output("ok</think>\n\n" + JSON_CALL, **JSON)
    assert out.content == ""
    assert calls(out) == [("get_weather", {"city": "Paris"})]
    assert out.tool_calls[0].id.startswith("call_")


def test_xml_tool_call_typed_params() -> None:
    block = (
        "<tool_call>\n<function=get_weather>\n<parameter=city>\nNew\nYork\n</parameter>\n"
        "<parameter=days>\n5\n</parameter>\n<parameter=metric>\nfalse\n</parameter>\n"
        '<parameter=options>\n{"hourly": true}\n</parameter>\n</function>\n</tool_call>'
    )
    out = parse_output("ok</think>" + block, **XML)
    assert calls(out) == [
        ("get_weather", {"city": "New\nYork", "days": 5, "metric": False, "options": {"hourly": True}})
    ]
    assert out.tool_calls[0].arguments.startswith('{"city": "New\\nYork", "days": 5')


def test_multiple_calls_and_content_before_first() -> None:
    text = "ok</think>\n\nLet me check both.\n\n" + XML_CALL + "\n" + XML_CALL + "\n\n"
    out = parse_output(text, **XML)
    assert out.content == "Let me check both."
    assert [c[0] for c in calls(out)] == ["get_weather", "get_weather"]
    assert out.tool_calls[0].id != out.tool_calls[1].id


def test_bare_function_block_without_tool_call_wrapper() -> None:
    text = "ok</think>Checking.\n<function=search>\n<parameter=q>\nflu\n</parameter>\n</function>"
    out = parse_output(text, **XML)
    assert out.content == "Checking." and calls(out) == [("search", {"q": "flu"})]


def test_bare_function_is_plain_text_in_json_format() -> None:
    text = "ok</think><function=search>\n</function>"
    assert parse_output(text, **JSON).content == "<function=search>\n</function>"


def test_broken_json_block_is_issue_and_content() -> None:
    bad = '<tool_call>\n{"name": "get_weather" "arguments" {"city": "Paris"}}</tool_call>'
    out = parse_output("ok</think>Trying.\n" + bad + "\n" + JSON_CALL, **JSON)
    assert out.content == "Trying.\n" + bad
    assert calls(out) == [("get_weather", {"city": "Paris"})]
    assert len(out.issues) == 1 and out.issues[0].raw == bad
    assert out.issues[0].reason.startswith("invalid JSON in tool call")


@pytest.mark.parametrize(
    ("text", "fmt", "raw_arguments"),
    [
        ('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"</tool_call>', JSON,
         '{"city": "Paris"'),
        ('<tool_call>\n{"name": "get_weather", "arguments": {"city": Paris}}\n</tool_call>', JSON,
         '{"city": Paris}'),
        ('<tool_call>\n{"name": "search", "arguments": "{oops"}\n</tool_call>', JSON, "{oops"),
        ("<tool_call>\n<function=get_weather>\ncity=Paris\n</function>\n</tool_call>", XML, "city=Paris"),
    ],
)  # fmt: skip
def test_bad_arguments_of_a_known_function_go_out_as_written(text, fmt, raw_arguments) -> None:
    # As OpenAI's API does: the client's agent turns them into a tool error the model sees.
    out = parse_output("ok</think>" + text, **fmt)
    assert out.content == "" and len(out.tool_calls) == 1 and len(out.issues) == 1
    assert out.tool_calls[0].arguments == raw_arguments and out.issues[0].raw == text


def test_unknown_function_with_tools_is_issue() -> None:
    bad = '<tool_call>\n{"name": "launch", "arguments": {}}\n</tool_call>'
    out = parse_output("ok</think>" + bad, **JSON)
    assert out.tool_calls == [] and out.content == bad
    assert "unknown function 'launch'" in out.issues[0].reason


def test_unclosed_block_at_finish_is_tried_as_is() -> None:
    text = 'ok</think><tool_call>\n{"name": "search", "arguments": {"q": "x"}}\n'
    out = parse_output(text, **JSON)
    assert calls(out) == [("search", {"q": "x"})] and out.content == "" and out.issues == []


def test_unclosed_broken_block_at_finish_goes_to_content() -> None:
    text = 'ok</think>Well <tool_call>\n{"name": "search", "argu'
    out = parse_output(text, **JSON)
    assert out.tool_calls == [] and out.content == "Well <tool_call>\n" + '{"name": "search", "argu'
    assert out.issues[0].raw == '<tool_call>\n{"name": "search", "argu'


def test_tool_parsing_off_without_tools() -> None:
    text = "ok</think>" + JSON_CALL
    for tools in (None, []):
        out = parse_output(text, think=THINK, starts_in_reasoning=True, tool_format="qwen3_json", tools=tools)
        assert out.content == JSON_CALL and out.tool_calls == [] and out.issues == []
    assert parse_output(text, think=THINK, starts_in_reasoning=True, tools=TOOLS).content == JSON_CALL


def test_tool_call_inside_reasoning_is_reasoning() -> None:
    out = parse_output(JSON_CALL + "</think>done", **JSON)
    assert out.reasoning == JSON_CALL and out.content == "done" and out.tool_calls == []


def test_trailing_whitespace_kept_when_no_call() -> None:
    assert parse_output("ok</think>Hi there \n", **JSON).content == "Hi there \n"


def test_unknown_tool_format_rejected() -> None:
    with pytest.raises(ValueError, match="unknown tool-call format"):
        OutputParser(tool_format="hermes", tools=TOOLS)  # type: ignore[arg-type]


def test_feed_after_finish_and_double_finish() -> None:
    parser = OutputParser(**QWEN36)
    parser.feed("a</think>b")
    assert parser.finish() == Delta() and parser.finish() == Delta()
    with pytest.raises(RuntimeError):
        parser.feed("c")


def test_delta_truthiness() -> None:
    assert not Delta()
    assert Delta(reasoning="x") and Delta(content="y")
    assert Delta(tool_calls=parse_output("x</think>" + JSON_CALL, **JSON).tool_calls)


# --- streaming equals non-streaming -------------------------------------------------------

CASES: list[tuple[str, dict[str, Any]]] = [
    ("Let me think.\n</think>\n\nThe answer is B.", QWEN36),
    ("\n\n</think>\n\nHi", QWEN36),
    ("\nA < B and </th is not a tag. \n \n</think>  \n<think> stays content </think>", QWEN36),
    ("truncated reasoning \n </thin", QWEN36),
    ("  <think>\nGemma style \n</think>\n\nanswer <thi", GEMMA),
    ("<thinking>not a tag</think>", GEMMA),
    ("plain <think> text", {}),
    ("hmm</think>\n\nLet me look.\n\n" + XML_CALL + "\n" + XML_CALL + "\n\n", XML),
    (
        "hmm</think>Try:\n<function=search>\n<parameter=q>\na < b\n</parameter>\n</function> \n"
        "then <tool_call>\n<function=nope>\n</function>\n</tool_call> after <tool_ca",
        XML,
    ),
    (
        'x</think>\n<tool_call>\n{"name": "search", "arguments": {"q": 1}}\n</tool_call>\n'
        '<tool_call>{"name": bad}</tool_call>\n\n  \n<tool_call>\n{"name": "search", "arg',
        JSON,
    ),
    ("x</think> <tool_call>\n" + '{"name": "search"}', JSON),
]


@pytest.mark.parametrize(("text", "kwargs"), CASES)
def test_char_by_char_matches_one_shot(text: str, kwargs: dict[str, Any]) -> None:
    assert_stream_matches(text, list(text), **kwargs)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("text", "kwargs"), CASES)
def test_random_splits_match_one_shot(text: str, kwargs: dict[str, Any], seed: int) -> None:
    rng = random.Random(seed * 7919 + len(text))
    for _ in range(50):
        assert_stream_matches(text, random_split(text, rng), **kwargs)


def test_random_texts_from_fragments_match_one_shot() -> None:
    """Random mixes of tag fragments and text, split randomly: the strongest consistency check."""
    pieces = ["<think>", "</think>", "<", "</", "</th", "\n", " ", "a", "b c", "<tool_call>",
              "</tool_call>", "<tool_", "<function=search>", "</function>", "<parameter=q>",
              "</parameter>", '{"name": "search", "arguments": {}}', "<function="]  # fmt: skip
    rng = random.Random(1234)
    for i in range(300):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        kwargs = [QWEN36, GEMMA, XML, JSON, {}][i % 5]
        assert_stream_matches(text, random_split(text, rng), **kwargs)
        assert_stream_matches(text, list(text), **kwargs)


def test_streamed_deltas_keep_tag_fragments_out_of_content() -> None:
    text = "r</think>\n\nHello <tool_call>\n" + JSON_CALL[len("<tool_call>\n") :] + "\n"
    rng = random.Random(7)
    for _ in range(200):
        deltas = assert_stream_matches(text, random_split(text, rng), **JSON)
        released = "".join(d.content for d in deltas)
        assert released == "Hello"
        assert all("<" not in d.content and "<" not in d.reasoning for d in deltas)
