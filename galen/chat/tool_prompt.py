"""Tool instructions for templates that cannot render tools themselves.

Qwen templates describe the tools in their system turn; plain ChatML templates (SmolLM2) ignore
the `tools` variable, so galen adds an equivalent system message in the family's call format.
"""

from __future__ import annotations

import json
from typing import Any

from galen.models.profile import ToolFormat

_EXAMPLES: dict[str, str] = {
    "qwen3_json": '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>',
    "qwen3_xml": (
        "<tool_call>\n<function=NAME>\n<parameter=ARG>\nVALUE\n</parameter>\n</function>\n</tool_call>"
    ),
}


def template_renders_tools(template_source: str) -> bool:
    return "tools" in template_source


def tool_instructions(tools: list[dict[str, Any]], fmt: ToolFormat) -> str:
    listing = "\n".join(json.dumps(tool, ensure_ascii=False) for tool in tools)
    return (
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        f"You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n{listing}\n"
        "</tools>\n\nFor each function call, return it within <tool_call></tool_call> tags:\n"
        f"{_EXAMPLES[fmt]}"
    )


def with_tool_instructions(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]], fmt: ToolFormat
) -> list[dict[str, Any]]:
    """Prepend (or extend) the system message with the tool instructions."""
    text = tool_instructions(tools, fmt)
    if messages and messages[0]["role"] == "system":
        first = dict(messages[0], content=f"{messages[0]['content']}\n\n{text}")
        return [first, *messages[1:]]
    return [{"role": "system", "content": text}, *messages]
