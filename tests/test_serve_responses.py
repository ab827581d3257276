"""POST /v1/responses through the real `openai` SDK against a real `galen serve` (the session's
embedded SmolLM2, which thinks by default): items, streaming events, tools, stored turns, errors."""

from __future__ import annotations

import json

import httpx
import jsonschema
import openai
import pytest

ASK = "Name one cause of hyperkalaemia."
LAB_TOOL = {
    "type": "function",
    "name": "get_lab_result",
    "description": "Latest value of a laboratory test for the current patient",
    "parameters": {
        "type": "object",
        "properties": {
            "test": {"type": "string", "maxLength": 32},
            "days_back": {"type": "integer", "maximum": 365},
        },
        "required": ["test", "days_back"],
    },
}
GREEDY = {"temperature": 0, "extra_body": {"seed": 1, "thinking_budget": 12}}


def _create(client, **kwargs):
    return client.responses.create(model="smollm2", **{"max_output_tokens": 40, **GREEDY, **kwargs})


def test_thinking_comes_as_a_reasoning_item_before_the_message(client):
    response = _create(client, input=ASK, instructions="Answer in one short sentence.")
    assert response.object == "response" and response.id.startswith("resp_")
    kinds = [item.type for item in response.output]
    assert kinds[0] == "reasoning" and "message" in kinds, kinds
    reasoning = response.output[0]
    assert reasoning.content[0].type == "reasoning_text" and reasoning.content[0].text
    assert "<think>" not in response.output_text and response.output_text.strip()
    usage = response.usage
    assert usage.output_tokens_details.reasoning_tokens > 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert response.status in ("completed", "incomplete") and response.temperature == 0


def test_effort_none_turns_thinking_off(client):
    response = _create(client, input=ASK, reasoning={"effort": "none"})
    assert [item.type for item in response.output] == ["message"]
    assert response.usage.output_tokens_details.reasoning_tokens == 0


def test_max_output_tokens_makes_it_incomplete(client):
    extra = {**GREEDY["extra_body"], "enable_thinking": False}
    response = _create(client, input=ASK, max_output_tokens=3, extra_body=extra)
    assert response.status == "incomplete"
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.usage.output_tokens == 3 and response.output[-1].status == "incomplete"
    # Streamed, it ends with response.completed (as vLLM and llama.cpp), so the SDK's helper works.
    extra = {**GREEDY["extra_body"], "enable_thinking": False}
    ask = {"input": ASK, "max_output_tokens": 3, "temperature": 0, "extra_body": extra}
    with client.responses.stream(model="smollm2", **ask) as stream:
        final = stream.get_final_response()
    assert final.status == "incomplete" and final.output_text == response.output_text


def test_stream_events_in_order_and_equal_to_non_stream(client):
    whole = _create(client, input=ASK)
    stream = client.responses.create(model="smollm2", input=ASK, max_output_tokens=40, stream=True, **GREEDY)
    events = list(stream)
    final = events[-1].response
    kinds = [e.type for e in events]
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert kinds[-1] == "response.completed" and kinds.count("response.completed") == 1
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "response.reasoning_text.delta" in kinds and "response.output_text.delta" in kinds
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == final.output_text == whole.output_text
    reasoning = "".join(e.delta for e in events if e.type == "response.reasoning_text.delta")
    assert reasoning == whole.output[0].content[0].text
    done = [e.item.model_dump() for e in events if e.type == "response.output_item.done"]
    assert done == [item.model_dump() for item in final.output]
    assert [i.type for i in final.output] == [i.type for i in whole.output]
    assert final.usage.output_tokens == whole.usage.output_tokens


@pytest.mark.parametrize("stream", [False, True])
def test_forced_function_call_then_its_output_through_previous_response_id(client, stream):
    ask = {
        "input": "What is the patient's latest creatinine?",
        "tools": [LAB_TOOL],
        "tool_choice": {"type": "function", "name": "get_lab_result"},
        "max_output_tokens": 120,
    }
    if stream:
        with client.responses.stream(model="smollm2", **ask, **GREEDY) as events:
            first = events.get_final_response()
    else:
        first = _create(client, **ask)
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "get_lab_result" and calls[0].call_id.startswith("call_")
    arguments = json.loads(calls[0].arguments)
    assert isinstance(arguments["test"], str) and isinstance(arguments["days_back"], int)
    output = {"type": "function_call_output", "call_id": calls[0].call_id, "output": "1.9 mg/dL"}
    # tool_choice none: the model sees no tools now, so it answers in text.
    second = _create(client, previous_response_id=first.id, input=[output], tools=[LAB_TOOL],
                     tool_choice="none", extra_body={"enable_thinking": False})  # fmt: skip
    assert second.previous_response_id == first.id
    assert second.output[0].type == "message" and second.output_text
    # The stored turn is part of the prompt: far more input tokens than the tool output alone.
    alone = _create(client, input=[output], max_output_tokens=1, extra_body={"enable_thinking": False})
    assert second.usage.input_tokens > alone.usage.input_tokens + 10


def test_tool_choice_after_result_applies_once_a_function_call_output_is_in(client):
    """galen's field, as in chat completions: an agent that sends the same settings every turn
    forces the first call and still gets an answer after the tool's result."""
    forcing = {"tools": [LAB_TOOL], "tool_choice": "required", "max_output_tokens": 120,
               "extra_body": {**GREEDY["extra_body"], "tool_choice_after_result": "none"}}  # fmt: skip
    first = _create(client, input="What is the patient's latest creatinine?", **forcing)
    call = next(item for item in first.output if item.type == "function_call")
    output = {"type": "function_call_output", "call_id": call.call_id, "output": "1.9 mg/dL"}
    second = _create(client, previous_response_id=first.id, input=[output], **forcing)
    # Forced, every answer is a function_call item; after the result, tool_choice is "none".
    assert "function_call" not in [item.type for item in second.output], second
    assert second.status == "completed" and second.usage.output_tokens > 0


def test_stored_response_is_retrievable_and_store_false_is_not(client, server):
    kept = _create(client, input=ASK, max_output_tokens=2)
    assert client.responses.retrieve(kept.id).id == kept.id
    dropped = _create(client, input=ASK, max_output_tokens=2, store=False)
    with pytest.raises(openai.BadRequestError) as caught:
        _create(client, input="And another?", previous_response_id=dropped.id, max_output_tokens=2)
    assert caught.value.body["param"] == "previous_response_id"
    assert caught.value.body["code"] == "previous_response_not_found"
    missing = httpx.get(f"{server.base_url}/responses/resp_nope", timeout=30)
    assert missing.status_code == 404 and missing.json()["error"]["param"] == "response_id"


def test_history_items_reach_the_prompt(client):
    """Reasoning and assistant items given back as input are rendered like chat history."""
    base = _create(client, input=ASK, max_output_tokens=1)
    items = [{"role": "user", "content": ASK},
             {"type": "reasoning", "summary": [],
              "content": [{"type": "reasoning_text", "text": "Think of renal failure."}]},
             {"role": "assistant", "content": [{"type": "output_text", "text": "Renal failure."}]},
             {"role": "user", "content": "Another?"}]  # fmt: skip
    longer = _create(client, input=items, max_output_tokens=1)
    assert longer.usage.input_tokens > base.usage.input_tokens + 8


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": []}, "input"),
        ({"input": 5}, "input"),
        ({"input": [{"type": "computer_call"}]}, "input[0].type"),
        ({"input": [{"type": "function_call", "name": "f", "arguments": "{}"}]}, "input[0].call_id"),
        ({"input": [{"type": "message", "role": "user"}]}, "input[0].content"),
        ({"input": "x", "previous_response_id": "resp_unknown"}, "previous_response_id"),
        ({"input": "x", "tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"input": "x", "tools": [{"type": "function", "name": "bad name"}]}, "tools[0].name"),
        ({"input": "x", "tool_choice": {"type": "function", "name": "nope"}, "tools": [LAB_TOOL]},
         "tool_choice.name"),
        ({"input": "x", "tool_choice_after_result": {"type": "function", "name": "nope"},
          "tools": [LAB_TOOL]}, "tool_choice_after_result.name"),
        ({"input": "x", "text": {"format": {"type": "json_schema", "name": "a"}}}, "text.format"),
        ({"input": "x", "text": {"format": {"type": "json_schema", "name": "a", "schema": {"type": "nope"}}}},
         "text.format.schema"),
        ({"input": "x", "text": {"format": {"type": "xml"}}}, "text.format.type"),
        ({"input": "x", "reasoning": {"effort": "extreme"}}, "reasoning.effort"),
        ({"input": "x", "max_output_tokens": 0}, "max_output_tokens"),
        ({"input": "x", "temperature": 3}, "temperature"),
        ({"input": "x", "background": True}, "background"),
        ({"input": "x", "truncation": "auto"}, "truncation"),
        ({"input": "x", "top_logprobs": 2}, "top_logprobs"),
        ({"input": "x", "include": ["message.output_text.logprobs"]}, "include"),
        ({"input": "x", "preset": "nope"}, "preset"),
        ({"input": "x", "model": "other"}, "model"),
    ],
)  # fmt: skip
def test_bad_requests_are_400s_naming_the_field(server, body, param):
    response = httpx.post(f"{server.base_url}/responses", json=body, timeout=60)
    assert response.status_code in (400, 404), response.text
    error = response.json()["error"]
    assert error["param"] == param, error
    assert "Traceback" not in error["message"] and error["type"] in (
        "invalid_request_error",
        "not_found_error",
    )


MCQ = {
    "type": "object",
    "properties": {
        "answer": {"type": "string", "enum": ["A", "B", "C", "D"]},
        "confidence": {"type": "number"},
    },
    "required": ["answer", "confidence"],
    "additionalProperties": False,
}
QUESTION = "Which vitamin deficiency causes scurvy? A) A B) B12 C) C D) D"


@pytest.mark.parametrize(("seed", "stream"), [(0, False), (1, False), (2, True)])
def test_text_format_json_schema_constrains_the_answer(client, seed, stream):
    """text.format maps onto the same constraint as chat completions' response_format."""
    fmt = {"type": "json_schema", "name": "mcq", "schema": MCQ, "strict": True}
    ask = {"model": "smollm2", "input": QUESTION, "max_output_tokens": 64, "temperature": 0.8,
           "text": {"format": fmt}, "extra_body": {"seed": seed, "thinking_budget": 8}}  # fmt: skip
    if stream:
        response = list(client.responses.create(stream=True, **ask))[-1].response
    else:
        response = client.responses.create(**ask)
    assert response.text.format.type == "json_schema" and response.text.format.name == "mcq"
    assert response.output[0].type == "reasoning"  # the constraint starts after the thinking
    jsonschema.validate(json.loads(response.output_text), MCQ)
