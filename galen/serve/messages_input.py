"""Anthropic messages -> the OpenAI chat messages that galen's chat layer reads.

`system` becomes the system message. In a user message, `text` and `image` blocks become its
content and each `tool_result` a `tool` message (in the order they come); in an assistant
message, `thinking` blocks become `reasoning_content` (the template decides whether history keeps
it, as for chat completions), `text` its content and `tool_use` blocks its `tool_calls`.
`redacted_thinking` is accepted and dropped: it carries no text. Any other block type, or a block
in the wrong role, is a 400 naming it (`messages[1].content[0].type`).
"""

from __future__ import annotations

from typing import Any

from galen.errors import BadRequest
from galen.serve.errors import validated
from galen.serve.messages_protocol import (
    CountTokensRequest,
    ImageBlock,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
)

USER_BLOCKS = ("text", "image", "tool_result")
ASSISTANT_BLOCKS = ("text", "thinking", "redacted_thinking", "tool_use")


def chat_messages(body: CountTokensRequest, vision: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if body.system:
        system = body.system if isinstance(body.system, str) else "".join(b.text for b in body.system)
        out.append({"role": "system", "content": system})
    for i, message in enumerate(body.messages):
        where = f"messages[{i}].content"
        if isinstance(message.content, str):
            out.append({"role": message.role, "content": message.content})
        elif message.role == "user":
            out += _user(message.content, where, vision)
        else:
            out.append(_assistant(message.content, where))
    return out


def _kind(raw: Any, where: str, allowed: tuple[str, ...], role: str) -> str:
    if not isinstance(raw, dict):
        raise BadRequest(where, "must be a content block (an object)")
    kind = raw.get("type")
    if kind not in allowed:
        raise BadRequest(
            f"{where}.type",
            f"unknown or unsupported block type {kind!r} in a {role} message; "
            f"galen takes {', '.join(allowed)}",
        )
    return kind


def _user(blocks: list[Any], where: str, vision: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []

    def flush() -> None:
        if parts:
            texts_only = all(p["type"] == "text" for p in parts)
            out.append(
                {"role": "user", "content": "".join(p["text"] for p in parts) if texts_only else list(parts)}
            )
            parts.clear()

    for j, raw in enumerate(blocks):
        at = f"{where}[{j}]"
        kind = _kind(raw, at, USER_BLOCKS, "user")
        if kind == "text":
            parts.append({"type": "text", "text": validated(TextBlock, raw, at).text})
        elif kind == "image":
            parts.append(_image(validated(ImageBlock, raw, at), at, vision))
        else:
            result = validated(ToolResultBlock, raw, at)
            flush()
            out.append(
                {"role": "tool", "tool_call_id": result.tool_use_id, "content": _result_text(result, at)}
            )
    flush()
    return out


def _image(block: ImageBlock, where: str, vision: bool) -> dict[str, Any]:
    if not vision:
        raise BadRequest(
            where,
            "this model has no vision encoder, so it cannot take 'image' input; "
            "send text only, or serve a vision model",
            code="model_has_no_vision",
        )
    return {"type": "image_url", "image_url": {"url": block.source.as_url}}


def _result_text(block: ToolResultBlock, where: str) -> str:
    if block.content is None or isinstance(block.content, str):
        return block.content or ""
    texts = []
    for k, raw in enumerate(block.content):
        at = f"{where}.content[{k}]"
        _kind(raw, at, ("text",), "tool_result")
        texts.append(validated(TextBlock, raw, at).text)
    return "".join(texts)


def _assistant(blocks: list[Any], where: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": ""}
    reasoning: list[str] = []
    for j, raw in enumerate(blocks):
        at = f"{where}[{j}]"
        kind = _kind(raw, at, ASSISTANT_BLOCKS, "assistant")
        if kind == "text":
            message["content"] += validated(TextBlock, raw, at).text
        elif kind == "thinking":
            reasoning.append(validated(ThinkingBlock, raw, at).thinking)
        elif kind == "redacted_thinking":
            validated(RedactedThinkingBlock, raw, at)
        else:
            call = validated(ToolUseBlock, raw, at)
            function = {"name": call.name, "arguments": call.input}
            message.setdefault("tool_calls", []).append(
                {"id": call.id, "type": "function", "function": function}
            )
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    return message
