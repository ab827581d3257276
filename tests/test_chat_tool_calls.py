"""Tests for parsing single tool-call blocks (galen.chat.tool_calls)."""

from __future__ import annotations

import json

import pytest

from galen.chat.tool_calls import ToolCall, ToolCallIssue, new_call_id, parse_tool_block

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
                    "tags": {"type": "array"},
                    "ratio": {"type": "number"},
                    "note": {"type": ["string", "null"]},
                },
            },
        },
    },
    {"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}},
]


def xml_block(name: str, **params: str) -> str:
    """Render a block the way the Qwen3.6 template does."""
    body = "".join(f"<parameter={k}>\n{v}\n</parameter>\n" for k, v in params.items())
    return f"\n<function={name}>\n{body}</function>\n"


def args_of(call: ToolCall) -> dict:
    return json.loads(call.arguments)


def test_call_ids_are_openai_style_and_unique() -> None:
    ids = {new_call_id() for _ in range(50)}
    assert len(ids) == 50
    for cid in ids:
        assert cid.startswith("call_") and len(cid) == 5 + 24
        int(cid[5:], 16)
    assert ToolCall("f", "{}").id != ToolCall("f", "{}").id


def test_issue_dataclass_fields() -> None:
    issue = ToolCallIssue(raw="<tool_call>x</tool_call>", reason="bad")
    assert issue.raw == "<tool_call>x</tool_call>" and issue.reason == "bad"


# --- qwen3_json ---------------------------------------------------------------------------


def test_json_basic() -> None:
    call = parse_tool_block('\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n', "qwen3_json")
    assert call.name == "get_weather"
    assert call.arguments == '{"city": "Paris"}'


def test_json_parameters_key_and_string_arguments() -> None:
    call = parse_tool_block('{"name": "f", "parameters": {"a": 1}}', "qwen3_json")
    assert args_of(call) == {"a": 1}
    call = parse_tool_block('{"name": "f", "arguments": "{\\"a\\": [1, 2]}"}', "qwen3_json")
    assert args_of(call) == {"a": [1, 2]}


def test_json_missing_arguments_is_empty_object() -> None:
    assert parse_tool_block('{"name": "f"}', "qwen3_json").arguments == "{}"


def test_json_keeps_non_ascii() -> None:
    call = parse_tool_block('{"name": "f", "arguments": {"q": "Zürich 北京"}}', "qwen3_json")
    assert call.arguments == '{"q": "Zürich 北京"}'


@pytest.mark.parametrize(
    ("block", "reason"),
    [
        ('{"name": "f" "arguments": {}}', "invalid JSON in tool call"),
        ("", "empty tool call"),
        ("[1, 2]", "not a JSON object"),
        ('{"arguments": {}}', "no function name"),
        ('{"name": "  ", "arguments": {}}', "no function name"),
        ('{"name": "f", "arguments": [1]}', "arguments are not a JSON object"),
        ('{"name": "f", "arguments": "{oops"}', "invalid JSON in tool call arguments"),
        ('{"name": "f", "arguments": {"x": NaN}}', "invalid JSON"),
    ],
)
def test_json_errors(block: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_tool_block(block, "qwen3_json")


def test_unknown_function_rejected_only_when_tools_given() -> None:
    block = '{"name": "launch_rockets", "arguments": {}}'
    with pytest.raises(ValueError, match="unknown function 'launch_rockets'.*get_weather"):
        parse_tool_block(block, "qwen3_json", TOOLS)
    assert parse_tool_block(block, "qwen3_json").name == "launch_rockets"
    assert parse_tool_block(block, "qwen3_json", []).name == "launch_rockets"


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown tool-call format"):
        parse_tool_block('{"name": "f"}', "mistral")  # type: ignore[arg-type]


# --- qwen3_xml ----------------------------------------------------------------------------


def test_xml_typed_parameters() -> None:
    block = xml_block(
        "get_weather",
        city="Paris",
        days="3",
        metric="true",
        options='{"hourly": true, "lang": "fr"}',
        tags='["a", "b"]',
        ratio="0.5",
    )
    call = parse_tool_block(block, "qwen3_xml", TOOLS)
    assert call.name == "get_weather"
    assert args_of(call) == {
        "city": "Paris",
        "days": 3,
        "metric": True,
        "options": {"hourly": True, "lang": "fr"},
        "tags": ["a", "b"],
        "ratio": 0.5,
    }


def test_xml_string_parameter_is_never_decoded() -> None:
    call = parse_tool_block(xml_block("get_weather", city="42"), "qwen3_xml", TOOLS)
    assert args_of(call) == {"city": "42"}
    call = parse_tool_block(xml_block("get_weather", city="true"), "qwen3_xml", TOOLS)
    assert args_of(call) == {"city": "true"}


def test_xml_multiline_string_strips_only_one_newline_each_side() -> None:
    value = "\nline one\n  line two\n\n"
    call = parse_tool_block(xml_block("get_weather", city=value), "qwen3_xml", TOOLS)
    assert args_of(call)["city"] == value


def test_xml_bad_typed_value_falls_back_to_string() -> None:
    call = parse_tool_block(xml_block("get_weather", days="three"), "qwen3_xml", TOOLS)
    assert args_of(call) == {"days": "three"}


def test_xml_union_type_with_string() -> None:
    assert args_of(parse_tool_block(xml_block("get_weather", note="null"), "qwen3_xml", TOOLS)) == {
        "note": None
    }
    assert args_of(parse_tool_block(xml_block("get_weather", note="12"), "qwen3_xml", TOOLS)) == {
        "note": "12"
    }


def test_xml_without_schema_decodes_only_non_strings() -> None:
    block = xml_block("search", n="5", flag="false", q="hello world", quoted='"x"', obj='{"a": 1}')
    assert args_of(parse_tool_block(block, "qwen3_xml")) == {
        "n": 5,
        "flag": False,
        "q": "hello world",
        "quoted": '"x"',
        "obj": {"a": 1},
    }


def test_xml_no_parameters_and_missing_function_close() -> None:
    assert parse_tool_block("<function=search>\n</function>", "qwen3_xml").arguments == "{}"
    call = parse_tool_block("<function=search>\n<parameter=q>\nx\n</parameter>\n", "qwen3_xml")
    assert args_of(call) == {"q": "x"}


@pytest.mark.parametrize(
    ("block", "reason"),
    [
        ('{"name": "search"}', "does not start with <function="),
        ("<function=search", "unterminated"),
        ("<function=>\n</function>", "no function name"),
        ("<function=search>\n<parameter=q>\nx\n", "not closed"),
        ("<function=search>\n<parameter=>\nx\n</parameter>\n</function>", "malformed"),
        ("<function=search>\nhello\n</function>", "unexpected text in tool call"),
        ("<function=search>\n</function>\ntrailing", "unexpected text after"),
    ],
)
def test_xml_errors(block: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_tool_block(block, "qwen3_xml")


def test_xml_unknown_function_with_tools() -> None:
    with pytest.raises(ValueError, match="unknown function 'nope'"):
        parse_tool_block(xml_block("nope", a="1"), "qwen3_xml", TOOLS)


def test_xml_accepts_bare_function_dicts_as_tools() -> None:
    tools = [{"name": "f", "parameters": {"properties": {"n": {"type": "integer"}}}}]
    assert args_of(parse_tool_block(xml_block("f", n="7"), "qwen3_xml", tools)) == {"n": 7}


def test_forced_call_schema_bounds_unbounded_strings_only():
    from galen.chat.tool_choice import FORCED_STRING_MAX, forced_call

    params = {
        "type": "object",
        "properties": {
            "a": {"type": "string"},
            "b": {"type": "string", "maxLength": 5},
            "c": {"type": "array", "items": {"type": "string"}},
        },
    }
    tools = [{"type": "function", "function": {"name": "f", "parameters": params}}]
    schema = forced_call({"type": "function", "function": {"name": "f"}}, tools, "qwen3_json").json_schema
    assert schema["properties"]["a"]["maxLength"] == FORCED_STRING_MAX
    assert schema["properties"]["b"]["maxLength"] == 5
    assert schema["properties"]["c"]["items"]["maxLength"] == FORCED_STRING_MAX
    assert schema["additionalProperties"] is False
    assert "maxLength" not in params["properties"]["a"]  # the caller's schema is untouched
