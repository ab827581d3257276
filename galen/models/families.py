"""The model families galen knows, and how a model is matched to one.

Detection reads the chat template (the most reliable statement of how a model was trained to
talk) and the architecture name; `--family` overrides it.
"""

from __future__ import annotations

import re

from galen.errors import BadRequest
from galen.models.profile import ModelProfile, RopeScaling, ThinkTags

# Qwen3.6's rope_parameters (config.json text_config), as its model card's YaRN example keeps them.
QWEN3_6_ROPE = RopeScaling(
    native_context=262_144,
    parameters=(
        ("mrope_interleaved", True),
        ("mrope_section", (11, 11, 10)),
        ("rope_theta", 10_000_000),
        ("partial_rotary_factor", 0.25),
    ),
)
QWEN3_6 = ModelProfile(
    family="qwen3.6",
    think=ThinkTags(),
    thinks_by_default=True,
    tool_format="qwen3_xml",
    template_file="qwen3_6.jinja",
    rope=QWEN3_6_ROPE,
)
QWEN3 = ModelProfile(family="qwen3", think=ThinkTags(), thinks_by_default=True, tool_format="qwen3_json")
GEMMA3 = ModelProfile(
    family="gemma3",
    # MeditronFO-style fine-tunes write <think> as plain text; base Gemma 3 never opens one.
    think=ThinkTags(),
    thinks_by_default=False,
    system_role=False,
    template_file="gemma3.jinja",
    thinking_preset="thinking-precise",
    # Gemma-3-27B-MeditronFO's card decodes greedily (do_sample=False) when it does not think.
    instruct_preset="greedy",
)
CHATML = ModelProfile(family="chatml", tool_format="qwen3_json")
CHATML_THINK = ModelProfile(
    family="chatml-think",
    think=ThinkTags(),
    thinks_by_default=True,
    tool_format="qwen3_json",
    template_file="chatml_think.jinja",
)

FAMILIES: dict[str, ModelProfile] = {p.family: p for p in (QWEN3_6, QWEN3, GEMMA3, CHATML, CHATML_THINK)}


def get_family(name: str) -> ModelProfile:
    try:
        return FAMILIES[name]
    except KeyError:
        raise BadRequest("family", f"unknown model family {name!r}; known: {', '.join(FAMILIES)}") from None


def detect_family(template: str | None, architecture: str | None = None) -> ModelProfile:
    """Pick the family whose conventions the chat template (or architecture) shows."""
    text = template or ""
    arch = (architecture or "").lower()
    declared = re.search(r"galen:family=([\w.-]+)", text)
    if declared:
        return get_family(declared.group(1))
    if "start_of_turn" in text or arch.startswith("gemma"):
        return GEMMA3
    if "<function=" in text or arch.startswith("qwen3_5") or arch.startswith("qwen35"):
        return QWEN3_6
    if "<think>" in text and "<tool_call>" in text:
        return QWEN3
    return CHATML
