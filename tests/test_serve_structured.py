"""Structured outputs (`response_format`) through a real `galen serve`: the embedded SmolLM2 on
llama.cpp (the shared `server`), and the tiny Qwen3.6 on transformers (`qwen_server`).

Every answer is checked with the `jsonschema` library, never by eye.
"""

from __future__ import annotations

import json

import httpx
import jsonschema
import pytest

MCQ = {
    "type": "object",
    "properties": {"answer": {"enum": ["A", "B", "C", "D"]}, "sure": {"type": "boolean"}},
    "required": ["answer", "sure"],
    "additionalProperties": False,
}
ASK = "Which vitamin deficiency causes scurvy? A) A B) B12 C) C D) D. Answer in JSON."
QUESTION = [{"role": "user", "content": ASK}]
NO_THINKING = {"chat_template_kwargs": {"enable_thinking": False}}


def _schema_format(schema: dict, name: str = "mcq") -> dict:
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


def _valid(text: str, schema: dict) -> dict:
    value = json.loads(text)
    jsonschema.validate(value, schema)
    return value


def test_json_schema_answer_validates_over_20_seeds(client):
    # Two requests of n=10 give choices seeded 0..9 and 10..19, sampled at temperature 1.
    contents = []
    for seed in (0, 10):
        reply = client.chat.completions.create(
            model="smollm2", messages=QUESTION, n=10, seed=seed, temperature=1.0, max_tokens=24,
            response_format=_schema_format(MCQ), extra_body=NO_THINKING,
        )  # fmt: skip
        assert all(c.finish_reason == "stop" for c in reply.choices)
        contents += [c.message.content for c in reply.choices]
    assert len(contents) == 20
    for content in contents:
        _valid(content, MCQ)
    assert len(set(contents)) > 1  # the seeds did sample differently


def test_json_schema_with_thinking_constrains_the_answer_after_the_reasoning(client):
    reply = client.chat.completions.create(
        model="smollm2", messages=QUESTION, seed=1, max_tokens=80, response_format=_schema_format(MCQ),
        extra_body={"thinking_budget": 24},
    )  # fmt: skip
    message = reply.choices[0].message
    assert message.reasoning_content  # the reasoning ran free, before the JSON
    assert "{" not in message.reasoning_content[:1]
    _valid(message.content, MCQ)


def test_streamed_json_schema_answer_equals_the_whole_one(client):
    kwargs = dict(
        model="smollm2", messages=QUESTION, temperature=0, max_tokens=24,
        response_format=_schema_format(MCQ), extra_body=NO_THINKING,
    )  # fmt: skip
    whole = client.chat.completions.create(**kwargs).choices[0].message.content
    parts = [
        chunk.choices[0].delta.content or ""
        for chunk in client.chat.completions.create(stream=True, **kwargs)
        if chunk.choices
    ]
    assert "".join(parts) == whole
    _valid(whole, MCQ)


def test_json_object_gives_a_json_object(client):
    reply = client.chat.completions.create(
        model="smollm2", messages=QUESTION, seed=2, max_tokens=48, response_format={"type": "json_object"},
        extra_body=NO_THINKING,
    )  # fmt: skip
    choice = reply.choices[0]
    if choice.finish_reason == "stop":  # an object may be cut by max_tokens, which says so
        assert isinstance(json.loads(choice.message.content), dict)


def test_completions_take_response_format(server):
    body = {"prompt": "Answer A, B, C or D: ", "max_tokens": 24, "seed": 3}
    body["response_format"] = _schema_format(MCQ)
    reply = httpx.post(f"{server.base_url}/completions", json=body, timeout=120).json()
    _valid(reply["choices"][0]["text"], MCQ)


def test_models_list_the_features_each_engine_supports(server):
    card = httpx.get(f"{server.base_url}/models", timeout=60).json()["data"][0]
    capabilities = card["capabilities"]
    assert capabilities["structured_outputs"] == ["json_object", "json_schema"]
    assert capabilities["logprobs"] is True
    assert {"chat.completions", "completions"} <= set(capabilities["apis"])


# -- bad input: a 400 naming the field, never a 500 ---------------------------------------------

SCHEMA_PARAM = "response_format.json_schema.schema"


@pytest.mark.parametrize(
    ("response_format", "param", "code"),
    [
        ({"type": "yaml"}, "response_format.type", None),
        ({"type": "json_schema"}, "response_format", None),
        ({"type": "json_schema", "json_schema": {"schema": MCQ}}, "response_format.json_schema.name", None),
        ({"type": "json_schema", "json_schema": {"name": "x"}}, SCHEMA_PARAM, None),
        (_schema_format({"type": "nonsense"}), SCHEMA_PARAM, "invalid_json_schema"),
        (_schema_format({"type": "object", "required": "answer"}), SCHEMA_PARAM, "invalid_json_schema"),
        (_schema_format({"$schema": ["not", "a", "uri"]}), SCHEMA_PARAM, None),
        # Valid JSON Schema that llguidance cannot compile: its regexes have no look-around.
        (_schema_format({"type": "string", "pattern": "^(?=a)a$"}), SCHEMA_PARAM, "unsupported_json_schema"),
    ],
)
@pytest.mark.parametrize("path", ["/chat/completions", "/completions"])
def test_bad_response_format_is_400_naming_the_field(server, path, response_format, param, code):
    body = {"max_tokens": 4, "response_format": response_format}
    body |= {"messages": QUESTION} if path == "/chat/completions" else {"prompt": "x"}
    response = httpx.post(f"{server.base_url}{path}", json=body, timeout=60)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param, error
    if code:
        assert error["code"] == code, error


# -- transformers: the same constraint through llguidance, on the tiny Qwen3.6 ----------------

TINY = {
    "type": "object",
    "properties": {"answer": {"enum": ["A", "B", "C", "D"]}, "n": {"type": "integer", "maximum": 99}},
    "required": ["answer", "n"],
    "additionalProperties": False,
}


@pytest.mark.parametrize("thinking", [True, False])
def test_transformers_enforces_the_schema_after_the_reasoning(qwen_server, thinking):
    # The tiny model's weights are random: only the constraint can make its answers valid JSON.
    # (The first constrained request also builds llguidance's view of the 248k-token vocabulary.)
    body = {
        "messages": [{"role": "user", "content": "ok?"}], "max_tokens": 40, "seed": 5, "temperature": 1.0,
        "response_format": _schema_format(TINY, "flag"), "enable_thinking": thinking,
    }  # fmt: skip
    body |= {"thinking_budget": 6} if thinking else {"n": 3}
    reply = httpx.post(f"{qwen_server.base_url}/chat/completions", json=body, timeout=300).json()
    for choice in reply["choices"]:
        assert choice["finish_reason"] == "stop", reply
        _valid(choice["message"]["content"], TINY)
        assert bool(choice["message"].get("reasoning_content")) is thinking
