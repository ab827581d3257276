"""A model-family profile: everything about a family that the rest of galen must not hard-code.

The chat layer reads think tags and the tool-call format from here; the server reads sampling
presets and capabilities. Adding a family means adding a profile in `families.py`, never an
`if family == ...` elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

ToolFormat = Literal["qwen3_json", "qwen3_xml"]


@dataclass(frozen=True)
class ThinkTags:
    """The markers around a reasoning block, e.g. `<think>` and `</think>`."""

    open: str = "<think>"
    close: str = "</think>"


@dataclass(frozen=True)
class RopeScaling:
    """How a family's context window is stretched with YaRN on vLLM (`--hf-overrides`).

    native_context: the trained window (`original_max_position_embeddings`). parameters: the
    family's own `rope_parameters`, kept as they are; `rope_type` and `factor` are added.
    config_key: where `rope_parameters` sit in config.json (None: at the top level).
    """

    native_context: int
    parameters: tuple[tuple[str, Any], ...] = ()
    config_key: str | None = "text_config"

    def overrides(self, factor: float) -> dict[str, Any]:
        rope = {
            **dict(self.parameters),
            "rope_type": "yarn",
            "factor": factor,
            "original_max_position_embeddings": self.native_context,
        }
        return {self.config_key: {"rope_parameters": rope}} if self.config_key else {"rope_parameters": rope}


@dataclass(frozen=True)
class ModelProfile:
    """How one model family formats prompts and answers.

    family: short name shown in `/v1/models` ("qwen3.6", "gemma3", "chatml").
    think: reasoning markers, or None when the family has no reasoning syntax.
    thinks_by_default: thinking is on unless a request turns it off.
    tool_format: how the model writes tool calls, or None when it has no tool syntax.
    system_role: the template accepts a system message as such (Gemma 3 folds it into the
        first user turn).
    template_file: a chat template shipped with galen (`models/templates/`), used when the
        weights carry none.
    thinking_preset / instruct_preset: default sampling presets with thinking on / off.
    rope: how YaRN stretches the family's context on vLLM, or None where galen knows no setting.
    """

    family: str
    think: ThinkTags | None = None
    thinks_by_default: bool = False
    tool_format: ToolFormat | None = None
    system_role: bool = True
    template_file: str | None = None
    thinking_preset: str = "thinking-general"
    instruct_preset: str = "instruct"
    rope: RopeScaling | None = None

    @property
    def supports_thinking(self) -> bool:
        return self.think is not None

    @property
    def supports_tools(self) -> bool:
        return self.tool_format is not None

    def default_preset(self, thinking: bool) -> str:
        return self.thinking_preset if thinking and self.supports_thinking else self.instruct_preset
