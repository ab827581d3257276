"""OpenAI chat messages -> the plain dicts that chat templates expect.

What changes on the way: `developer` becomes `system`; text-only content parts are joined into
one string; `reasoning` and `reasoning_content` both become `reasoning_content` (the name
Qwen-style templates read); tool-call arguments given as JSON strings are decoded into objects,
because templates iterate over them (text that is not JSON stays text). Image and video parts
are refused for models without a vision encoder; for vision models they stay, and
`template_messages` turns them into the `{"type": "image"}` / `{"type": "video"}` parts that
Qwen-style templates (and vLLM) expect.
"""

from __future__ import annotations

import json
from typing import Any

from galen.errors import BadRequest

ROLES = ("system", "developer", "user", "assistant", "tool")
MEDIA_PARTS = ("image_url", "video_url", "image", "video", "input_audio")


def _content_text(content: Any, where: str, vision: bool) -> Any:
    """A string stays a string; a list of text parts becomes one string; media parts stay parts."""
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise BadRequest(where, "must be a string or a list of content parts")
    texts: list[str] = []
    has_media = False
    for i, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            texts.append(str(part.get("text", "")))
        elif kind in MEDIA_PARTS:
            if not vision:
                raise BadRequest(
                    f"{where}[{i}]",
                    f"this model has no vision encoder, so it cannot take '{kind}' input; "
                    "send text only, or serve a vision model",
                    code="model_has_no_vision",
                )
            has_media = True
        else:
            raise BadRequest(f"{where}[{i}].type", f"unknown content part type {kind!r}")
    return content if has_media else "".join(texts)


def _decode_arguments(arguments: Any) -> Any:
    """JSON text becomes an object; text that is not JSON stays text. OpenAI's API returns a
    model's malformed arguments as they are (and so does galen, see `chat.tool_calls`), and
    agents send them back in history with the tool's error: refusing them would end the agent."""
    if not isinstance(arguments, str):
        return arguments
    try:
        return json.loads(arguments) if arguments.strip() else {}
    except json.JSONDecodeError:
        return arguments


def _tool_calls(calls: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    out = []
    for i, call in enumerate(calls):
        function = dict(call.get("function") or {})
        if not function.get("name"):
            raise BadRequest(f"{where}[{i}].function.name", "is required")
        function["arguments"] = _decode_arguments(function.get("arguments"))
        out.append({"id": call.get("id"), "type": "function", "function": function})
    return out


def _assistant(message: dict[str, Any], out: dict[str, Any], where: str) -> None:
    reasoning = message.get("reasoning_content")
    if reasoning is None:
        reasoning = message.get("reasoning")
    if reasoning is not None:
        out["reasoning_content"] = reasoning
    if message.get("tool_calls"):
        out["tool_calls"] = _tool_calls(message["tool_calls"], f"{where}.tool_calls")


def has_media(messages: list[dict[str, Any]]) -> bool:
    """Whether any (normalised) message still carries image, video or audio parts."""
    return any(isinstance(m.get("content"), list) for m in messages)


# OpenAI part types -> the part a chat template renders as a placeholder, as vLLM passes them.
TEMPLATE_PARTS = {"image_url": "image", "video_url": "video"}


def template_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Normalised messages as a template reads them: media parts reduced to their type."""
    out = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            parts = [
                p if p.get("type") == "text" else {"type": TEMPLATE_PARTS.get(p.get("type"), p.get("type"))}
                for p in content
            ]
            message = {**message, "content": parts}
        out.append(message)
    return out


def normalize_messages(messages: list[dict[str, Any]], vision: bool = False) -> list[dict[str, Any]]:
    """Validate and convert a request's messages; errors name the offending field."""
    if not messages:
        raise BadRequest("messages", "must contain at least one message")
    out = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        role = message.get("role")
        if role not in ROLES:
            raise BadRequest(f"{where}.role", f"must be one of {', '.join(ROLES)}, not {role!r}")
        item: dict[str, Any] = {
            "role": "system" if role == "developer" else role,
            "content": _content_text(message.get("content"), f"{where}.content", vision),
        }
        if role == "assistant":
            _assistant(message, item, where)
        elif role == "tool":
            item["tool_call_id"] = message.get("tool_call_id")
            if message.get("name"):
                item["name"] = message["name"]
        out.append(item)
    return out
