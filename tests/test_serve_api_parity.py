"""Chat completions, Responses and Messages are one chat layer: for the same prompt at
temperature 0 they give the same answer and the same reasoning split (the embedded SmolLM2)."""

from __future__ import annotations

import anthropic
import pytest

SYSTEM = "You are a careful clinician. Answer briefly."
ASK = "Which electrolyte disturbance peaks the T waves?"
SEED = {"seed": 3}


def _chat(client, thinking: bool) -> tuple[str | None, str]:
    extra = {**SEED, "enable_thinking": thinking, **({"thinking_budget": 16} if thinking else {})}
    response = client.chat.completions.create(
        model="smollm2",
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": ASK}],
        max_tokens=48,
        temperature=0,
        extra_body=extra,
    )
    message = response.choices[0].message
    return message.model_extra.get("reasoning_content"), message.content


def _responses(client, thinking: bool) -> tuple[str | None, str]:
    extra = {**SEED, **({"thinking_budget": 16} if thinking else {})}
    response = client.responses.create(
        model="smollm2",
        instructions=SYSTEM,
        input=ASK,
        max_output_tokens=48,
        temperature=0,
        reasoning={"effort": "medium" if thinking else "none"},
        extra_body=extra,
    )
    reasoning = [i.content[0].text for i in response.output if i.type == "reasoning"]
    return (reasoning[0] if reasoning else None), response.output_text


def _messages(claude, thinking: bool) -> tuple[str | None, str]:
    message = claude.messages.create(
        model="smollm2",
        system=SYSTEM,
        messages=[{"role": "user", "content": ASK}],
        max_tokens=48,
        thinking={"type": "enabled", "budget_tokens": 16} if thinking else {"type": "disabled"},
        extra_body={**SEED, "temperature": 0},  # recent SDKs take it only here
    )
    reasoning = [b.thinking for b in message.content if b.type == "thinking"]
    text = "".join(b.text for b in message.content if b.type == "text")
    return (reasoning[0] if reasoning else None), text


@pytest.mark.parametrize("thinking", [True, False])
def test_three_apis_give_the_same_answer_and_reasoning(client, server, thinking):
    claude = anthropic.Anthropic(base_url=server.url, api_key="EMPTY", max_retries=0, timeout=120)
    chat = _chat(client, thinking)
    assert chat[1], chat
    assert (chat[0] is not None) == thinking
    assert _responses(client, thinking) == chat
    assert _messages(claude, thinking) == chat


def test_models_list_the_three_apis(client):
    capabilities = client.models.list().data[0].model_extra["capabilities"]
    assert {"chat.completions", "responses", "messages"} <= set(capabilities["apis"])
