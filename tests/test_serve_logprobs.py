"""Generated tokens' log-probabilities through a real `galen serve`: chat's `logprobs.content` and
the legacy completions shape, on the embedded SmolLM2 (llama.cpp) and the tiny Qwen3.6
(transformers, where `test_engine_transformers.py` checks the values against the model)."""

from __future__ import annotations

import json

import httpx
import pytest

SAY = [{"role": "user", "content": "Name one cause of hyperkalaemia."}]
NO_THINKING = {"chat_template_kwargs": {"enable_thinking": False}}


def _post(server, path: str, body: dict) -> httpx.Response:
    return httpx.post(f"{server.base_url}{path}", json=body, timeout=300)


def test_chat_logprobs_cover_the_answer_with_sorted_alternatives(client):
    reply = client.chat.completions.create(
        model="smollm2", messages=SAY, max_tokens=12, logprobs=True, top_logprobs=3,
        extra_body=NO_THINKING | {"preset": "greedy"},  # no penalty: the raw argmax is chosen
    )  # fmt: skip
    choice = reply.choices[0]
    entries = choice.logprobs.content
    assert len(entries) == reply.usage.completion_tokens
    assert "".join(e.token for e in entries).strip() == choice.message.content.strip()
    for entry in entries:
        assert entry.logprob <= 0 and bytes(entry.bytes).decode(errors="replace") == entry.token
        assert len(entry.top_logprobs) == 3
        values = [t.logprob for t in entry.top_logprobs]
        assert values == sorted(values, reverse=True)
        # Greedy: the token chosen is the most likely one, with the same log-probability.
        assert entry.top_logprobs[0].token == entry.token
        assert entry.top_logprobs[0].logprob == pytest.approx(entry.logprob, abs=1e-6)


def test_streamed_chat_logprobs_equal_the_whole_ones(client):
    kwargs = dict(
        model="smollm2", messages=SAY, temperature=0, max_tokens=12, logprobs=True, top_logprobs=2,
        extra_body=NO_THINKING,
    )  # fmt: skip
    whole = client.chat.completions.create(**kwargs).choices[0].logprobs.content
    streamed = [
        entry
        for chunk in client.chat.completions.create(stream=True, **kwargs)
        if chunk.choices and chunk.choices[0].logprobs
        for entry in chunk.choices[0].logprobs.content
    ]
    def pairs(entries: list) -> list[tuple[str, float]]:
        return [(e.token, round(e.logprob, 5)) for e in entries]

    assert pairs(streamed) == pairs(whole)


def test_chat_without_logprobs_has_none(client):
    reply = client.chat.completions.create(
        model="smollm2", messages=SAY, max_tokens=4, extra_body=NO_THINKING
    )
    assert reply.choices[0].logprobs is None


@pytest.mark.parametrize("stream", [False, True])
def test_completions_logprobs_in_the_legacy_shape(server, stream):
    body = {"prompt": "The kidney filters", "max_tokens": 8, "temperature": 0, "logprobs": 2}
    if stream:
        url = f"{server.base_url}/completions"
        with httpx.stream("POST", url, json=body | {"stream": True}, timeout=300) as response:
            events = [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: {")]
        text = "".join(e["choices"][0]["text"] for e in events)
        parts = [e["choices"][0]["logprobs"] for e in events]
        logprobs = {k: [v for part in parts for v in part[k]] for k in parts[0]}
    else:
        choice = _post(server, "/completions", body).json()["choices"][0]
        text, logprobs = choice["text"], choice["logprobs"]
    assert set(logprobs) == {"tokens", "token_logprobs", "top_logprobs", "text_offset"}
    assert "".join(logprobs["tokens"]) == text and len(logprobs["tokens"]) == 8
    assert all(lp <= 0 for lp in logprobs["token_logprobs"])
    assert all(1 <= len(top) <= 2 for top in logprobs["top_logprobs"])
    offsets = [sum(len(t) for t in logprobs["tokens"][:i]) for i in range(8)]
    assert logprobs["text_offset"] == offsets


def test_transformers_returns_logprobs(qwen_server):
    body = {"messages": SAY, "max_tokens": 6, "temperature": 0, "logprobs": True, "top_logprobs": 4}
    choice = _post(qwen_server, "/chat/completions", body | NO_THINKING).json()["choices"][0]
    entries = choice["logprobs"]["content"]
    assert len(entries) == 6 and all(len(e["top_logprobs"]) == 4 for e in entries)
    assert all(e["top_logprobs"][0]["logprob"] == pytest.approx(e["logprob"], abs=1e-6) for e in entries)


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/chat/completions", {"messages": SAY, "logprobs": True, "top_logprobs": 21}, "top_logprobs"),
        ("/chat/completions", {"messages": SAY, "logprobs": True, "top_logprobs": -1}, "top_logprobs"),
        ("/chat/completions", {"messages": SAY, "top_logprobs": 2}, "top_logprobs"),
        ("/chat/completions", {"messages": SAY, "logprobs": "lots"}, "logprobs"),
        ("/completions", {"prompt": "x", "logprobs": 21}, "logprobs"),
        ("/completions", {"prompt": "x", "logprobs": -1}, "logprobs"),
    ],
)
def test_logprobs_out_of_range_are_400_naming_the_field(server, path, body, param):
    response = _post(server, path, body | {"max_tokens": 2})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
