"""POST /v1/completions and POST /tokenize."""

from __future__ import annotations

import httpx

PROMPT = "The kidney filters"


def test_completion_non_stream(client):
    response = client.completions.create(model="smollm2", prompt=PROMPT, max_tokens=8, temperature=0)
    choice = response.choices[0]
    assert choice.finish_reason == "length" and choice.text
    assert response.usage.completion_tokens == 8


def test_completion_stream_matches_non_stream(client):
    full = client.completions.create(model="smollm2", prompt=PROMPT, max_tokens=10, temperature=0)
    chunks = list(
        client.completions.create(
            model="smollm2",
            prompt=PROMPT,
            max_tokens=10,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert text == full.choices[0].text
    assert chunks[-1].usage.completion_tokens == 10


def test_completion_n_and_prompt_batches(client):
    response = client.completions.create(
        model="smollm2", prompt=[PROMPT, "Urea is"], max_tokens=4, n=2, seed=3
    )
    assert [c.index for c in response.choices] == [0, 1, 2, 3]


def test_completion_from_token_ids(client, server):
    ids = httpx.post(f"{server.url}/tokenize", json={"prompt": PROMPT}).json()["tokens"]
    by_ids = client.completions.create(model="smollm2", prompt=ids, max_tokens=6, temperature=0)
    by_text = client.completions.create(model="smollm2", prompt=PROMPT, max_tokens=6, temperature=0)
    assert by_ids.choices[0].text == by_text.choices[0].text


def test_tokenize_counts_chat_prompts(server):
    body = {"messages": [{"role": "user", "content": "hello"}]}
    counted = httpx.post(f"{server.url}/tokenize", json=body).json()
    assert counted["count"] == len(counted["tokens"]) > 5
    assert counted["max_model_len"] == 1024
