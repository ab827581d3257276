"""Chat completions through the real `openai` SDK against a running `galen serve`."""

from __future__ import annotations

import httpx

CARD_MODEL = "EpistemeAI/Reasoning-Medical-27B"
QUESTION = (
    "Chronic urethral obstruction due to benign prismatic hyperplasia can lead to the following change in "
    "kidney parenchyma"
)


def _ask(**extra):
    return [{"role": "user", "content": extra.pop("content", QUESTION)}]


def test_card_text_snippet_runs_unchanged(client):
    # The card's first snippet, verbatim but for the client: thinking on by default.
    response = client.chat.completions.create(
        model=CARD_MODEL,
        messages=_ask(),
        max_tokens=81920,
        temperature=1.0,
        top_p=0.95,
        presence_penalty=0.0,
        extra_body={"top_k": 20},
    )
    choice = response.choices[0]
    assert response.model == CARD_MODEL
    assert choice.finish_reason in ("stop", "length")
    assert isinstance(choice.message.reasoning_content, str)
    assert choice.message.model_extra["reasoning"] == choice.message.reasoning_content
    assert response.usage.prompt_tokens > 10
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens


def test_models_lists_capabilities(client):
    models = {m.id: m for m in client.models.list().data}
    assert CARD_MODEL in models and "smollm2" in models
    caps = models["smollm2"].model_extra["capabilities"]
    assert caps["thinking"] is True and caps["tools"] is True and caps["vision"] is False
    assert caps["context_length"] == 1024


def test_stream_equals_non_stream_for_same_seed(client):
    kwargs = dict(model="smollm2", messages=_ask(), max_tokens=48, seed=11, temperature=1.0)
    full = client.chat.completions.create(**kwargs).choices[0].message
    reasoning, content, finish = "", "", None
    for chunk in client.chat.completions.create(**kwargs, stream=True):
        delta = chunk.choices[0].delta
        reasoning += (delta.model_extra or {}).get("reasoning_content") or ""
        content += delta.content or ""
        finish = chunk.choices[0].finish_reason or finish
    assert reasoning == full.reasoning_content
    assert content == (full.content or "")
    assert finish is not None


def test_streaming_never_leaks_think_tags_into_content(client):
    stream = client.chat.completions.create(
        model="smollm2",
        messages=_ask(),
        max_tokens=80,
        seed=3,
        stream=True,
        extra_body={"thinking_budget": 12},
    )
    content, reasoning = "", ""
    for chunk in stream:
        delta = chunk.choices[0].delta
        content += delta.content or ""
        reasoning += (delta.model_extra or {}).get("reasoning_content") or ""
    # galen closed the think block after 12 tokens: its tag went nowhere, neither whole nor split
    # across deltas (a lone "<" the model writes, as in "< 5 mg", is content and may appear).
    assert "</think>" not in content and "<think>" not in content, (reasoning, content)
    assert "</think>" not in reasoning, (reasoning, content)


def test_usage_chunk_when_asked(client):
    chunks = list(
        client.chat.completions.create(
            model="smollm2",
            messages=_ask(),
            max_tokens=8,
            seed=1,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    usage = chunks[-1].usage
    finish = next(c.choices[0].finish_reason for c in reversed(chunks) if c.choices)
    # The model may end its answer early; cut by max_tokens, it used exactly 8.
    assert chunks[-1].choices == [] and 0 < usage.completion_tokens <= 8
    assert (usage.completion_tokens == 8) == (finish == "length")
    assert chunks[0].choices[0].delta.role == "assistant"


def test_n_choices_differ_and_are_indexed(client):
    response = client.chat.completions.create(model="smollm2", messages=_ask(), max_tokens=24, n=3, seed=5)
    assert [c.index for c in response.choices] == [0, 1, 2]
    texts = {(c.message.reasoning_content or "") + (c.message.content or "") for c in response.choices}
    assert len(texts) > 1
    streamed = {
        c.choices[0].index
        for c in client.chat.completions.create(
            model="smollm2", messages=_ask(), max_tokens=6, n=2, stream=True
        )
        if c.choices
    }
    assert streamed == {0, 1}


def test_thinking_off_by_chat_template_kwargs_and_alias(client):
    for extra in ({"chat_template_kwargs": {"enable_thinking": False}}, {"enable_thinking": False}):
        message = (
            client.chat.completions.create(
                model="smollm2", messages=_ask(), max_tokens=24, seed=1, extra_body=extra
            )
            .choices[0]
            .message
        )
        assert message.model_extra.get("reasoning_content") is None
        assert message.content


def test_thinking_cut_by_max_tokens_stays_reasoning(client):
    choice = client.chat.completions.create(model="smollm2", messages=_ask(), max_tokens=5, seed=2).choices[0]
    assert choice.finish_reason == "length"
    assert choice.message.content == ""
    assert choice.message.reasoning_content


def test_thinking_budget_closes_reasoning_and_answers(client):
    response = client.chat.completions.create(
        model="smollm2", messages=_ask(), max_tokens=40, seed=9, extra_body={"thinking_budget": 6}
    )
    message = response.choices[0].message
    assert message.reasoning_content and message.content
    assert response.usage.completion_tokens <= 40


def test_the_stand_in_has_a_default_thinking_budget_a_request_can_replace(client, server):
    """The embedded SmolLM2 reasons for at most 32 tokens unless a request says otherwise
    (docs/serve.md#thinking): without a budget it answers exactly as with `thinking_budget: 32`,
    and -1 lifts the default, so its reasoning runs on (greedy, so the three are comparable)."""
    card = httpx.get(f"{server.base_url}/models", timeout=30).json()["data"][0]
    assert card["capabilities"]["thinking_budget"] == 32 and card["fingerprint"]["thinking_budget"] == 32

    def ask(**extra):
        return client.chat.completions.create(
            model="smollm2", messages=_ask(), max_tokens=64, temperature=0, extra_body=extra
        ).choices[0].message

    default, explicit, lifted = ask(), ask(thinking_budget=32), ask(thinking_budget=-1)
    assert (default.reasoning_content, default.content) == (explicit.reasoning_content, explicit.content)
    assert default.reasoning_content and default.content  # closed by galen, then answered
    assert len(lifted.reasoning_content) > len(default.reasoning_content)
    body = {"messages": _ask(), "thinking_budget": -2}
    below = httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=30)
    assert below.status_code == 400 and below.json()["error"]["param"] == "thinking_budget"


def test_history_takes_reasoning_or_reasoning_content(client):
    for key in ("reasoning", "reasoning_content"):
        messages = [
            {"role": "user", "content": "Name a kidney disease."},
            {"role": "assistant", "content": "Nephrotic syndrome.", key: "The user wants one disease."},
            {"role": "user", "content": "Another one?"},
        ]
        response = client.chat.completions.create(
            model="smollm2",
            messages=messages,
            max_tokens=8,
            extra_body={"chat_template_kwargs": {"preserve_thinking": True}},
        )
        assert response.choices[0].finish_reason in ("stop", "length")


def test_preserve_thinking_keeps_history_reasoning_in_prompt(server):
    messages = [
        {"role": "user", "content": "Q1"},
        {"role": "assistant", "content": "A1", "reasoning_content": "PRIVATE-TRACE"},
        {"role": "user", "content": "Q2"},
    ]
    counts = {}
    for preserve in (False, True):
        body = {
            "model": "smollm2",
            "messages": messages,
            "max_tokens": 1,
            "chat_template_kwargs": {"preserve_thinking": preserve},
            "stream": False,
        }
        r = httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=60)
        counts[preserve] = r.json()["usage"]["prompt_tokens"]
    assert counts[True] > counts[False]


def test_presets_by_name_and_unknown_preset(client, server):
    response = client.chat.completions.create(
        model="smollm2", messages=_ask(), max_tokens=4, extra_body={"preset": "instruct"}
    )
    assert response.choices
    r = httpx.post(
        f"{server.base_url}/chat/completions", json={"messages": _ask(), "preset": "wild"}, timeout=30
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "preset"


def test_sampling_fields_top_level_or_extra_body_agree(client):
    a = client.chat.completions.create(
        model="smollm2",
        messages=_ask(),
        max_tokens=12,
        seed=4,
        extra_body={"top_k": 1, "min_p": 0.1, "repetition_penalty": 1.1},
    )
    b = client.chat.completions.create(
        model="smollm2",
        messages=_ask(),
        max_completion_tokens=12,
        seed=4,
        temperature=1.0,
        top_p=1.0,
        frequency_penalty=0.0,
        stop=["NEVER-HAPPENS"],
        extra_body={"top_k": 1, "min_p": 0.1, "repetition_penalty": 1.1},
    )
    # top_k=1 is greedy whatever else is set: the two must agree.
    assert a.choices[0].message.reasoning_content == b.choices[0].message.reasoning_content


def test_image_input_on_text_model_is_a_clear_400(client):
    import openai
    import pytest

    messages = [
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": "https://example.org/x.png"}},
                {"type": "text", "text": "Where is this?"},
            ],
        }
    ]
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=CARD_MODEL, messages=messages, max_tokens=8)
    assert "vision" in str(info.value)
    assert info.value.body["param"] == "messages[0].content[0]"
