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

CALL_CLOSE = "</tool_call>"


@dataclass(frozen=True)
class ForcedCall:
    """The opening galen writes; with a schema (and an engine that enforces it) the model writes
    only the constrained part and galen writes `suffix`; otherwise the model writes the rest of
    the call and generation stops at CALL_CLOSE."""

    prefix: str
    suffix: str = ""
    json_schema: dict[str, Any] | None = None
    stop: tuple[str, ...] = ()


def tool_names(tools: list[dict[str, Any]]) -> list[str]:
    return [t["function"]["name"] for t in tools]


# A forced call must be able to close within max_tokens: in the constraint (never in the user's
# schema) strings without a maxLength get this one, and objects take no undeclared properties.
FORCED_STRING_MAX = 200


def _bounded(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_bounded(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _bounded(v) for k, v in schema.items()}
    if out.get("type") == "string" and "maxLength" not in out and "enum" not in out:
        out["maxLength"] = FORCED_STRING_MAX
    if out.get("type") == "object" and "properties" in out:
        out.setdefault("additionalProperties", False)
    return out


def _parameters(tool: dict[str, Any]) -> dict[str, Any]:
    return _bounded(tool["function"].get("parameters") or {"type": "object", "properties": {}})


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


def has_result_since_user(messages: list[dict[str, Any]]) -> bool:
    """Whether a tool result comes after the last user message: the model has called a tool
    for this question already."""
    for message in reversed(messages):
        role = message.get("role")
        if role == "tool":
            return True
        if role == "user":
            return False
    return False


def effective_tool_choice(tool_choice: Any, after_result: Any, messages: list[dict[str, Any]]) -> Any:
    """`tool_choice` (default "auto"), or galen's `tool_choice_after_result` once a tool result
    follows the last user message."""
    if after_result is not None and has_result_since_user(messages):
        return after_result
    return tool_choice if tool_choice is not None else "auto"


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
            return ForcedCall("<tool_call>\n", "\n</tool_call>", _bounded(schema))
        return ForcedCall("<tool_call>\n<function=")
    if isinstance(tool_choice, dict):
        tool = _named_tool(tools, tool_choice)
        name = tool["function"]["name"]
        if fmt == "qwen3_json":
            return ForcedCall(
                f'<tool_call>\n{{"name": "{name}", "arguments": ', "}\n</tool_call>", _parameters(tool)
            )
        return ForcedCall(f"<tool_call>\n<function={name}>\n")
    return None
