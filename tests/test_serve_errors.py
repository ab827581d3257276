"""Bad input gets OpenAI-format errors with the right status, never a 500 or a traceback."""

from __future__ import annotations

import httpx
import pytest


def _post(server, path: str, **kwargs) -> httpx.Response:
    return httpx.post(f"{server.base_url}{path}", timeout=60, **kwargs)


def _error(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"message", "type", "param", "code"} <= set(body["error"])
    assert "Traceback" not in body["error"]["message"]
    return body["error"]


MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": []}, "messages"),
        ({"messages": "hi"}, "messages"),
        ({"messages": [{"content": "no role"}]}, "messages"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
        ({"messages": MESSAGES, "temperature": 5}, "temperature"),
        ({"messages": MESSAGES, "temperature": "hot"}, "temperature"),
        ({"messages": MESSAGES, "top_p": 0}, "top_p"),
        ({"messages": MESSAGES, "max_tokens": 0}, "max_tokens"),
        ({"messages": MESSAGES, "n": 0}, "n"),
        ({"messages": MESSAGES, "stop": ["a"] * 17}, "stop"),
        (
            {
                "messages": MESSAGES,
                "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "string"}}}],
            },
            "tools[0].function.parameters",
        ),
        (
            {"messages": MESSAGES, "tools": [{"type": "function", "function": {"name": "bad name!"}}]},
            "tools[0].function.name",
        ),
        ({"messages": MESSAGES, "tool_choice": "required"}, "tool_choice"),
        (
            {
                "messages": MESSAGES,
                "tools": [{"type": "function", "function": {"name": "f"}}],
                "tool_choice": {"type": "function", "function": {"name": "g"}},
            },
            "tool_choice.function.name",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": "q"},
                    {
                        "role": "assistant",
                        "content": "",
                        "tool_calls": [
                            # arguments that are not JSON are accepted (test_serve_tools.py); no name is not
                            {"id": "1", "type": "function", "function": {"arguments": "{}"}}
                        ],
                    },
                ]
            },
            "messages[1].tool_calls[0].function.name",
        ),
    ],
)
def test_bad_chat_requests_are_400_naming_the_field(server, body, param):
    response = _post(server, "/chat/completions", json=body)
    assert response.status_code == 400, response.text
    error = _error(response)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param, error


def test_malformed_json_is_400(server):
    response = _post(
        server, "/chat/completions", content=b'{"messages": [', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "JSON" in _error(response)["message"]


def test_unknown_model_is_404(server):
    response = _post(server, "/chat/completions", json={"model": "gpt-9", "messages": MESSAGES})
    assert response.status_code == 404
    error = _error(response)
    assert error["code"] == "model_not_found" and "smollm2" in error["message"]


def test_prompt_past_context_window_is_400(server):
    long_text = "kidney " * 2000
    response = _post(server, "/chat/completions", json={"messages": [{"role": "user", "content": long_text}]})
    assert response.status_code == 400
    assert _error(response)["code"] == "context_length_exceeded"
    response = _post(server, "/completions", json={"prompt": long_text, "max_tokens": 4})
    assert response.status_code == 400


def test_unknown_route_is_404_in_openai_format(server):
    response = httpx.get(f"{server.base_url}/nothing-here", timeout=10)
    assert response.status_code == 404
    _error(response)


def test_truncated_multibyte_output_never_kills_the_server(server):
    # Emoji are several tokens: stopping after one token cuts a character in half.
    for seed in range(6):
        response = _post(
            server,
            "/completions",
            json={"prompt": "Emoji only: 😀🫀🧠💊🩺", "max_tokens": 1, "seed": seed, "temperature": 1.0},
        )
        assert response.status_code == 200
        assert isinstance(response.json()["choices"][0]["text"], str)
    assert httpx.get(f"{server.url}/health", timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/chat/completions", {"messages": MESSAGES, "logit_bias": {"42": 5}}, "logit_bias"),
        ("/chat/completions", {"messages": MESSAGES, "functions": [{"name": "f"}]}, "functions"),
        ("/chat/completions", {"messages": MESSAGES, "modalities": ["text", "audio"]}, "modalities"),
        ("/chat/completions", {"messages": MESSAGES, "modalities": True}, "modalities"),  # found by fuzzing
        ("/chat/completions", {"messages": MESSAGES, "prediction": {"type": "content"}}, "prediction"),
        ("/completions", {"prompt": "x", "suffix": "end"}, "suffix"),
        ("/completions", {"prompt": "x", "best_of": 3}, "best_of"),
        # llama.cpp does not return prompt log-probabilities (the transformers engine does)
        ("/completions", {"prompt": "x", "echo": True, "logprobs": 1, "max_tokens": 0}, "echo"),
    ],
)
def test_unsupported_features_are_refused_not_ignored(server, path, body, param):
    response = _post(server, path, json=body)
    assert response.status_code == 400
    assert _error(response)["param"] == param


def test_harmless_values_of_refused_fields_are_accepted(server):
    body = {"messages": MESSAGES, "max_tokens": 2, "logit_bias": {}, "modalities": ["text"], "best_of": 1}
    assert _post(server, "/chat/completions", json=body).status_code == 200
