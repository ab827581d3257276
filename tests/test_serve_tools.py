"""Tool calling through the server: forced and free calls, streaming deltas, results fed back."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

LAB_TOOL = {
    "type": "function",
    "function": {
        "name": "get_lab_result",
        "description": "Latest value of a laboratory test for the current patient",
        "parameters": {
            "type": "object",
            # Bounded, so that the tiny model's forced calls always close within max_tokens.
            "properties": {
                "test": {"type": "string", "maxLength": 32},
                "days_back": {"type": "integer", "maximum": 365},
            },
            "required": ["test", "days_back"],
        },
    },
}
DOSE_TOOL = {
    "type": "function",
    "function": {
        "name": "renal_dose",
        "parameters": {
            "type": "object",
            "properties": {"drug": {"type": "string", "maxLength": 32}},
            "required": ["drug"],
        },
    },
}
ASK = [{"role": "user", "content": "What is the patient's latest creatinine?"}]
NAMED = {"type": "function", "function": {"name": "get_lab_result"}}


def _assert_lab_call(call) -> dict:
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name == "get_lab_result"
    arguments = json.loads(call.function.arguments)
    assert isinstance(arguments["test"], str) and isinstance(arguments["days_back"], int)
    return arguments


@pytest.mark.parametrize("thinking", [True, False])
def test_named_tool_choice_forces_a_valid_call(client, thinking):
    response = client.chat.completions.create(
        model="smollm2",
        messages=ASK,
        tools=[LAB_TOOL, DOSE_TOOL],
        tool_choice=NAMED,
        max_tokens=200,
        seed=1,
        extra_body={"chat_template_kwargs": {"enable_thinking": thinking}, "thinking_budget": 16},
    )
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert len(choice.message.tool_calls) == 1
    _assert_lab_call(choice.message.tool_calls[0])
    assert (choice.message.model_extra.get("reasoning_content") is not None) == thinking


def test_required_tool_choice_calls_one_of_the_tools(client):
    response = client.chat.completions.create(
        model="smollm2",
        messages=ASK,
        tools=[LAB_TOOL, DOSE_TOOL],
        tool_choice="required",
        max_tokens=200,
        seed=2,
        extra_body={"enable_thinking": False},
    )
    calls = response.choices[0].message.tool_calls
    assert response.choices[0].finish_reason == "tool_calls", response.choices[0].model_dump()
    assert calls and calls[0].function.name in ("get_lab_result", "renal_dose")
    json.loads(calls[0].function.arguments)


@pytest.mark.parametrize("tool_choice", ["required", NAMED])
def test_forced_call_after_reasoning_that_took_all_max_tokens_is_not_started(client, tool_choice):
    """Without a thinking_budget (-1: not even the stand-in's default) the reasoning may use
    every token: the turn then ends as OpenAI's and vLLM's do, with the reasoning only and
    finish_reason length; no call markup of galen's own in the content, and never more
    completion tokens than max_tokens."""
    response = client.chat.completions.create(
        model="smollm2", messages=ASK, tools=[LAB_TOOL, DOSE_TOOL], tool_choice=tool_choice, max_tokens=8,
        seed=1, extra_body={"chat_template_kwargs": {"enable_thinking": True}, "thinking_budget": -1},
    )  # fmt: skip
    choice = response.choices[0]
    assert choice.finish_reason == "length", choice.model_dump()
    assert not choice.message.tool_calls and not choice.message.content, choice.model_dump()
    assert choice.message.model_extra["reasoning_content"]
    assert "tool_call_errors" not in (choice.model_extra or {})
    assert response.usage.completion_tokens == 8


def test_streamed_tool_call_deltas_assemble_to_the_call(client):
    stream = client.chat.completions.create(
        model="smollm2",
        messages=ASK,
        tools=[LAB_TOOL],
        tool_choice=NAMED,
        max_tokens=200,
        seed=1,
        stream=True,
        extra_body={"enable_thinking": False},
    )
    name, arguments, finish, ids = "", "", None, set()
    for chunk in stream:
        choice = chunk.choices[0]
        for delta in choice.delta.tool_calls or []:
            assert delta.index == 0
            ids.add(delta.id)
            name += delta.function.name or ""
            arguments += delta.function.arguments or ""
        finish = choice.finish_reason or finish
    assert finish == "tool_calls" and name == "get_lab_result" and len(ids - {None}) == 1
    assert isinstance(json.loads(arguments)["days_back"], int)


def test_tool_choice_none_hides_the_tools(server):
    def prompt_tokens(choice: str) -> int:
        body = {"messages": ASK, "tools": [LAB_TOOL], "tool_choice": choice, "max_tokens": 1}
        return httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=60).json()["usage"][
            "prompt_tokens"
        ]

    assert prompt_tokens("none") < prompt_tokens("auto")


def test_tool_results_are_fed_back(client):
    first = (
        client.chat.completions.create(
            model="smollm2",
            messages=ASK,
            tools=[LAB_TOOL],
            tool_choice=NAMED,
            max_tokens=200,
            seed=1,
            extra_body={"enable_thinking": False},
        )
        .choices[0]
        .message
    )
    call = first.tool_calls[0]
    history = [
        *ASK,
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump(exclude_none=True)]},
        {"role": "tool", "tool_call_id": call.id, "content": '{"creatinine_mg_dl": 1.9}'},
    ]
    answer = client.chat.completions.create(
        model="smollm2", messages=history, tools=[LAB_TOOL], max_tokens=16
    )
    assert answer.choices[0].finish_reason in ("stop", "length", "tool_calls")


def test_parallel_tool_calls_false_keeps_one_call(client):
    response = client.chat.completions.create(
        model="smollm2",
        messages=ASK,
        tools=[LAB_TOOL],
        tool_choice=NAMED,
        parallel_tool_calls=False,
        max_tokens=200,
        seed=1,
        extra_body={"enable_thinking": False},
    )
    assert len(response.choices[0].message.tool_calls) == 1


def test_tools_on_a_family_without_tool_syntax_is_400(gemma):
    from openai import OpenAI

    with pytest.raises(openai.BadRequestError) as info:
        OpenAI(base_url=gemma.base_url, api_key="x", max_retries=0).chat.completions.create(
            model="gemma3-270m", messages=ASK, tools=[LAB_TOOL], max_tokens=4
        )
    assert info.value.body["param"] == "tools"


def test_tool_choice_after_result_applies_once_a_result_is_in(client):
    # galen's field for agents that send one config every turn (Qwen-Agent): force the first
    # call, then let the model answer.
    call = {"id": "call_1", "type": "function", "function": {"name": "get_lab_result",
            "arguments": '{"test": "creatinine", "days_back": 7}'}}  # fmt: skip
    after = [
        *ASK,
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"creatinine_mg_dl": 1.9}'},
    ]
    extra = {"tool_choice_after_result": "none", "enable_thinking": False}

    def ask(messages):
        return client.chat.completions.create(
            model="smollm2", messages=messages, tools=[LAB_TOOL], tool_choice=NAMED, max_tokens=64,
            seed=1, extra_body=extra,
        ).choices[0]  # fmt: skip

    assert ask(ASK).finish_reason == "tool_calls"  # no result yet: still forced
    answered = ask(after)
    assert answered.finish_reason in ("stop", "length") and not answered.message.tool_calls
    again = ask([*after, {"role": "user", "content": "And potassium?"}])  # a new question
    assert again.finish_reason == "tool_calls"


def test_malformed_arguments_sent_back_in_history_are_accepted(client):
    # OpenAI's API (and galen, for a known function) returns a model's malformed arguments as
    # written; an agent sends them back with the tool's error, which must not end the agent.
    call = {"id": "call_1", "type": "function", "function": {"name": "get_lab_result", "arguments": "{test"}}
    history = [
        *ASK,
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "error: arguments are not valid JSON"},
    ]
    answer = client.chat.completions.create(model="smollm2", messages=history, tools=[LAB_TOOL], max_tokens=8)
    assert answer.choices[0].finish_reason in ("stop", "length", "tool_calls")
