"""Golden renders: each family's template turns the same conversation into the exact prompt."""

from __future__ import annotations

from pathlib import Path

import pytest
from golden_cases import CONVERSATION, LAB_TOOL, SIMPLE

from galen.chat.messages import normalize_messages
from galen.chat.template import ChatTemplate
from galen.errors import BadRequest
from galen.models.source import resolve, shipped_template

GOLDEN = Path(__file__).parent / "golden"


def _golden(name: str) -> str:
    return (GOLDEN / name).read_text()


def test_qwen3_6_with_tools_and_thinking():
    template = ChatTemplate(shipped_template("qwen3_6"))
    prompt = template.render(normalize_messages(CONVERSATION), tools=[LAB_TOOL], enable_thinking=True)
    assert prompt == _golden("qwen3_6_tools_thinking.txt")
    # Reasoning before the last user turn is dropped unless preserve_thinking is set.
    assert "Need the previous value" not in prompt
    assert prompt.endswith("<|im_start|>assistant\n<think>\n")


def test_qwen3_6_preserve_thinking_and_thinking_off():
    template = ChatTemplate(shipped_template("qwen3_6"))
    prompt = template.render(
        normalize_messages(CONVERSATION), tools=[LAB_TOOL], enable_thinking=False, preserve_thinking=True
    )
    assert prompt == _golden("qwen3_6_preserve_no_thinking.txt")
    assert prompt.endswith("<think>\n\n</think>\n\n")


def test_qwen3_6_prompt_tokens_with_the_real_tokenizer():
    from galen.models.qwen import qwen_tokenizer

    tokenizer = qwen_tokenizer()
    prompt = _golden("qwen3_6_tools_thinking.txt")
    ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    assert ids[0] == 248045  # <|im_start|>
    assert ids[-2:] == [248068, 198]  # <think>, "\n"
    assert ids.count(248058) == 3  # two in the format instructions, one in the history
    assert tokenizer.decode(ids) == prompt


def test_gemma3_folds_the_system_prompt_into_the_first_user_turn():
    source = resolve("gemma3-270m")
    template = ChatTemplate(source.chat_template, source.bos_token, source.eos_token)
    prompt = template.render(normalize_messages(SIMPLE))
    assert prompt == _golden("gemma3.txt")
    assert source.profile.family == "gemma3" and source.profile.system_role is False


def test_gemma3_rejects_broken_turn_order_with_a_400():
    source = resolve("gemma3-270m")
    template = ChatTemplate(source.chat_template, source.bos_token)
    with pytest.raises(BadRequest) as info:
        template.render([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])
    assert info.value.param == "messages" and "alternate" in info.value.message


def test_smollm2_own_chatml_template():
    source = resolve("smollm2")
    template = ChatTemplate(source.chat_template, source.bos_token, source.eos_token)
    assert template.render(normalize_messages(SIMPLE)) == _golden("smollm2_chatml.txt")
    assert source.profile.family == "chatml" and not source.profile.supports_thinking


def test_chatml_think_template_used_by_make_serve():
    template = ChatTemplate(shipped_template("chatml_think"))
    assert template.render(normalize_messages(SIMPLE)) == _golden("chatml_think.txt")
    off = template.render(normalize_messages(SIMPLE), enable_thinking=False)
    assert off.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")


def test_messages_are_normalised_for_templates():
    messages = normalize_messages(
        [
            {
                "role": "developer",
                "content": [{"type": "text", "text": "Be "}, {"type": "text", "text": "brief."}],
            },
            {"role": "user", "content": "q"},
            {
                "role": "assistant",
                "content": "a",
                "reasoning": "r",
                "tool_calls": [{"id": "1", "function": {"name": "f", "arguments": '{"x": 1}'}}],
            },
        ]
    )
    assert messages[0] == {"role": "system", "content": "Be brief."}
    assert messages[2]["reasoning_content"] == "r"
    assert messages[2]["tool_calls"][0]["function"]["arguments"] == {"x": 1}


def test_image_parts_need_a_vision_model():
    parts = [{"type": "image_url", "image_url": {"url": "x"}}, {"type": "text", "text": "What is this?"}]
    with pytest.raises(BadRequest) as info:
        normalize_messages([{"role": "user", "content": parts}], vision=False)
    assert info.value.param == "messages[0].content[0]" and "vision" in info.value.message
    kept = normalize_messages([{"role": "user", "content": parts}], vision=True)
    assert kept[0]["content"] == parts
    rendered = ChatTemplate(shipped_template("qwen3_6")).render(kept)
    assert "<|vision_start|><|image_pad|><|vision_end|>What is this?" in rendered


def test_chatml_think_renders_tool_calls_and_results_in_history():
    template = ChatTemplate(shipped_template("chatml_think"))
    prompt = template.render(normalize_messages(CONVERSATION))
    assert prompt == _golden("chatml_think_tools.txt")
    assert (
        '<tool_call>\n{"name": "get_lab_result", "arguments": {"test": "creatinine"}}\n</tool_call>' in prompt
    )


@pytest.mark.parametrize("template", ["chatml_think", "qwen3_6"])
def test_malformed_arguments_in_history_render(template):
    # An agent sends a call galen returned with arguments that are not JSON back with the tool's
    # error; refusing it would end the agent.
    history = [
        {"role": "user", "content": "Creatinine?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_lab_result", "arguments": "{test"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "error: arguments are not JSON"},
    ]  # fmt: skip
    prompt = ChatTemplate(shipped_template(template)).render(normalize_messages(history), tools=[LAB_TOOL])
    assert "get_lab_result" in prompt and "error: arguments are not JSON" in prompt
    if template == "chatml_think":
        assert '"arguments": "{test"' in prompt
