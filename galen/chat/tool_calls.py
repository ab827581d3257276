"""Parsing of one tool-call block, in the syntaxes Qwen3 models write.

Qwen3 writes JSON inside `<tool_call>` tags; Qwen3.6 (like Qwen3-Coder) writes an XML-like
`<function=NAME><parameter=ARG>VALUE</parameter></function>`. Both become a `ToolCall` whose
`arguments` is JSON object text, the form OpenAI clients expect. Parsing uses plain string
searches, never regexes, so hostile model output cannot make it slow.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from galen.models.profile import ToolFormat

FUNC_OPEN = "<function="
FUNC_CLOSE = "</function>"
PARAM_OPEN = "<parameter="
PARAM_CLOSE = "</parameter>"


def new_call_id() -> str:
    """A fresh OpenAI-style call id; clients match tool results back to calls by it."""
    return "call_" + secrets.token_hex(12)


@dataclass
class ToolCall:
    """One parsed call: the function name and its arguments as JSON object text."""

    name: str
    arguments: str
    id: str = field(default_factory=new_call_id)


@dataclass
class ToolCallIssue:
    """A block that looked like a tool call but did not parse; kept so callers can log it."""

    raw: str
    reason: str


class BadArguments(ValueError):
    """The block calls a function the client offered, but its arguments do not parse.

    `call` carries the model's argument text as it is, as OpenAI's API does: the client's agent
    framework then turns it into a tool error the model sees, instead of the agent ending on
    the raw block as its answer.
    """

    def __init__(self, reason: str, call: ToolCall) -> None:
        super().__init__(reason)
        self.call = call


class _UnreadableArguments(ValueError):
    """The function name was read, its arguments were not."""

    def __init__(self, reason: str, name: str, raw: str) -> None:
        super().__init__(reason)
        self.name, self.raw = name, raw


def parse_tool_block(block: str, fmt: ToolFormat, tools: list[dict] | None = None) -> ToolCall:
    """Parse the text inside `<tool_call>...</tool_call>` (or a bare `<function=...>` block).

    Raises ValueError with a readable reason; callers then pass the raw text on as content.
    Raises BadArguments (a ValueError) when `tools` offer the named function but its arguments
    do not parse; its `call` holds the raw argument text.
    """
    try:
        if fmt == "qwen3_json":
            name, args = _parse_json(block)
        elif fmt == "qwen3_xml":
            name, raw_params = _parse_xml(block)
            args = {k: _convert(v, _param_types(tools, name, k)) for k, v in raw_params.items()}
        else:
            raise ValueError(f"unknown tool-call format: {fmt!r}")
    except _UnreadableArguments as e:
        _check_known(e.name, tools)
        if tools:
            raise BadArguments(str(e), ToolCall(name=e.name, arguments=e.raw)) from None
        raise ValueError(str(e)) from None
    _check_known(name, tools)
    return ToolCall(name=name, arguments=json.dumps(args, ensure_ascii=False))


def _loads(text: str) -> Any:
    """json.loads that rejects NaN/Infinity, which would make the arguments invalid JSON."""
    return json.loads(text, parse_constant=_reject_constant)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _parse_json(block: str) -> tuple[str, dict]:
    """`{"name": ..., "arguments": {...}}`; some models say "parameters" or send a JSON string."""
    text = block.strip()
    if not text:
        raise ValueError("empty tool call")
    try:
        obj = _loads(text)
    except ValueError as e:
        if salvaged := _name_and_raw_arguments(text):
            raise _UnreadableArguments(f"invalid JSON in tool call arguments: {e}", *salvaged) from e
        raise ValueError(f"invalid JSON in tool call: {e}") from e
    if not isinstance(obj, dict):
        raise ValueError("tool call is not a JSON object")
    name = obj.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("tool call has no function name")
    name = name.strip()
    args = obj["arguments"] if "arguments" in obj else obj.get("parameters")
    if isinstance(args, str):
        try:
            args = _decode_args(args)
        except ValueError as e:
            raise _UnreadableArguments(str(e), name, obj.get("arguments", obj.get("parameters"))) from e
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise _UnreadableArguments("tool call arguments are not a JSON object", name, json.dumps(args))
    return name, args


def _name_and_raw_arguments(text: str) -> tuple[str, str] | None:
    """From `{"name": "NAME", "arguments": BROKEN}`: NAME and BROKEN as written (less the call
    object's closing brace); None when the name itself cannot be read."""
    key = text.find('"arguments"')
    if key < 0:
        return None
    try:
        head = _loads(text[:key].rstrip().rstrip(",") + "}")
    except ValueError:
        return None
    name = head.get("name") if isinstance(head, dict) else None
    rest = text[key + len('"arguments"') :].lstrip()
    if not isinstance(name, str) or not name.strip() or not rest.startswith(":"):
        return None
    raw = rest[1:].strip()
    return name.strip(), raw[:-1].rstrip() if raw.endswith("}") else raw


def _decode_args(text: str) -> Any:
    """Arguments given as a JSON string (OpenAI style) are decoded; blank means none."""
    if not text.strip():
        return {}
    try:
        return _loads(text)
    except ValueError as e:
        raise ValueError(f"invalid JSON in tool call arguments: {e}") from e


def _parse_xml(block: str) -> tuple[str, dict[str, str]]:
    """`<function=NAME>` followed by parameters; a missing `</function>` is tolerated."""
    text = block.strip()
    if not text.startswith(FUNC_OPEN):
        raise ValueError(f"tool call does not start with {FUNC_OPEN}NAME>")
    end = text.find(">")
    if end < 0:
        raise ValueError(f"unterminated {FUNC_OPEN} tag")
    name = text[len(FUNC_OPEN) : end].strip()
    if not name:
        raise ValueError("tool call has no function name")
    rest = text[end + 1 :]
    try:
        return name, _parse_params(rest)
    except ValueError as e:
        raw = rest.strip().removesuffix(FUNC_CLOSE).strip()
        raise _UnreadableArguments(str(e), name, raw) from e


def _parse_params(rest: str) -> dict[str, str]:
    """Read `<parameter=K>\\nV\\n</parameter>` pairs up to `</function>` or the end."""
    params: dict[str, str] = {}
    while True:
        rest = rest.lstrip()
        if not rest:
            return params
        if rest.startswith(FUNC_CLOSE):
            if rest[len(FUNC_CLOSE) :].strip():
                raise ValueError(f"unexpected text after {FUNC_CLOSE}")
            return params
        if not rest.startswith(PARAM_OPEN):
            raise ValueError(f"unexpected text in tool call: {rest[:40]!r}")
        name_end = rest.find(">")
        name = rest[len(PARAM_OPEN) : name_end].strip() if name_end >= 0 else ""
        if not name:
            raise ValueError(f"malformed {PARAM_OPEN} tag")
        close = rest.find(PARAM_CLOSE, name_end)
        if close < 0:
            raise ValueError(f"parameter {name!r} is not closed")
        params[name] = _trim_newline(rest[name_end + 1 : close])
        rest = rest[close + len(PARAM_CLOSE) :]


def _trim_newline(value: str) -> str:
    """The template wraps values in one newline each side; anything more belongs to the value."""
    if value.startswith("\n"):
        value = value[1:]
    if value.endswith("\n"):
        value = value[:-1]
    return value


def _function(tool: dict) -> dict:
    """OpenAI tools nest the function under "function"; accept a bare function dict too."""
    fn = tool.get("function", tool)
    return fn if isinstance(fn, dict) else {}


def _check_known(name: str, tools: list[dict] | None) -> None:
    """A call to a function the client never offered is not executable; report it instead."""
    if not tools:
        return
    names = [_function(t).get("name") for t in tools]
    if name not in names:
        available = ", ".join(str(n) for n in names)
        raise ValueError(f"unknown function {name!r} (available: {available})")


def _param_types(tools: list[dict] | None, fname: str, pname: str) -> set[str]:
    """JSON-schema type(s) of one parameter; empty when the schema does not say."""
    for tool in tools or []:
        fn = _function(tool)
        if fn.get("name") != fname:
            continue
        props = (fn.get("parameters") or {}).get("properties") or {}
        typ = (props.get(pname) or {}).get("type")
        if isinstance(typ, str):
            return {typ}
        if isinstance(typ, list):
            return {t for t in typ if isinstance(t, str)}
    return set()


def _convert(value: str, types: set[str]) -> Any:
    """XML values are untyped text; the schema says whether to decode them as JSON."""
    if types == {"string"}:
        return value
    try:
        parsed = _loads(value)
    except ValueError:
        return value
    if not types or "string" in types:
        return value if isinstance(parsed, str) or not _matches(parsed, types) else parsed
    return parsed


def _matches(value: Any, types: set[str]) -> bool:
    """Whether a decoded JSON value fits the allowed types (no types: anything fits)."""
    if not types:
        return True
    if isinstance(value, bool):
        return "boolean" in types
    if isinstance(value, int):
        return bool(types & {"integer", "number"})
    kinds = {float: "number", dict: "object", list: "array", type(None): "null"}
    return kinds.get(type(value)) in types
