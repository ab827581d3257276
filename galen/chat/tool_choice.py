"""`tool_choice`: which tools the model sees, and how a call is forced when one is required.

A forced call is written the way the model itself would write one: galen appends the opening of
the call block to the prompt (after the reasoning, if any), lets the model fill in the rest (its
arguments constrained by the tool's JSON schema where the engine supports it), then closes the
block. The output therefore parses through the same tool-call parser as a free call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from galen.errors import BadRequest
from galen.models.profile import ToolFormat


@dataclass(frozen=True)
class ForcedCall:
    prefix: str
    suffix: str
    json_schema: dict[str, Any] | None
    stop: tuple[str, ...] = ()


def tool_names(tools: list[dict[str, Any]]) -> list[str]:
    return [t["function"]["name"] for t in tools]


def _parameters(tool: dict[str, Any]) -> dict[str, Any]:
    return tool["function"].get("parameters") or {"type": "object", "properties": {}}


def _named_tool(tools: list[dict[str, Any]], choice: dict[str, Any]) -> dict[str, Any]:
    name = (choice.get("function") or {}).get("name")
    for tool in tools:
        if tool["function"]["name"] == name:
            return tool
    raise BadRequest("tool_choice.function.name", f"{name!r} is not one of the tools: {tool_names(tools)}")


def validate_tool_choice(tool_choice: Any, tools: list[dict[str, Any]] | None) -> None:
    if tool_choice in (None, "none", "auto"):
        return
    if not tools:
        raise BadRequest("tool_choice", "needs `tools` to choose from")
    if tool_choice == "required":
        return
    if isinstance(tool_choice, dict) and tool_choice.get("type") == "function":
        _named_tool(tools, tool_choice)
        return
    raise BadRequest("tool_choice", "must be 'none', 'auto', 'required' or {'type': 'function', ...}")


def forced_call(tool_choice: Any, tools: list[dict[str, Any]], fmt: ToolFormat) -> ForcedCall | None:
    """How to force a call for `required` or a named function; None when the model decides."""
    if tool_choice == "required":
        if fmt == "qwen3_json":
            schema = {
                "anyOf": [
                    {
                        "type": "object",
                        "properties": {"name": {"const": t["function"]["name"]}, "arguments": _parameters(t)},
                        "required": ["name", "arguments"],
                    }
                    for t in tools
                ]
            }
            return ForcedCall("<tool_call>\n", "\n</tool_call>", schema)
        return ForcedCall("<tool_call>\n<function=", "</tool_call>", None, stop=("</tool_call>",))
    if isinstance(tool_choice, dict):
        tool = _named_tool(tools, tool_choice)
        name = tool["function"]["name"]
        if fmt == "qwen3_json":
            return ForcedCall(
                f'<tool_call>\n{{"name": "{name}", "arguments": ', "}\n</tool_call>", _parameters(tool)
            )
        return ForcedCall(f"<tool_call>\n<function={name}>\n", "</tool_call>", None, stop=("</tool_call>",))
    return None
