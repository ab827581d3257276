"""A model-family profile: everything about a family that the rest of galen must not hard-code.

The chat layer reads think tags and the tool-call format from here; the server reads sampling
presets and capabilities. Adding a family means adding a profile in `families.py`, never an
`if family == ...` elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ToolFormat = Literal["qwen3_json", "qwen3_xml"]


@dataclass(frozen=True)
class ThinkTags:
    """The markers around a reasoning block, e.g. `<think>` and `</think>`."""

    open: str = "<think>"
    close: str = "</think>"


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
    """

    family: str
    think: ThinkTags | None = None
    thinks_by_default: bool = False
    tool_format: ToolFormat | None = None
    system_role: bool = True
    template_file: str | None = None
    thinking_preset: str = "thinking-general"
    instruct_preset: str = "instruct"

    @property
    def supports_thinking(self) -> bool:
        return self.think is not None

    @property
    def supports_tools(self) -> bool:
        return self.tool_format is not None

    def default_preset(self, thinking: bool) -> str:
        return self.thinking_preset if thinking and self.supports_thinking else self.instruct_preset
