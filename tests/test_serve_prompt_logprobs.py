"""POST /v1/completions with `echo` and `logprobs` (OpenAI's legacy shape, what lm-eval's
`local-completions` sends) and vLLM's `prompt_logprobs`, on the transformers engine; and the
400s that name the field where an engine or a request cannot have them."""

from __future__ import annotations

import math

import httpx
import pytest
from conftest import KEYED_HF_KEY

CONTEXT = "Question: Which organ filters blood?\nAnswer:"


@pytest.fixture(scope="module")
def hf(keyed_hf):
    from openai import OpenAI

    return OpenAI(base_url=keyed_hf.base_url, api_key=KEYED_HF_KEY, max_retries=0, timeout=300)


def _post(server, body: dict, key: str = KEYED_HF_KEY) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"}
    return httpx.post(f"{server.base_url}/completions", json=body, headers=headers, timeout=300)


def test_echo_scores_every_prompt_token(hf):
    prompts = [CONTEXT, CONTEXT + " The kidney"]
    response = hf.completions.create(model="med-a", prompt=prompts, echo=True, logprobs=2, max_tokens=0)
    alone, longer = (c.logprobs for c in sorted(response.choices, key=lambda c: c.index))
    assert response.choices[0].text == CONTEXT and response.choices[0].finish_reason == "length"
    assert alone.token_logprobs[0] is None and all(v < 0 for v in alone.token_logprobs[1:])
    assert "".join(alone.tokens) == CONTEXT and alone.text_offset[1] == len(alone.tokens[0])
    # the shared prefix is scored the same in both prompts (its KV cache is reused, not recomputed)
    n = len(alone.tokens)
    assert longer.tokens[:n] == alone.tokens and len(longer.tokens) > n
    assert all(
        math.isclose(a, b, abs_tol=1e-5)
        for a, b in zip(alone.token_logprobs[1:], longer.token_logprobs[1:n], strict=True)
    )
    # each position's alternatives are the two most likely tokens; a token's own logprob never beats them
    for value, top in zip(longer.token_logprobs[1:], longer.top_logprobs[1:], strict=True):
        assert 1 <= len(top) <= 2 and value <= max(top.values()) + 1e-6
    assert response.usage.prompt_tokens == n + len(longer.tokens) and response.usage.completion_tokens == 0


def test_lm_eval_local_completions_request(hf, keyed_hf):
    """lm-eval sends token ids, max_tokens 1 at temperature 0, and drops the generated token."""
    ids = httpx.post(
        f"{keyed_hf.url}/tokenize",
        json={"prompt": CONTEXT},
        headers={"Authorization": f"Bearer {KEYED_HF_KEY}"},
    ).json()["tokens"]
    response = hf.completions.create(
        model="med-b", prompt=[ids], echo=True, logprobs=1, max_tokens=1, temperature=0, seed=1234
    )
    scored = response.choices[0].logprobs
    assert len(scored.tokens) == len(ids) + 1 and response.choices[0].text.startswith(CONTEXT)
    last, top = scored.token_logprobs[-1], scored.top_logprobs[-1]
    assert last == max(top.values())  # the appended token is the greedy one
    by_text = hf.completions.create(model="med-b", prompt=CONTEXT, echo=True, logprobs=1, max_tokens=0)
    assert by_text.choices[0].logprobs.token_logprobs == pytest.approx(scored.token_logprobs[:-1], abs=1e-5)


def test_vllm_prompt_logprobs_with_a_generation(keyed_hf):
    body = {"model": "med-a", "prompt": CONTEXT, "prompt_logprobs": 1, "max_tokens": 3, "temperature": 0}
    choice = _post(keyed_hf, body).json()["choices"][0]
    rows = choice["prompt_logprobs"]
    assert rows[0] is None and len(rows) > 5 and choice["text"] and not choice["text"].startswith(CONTEXT)
    for row in rows[1:]:
        ranks = sorted(entry["rank"] for entry in row.values())
        assert ranks[0] >= 1 and all(entry["logprob"] <= 0 for entry in row.values())
        assert any(entry["rank"] == 1 for entry in row.values())  # the top-1 alternative is listed


def test_echo_without_logprobs_prepends_the_prompt(hf):
    response = hf.completions.create(model="med-a", prompt=CONTEXT, echo=True, max_tokens=2, temperature=0)
    plain = hf.completions.create(model="med-a", prompt=CONTEXT, max_tokens=2, temperature=0)
    assert response.choices[0].text == CONTEXT + plain.choices[0].text


@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        ({"max_tokens": 0}, "max_tokens", "unless echo is true"),
        ({"echo": True, "logprobs": 1, "max_tokens": 4}, "max_tokens", "set 0"),
        ({"echo": True, "logprobs": 1, "max_tokens": 1, "temperature": 0.7}, "temperature", "greedy"),
        ({"echo": True, "logprobs": 1, "max_tokens": 0, "stream": True}, "stream", "answered whole"),
        ({"echo": True, "logprobs": 40, "max_tokens": 0}, "logprobs", "20"),
    ],
)
def test_bad_echo_requests_name_the_field(keyed_hf, body, param, words):
    response = _post(keyed_hf, {"model": "med-a", "prompt": CONTEXT, **body})
    error = response.json()["error"]
    assert response.status_code == 400 and error["param"] == param and words in error["message"], error


def test_llama_cpp_refuses_prompt_logprobs_by_name(server):
    body = {"prompt": CONTEXT, "echo": True, "logprobs": 1, "max_tokens": 0}
    response = httpx.post(f"{server.base_url}/completions", json=body, timeout=60)
    error = response.json()["error"]
    assert response.status_code == 400 and error["param"] == "echo"
    assert "llama.cpp engine does not return prompt log-probabilities" in error["message"]
