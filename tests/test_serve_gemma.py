"""Gemma 3 served through llama.cpp: no system role, plain-text think tags, instruct by default."""

from __future__ import annotations

from openai import OpenAI


def test_gemma_answers_with_a_system_prompt_folded_in(gemma):
    client = OpenAI(base_url=gemma.base_url, api_key="x", max_retries=0)
    model = client.models.list().data[0]
    assert model.model_extra["family"] == "gemma3"
    assert model.model_extra["capabilities"]["thinking_default"] is False
    response = client.chat.completions.create(
        model="gemma3-270m",
        messages=[
            {"role": "system", "content": "Answer in one word."},
            {"role": "user", "content": "Organ of urine?"},
        ],
        max_tokens=6,
        seed=1,
    )
    message = response.choices[0].message
    assert message.model_extra.get("reasoning_content") is None  # base Gemma never opens <think>
    assert response.usage.completion_tokens <= 6


def test_gemma_alternation_error_is_a_400(gemma):
    import openai
    import pytest

    client = OpenAI(base_url=gemma.base_url, api_key="x", max_retries=0)
    with pytest.raises(openai.BadRequestError, match="alternate"):
        client.chat.completions.create(
            model="gemma3-270m", messages=[{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
        )
