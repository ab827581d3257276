"""Responses input items -> the OpenAI chat messages that galen's chat layer reads.

A Responses conversation is a flat list of items; chat messages group an assistant turn's
reasoning, text and tool calls into one message. So consecutive `reasoning`, assistant
`message` and `function_call` items become one assistant message (`reasoning_content`,
`content`, `tool_calls`), and each `function_call_output` becomes a `tool` message. Every error
names the item and field (`input[2].call_id`), in OpenAI's error shape.
"""

from __future__ import annotations

import json
from typing import Any

from galen.errors import BadRequest
from galen.serve.errors import validated
from galen.serve.responses_protocol import (
    FunctionCallItem,
    FunctionCallOutputItem,
    ImagePart,
    MessageItem,
    ReasoningItem,
    RefusalPart,
    TextPart,
)

ITEM_TYPES = ("message", "reasoning", "function_call", "function_call_output")


def input_messages(items: str | list[Any], vision: bool) -> list[dict[str, Any]]:
    """The chat messages for a request's `input`; a string is one user message."""
    if isinstance(items, str):
        return [{"role": "user", "content": items}]
    reader = _Reader(vision)
    for i, item in enumerate(items):
        reader.read(item, f"input[{i}]")
    return reader.done()


class _Reader:
    def __init__(self, vision: bool) -> None:
        self.vision = vision
        self.messages: list[dict[str, Any]] = []
        self.turn: dict[str, Any] | None = None  # the assistant message being gathered

    def read(self, raw: Any, where: str) -> None:
        if not isinstance(raw, dict):
            raise BadRequest(where, "must be an input item (an object)")
        kind = raw.get("type", "message")
        if kind == "message":
            self._message(validated(MessageItem, raw, where), where)
        elif kind == "reasoning":
            item = validated(ReasoningItem, raw, where)
            turn = self._assistant(
                new_turn=bool(self.turn and (self.turn["content"] or "tool_calls" in self.turn))
            )
            turn["reasoning_content"] = turn.get("reasoning_content", "") + item.text
        elif kind == "function_call":
            self._call(validated(FunctionCallItem, raw, where), where)
        elif kind == "function_call_output":
            item = validated(FunctionCallOutputItem, raw, where)
            self._flush()
            content = _joined_text(item.output, f"{where}.output")
            self.messages.append({"role": "tool", "tool_call_id": item.call_id, "content": content})
        else:
            raise BadRequest(
                f"{where}.type",
                f"unknown or unsupported item type {kind!r}; galen takes {', '.join(ITEM_TYPES)}",
            )

    def done(self) -> list[dict[str, Any]]:
        self._flush()
        return self.messages

    def _message(self, item: MessageItem, where: str) -> None:
        if item.role == "assistant":
            turn = self._assistant(new_turn="tool_calls" in (self.turn or {}))
            turn["content"] += _joined_text(item.content, f"{where}.content")
            return
        self._flush()
        self.messages.append({"role": item.role, "content": self._content(item.content, f"{where}.content")})

    def _call(self, item: FunctionCallItem, where: str) -> None:
        try:
            arguments = json.loads(item.arguments) if item.arguments.strip() else {}
        except json.JSONDecodeError as exc:
            raise BadRequest(f"{where}.arguments", f"is not valid JSON: {exc}") from None
        if not isinstance(arguments, dict):
            raise BadRequest(f"{where}.arguments", "must be a JSON object")
        call = {
            "id": item.call_id,
            "type": "function",
            "function": {"name": item.name, "arguments": arguments},
        }
        self._assistant().setdefault("tool_calls", []).append(call)

    def _assistant(self, new_turn: bool = False) -> dict[str, Any]:
        if new_turn:
            self._flush()
        if self.turn is None:
            self.turn = {"role": "assistant", "content": ""}
        return self.turn

    def _flush(self) -> None:
        if self.turn is not None:
            self.messages.append(self.turn)
            self.turn = None

    def _content(self, content: str | list[Any], where: str) -> str | list[dict[str, Any]]:
        """User, system or developer content: text, or text and image parts on a vision model."""
        if isinstance(content, str):
            return content
        parts: list[dict[str, Any]] = []
        for j, raw in enumerate(content):
            at = f"{where}[{j}]"
            kind = raw.get("type") if isinstance(raw, dict) else None
            if kind == "input_image":
                image = validated(ImagePart, raw, at)
                if not self.vision:
                    raise BadRequest(
                        at,
                        "this model has no vision encoder, so it cannot take 'input_image' input; "
                        "send text only, or serve a vision model",
                        code="model_has_no_vision",
                    )
                parts.append({"type": "image_url", "image_url": {"url": image.image_url}})
            else:
                parts.append({"type": "text", "text": _part_text(raw, at)})
        if all(p["type"] == "text" for p in parts):
            return "".join(p["text"] for p in parts)
        return parts


def _part_text(raw: Any, where: str) -> str:
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind in ("input_text", "output_text"):
        return validated(TextPart, raw, where).text
    if kind == "refusal":
        return validated(RefusalPart, raw, where).refusal
    raise BadRequest(
        f"{where}.type",
        f"unknown or unsupported content part {kind!r}; galen takes input_text, "
        "output_text, refusal and (on vision models, in user messages) input_image",
    )


def _joined_text(content: str | list[Any], where: str) -> str:
    """Text-only content (assistant messages, tool outputs): a string or text parts, joined."""
    if isinstance(content, str):
        return content
    return "".join(_part_text(raw, f"{where}[{j}]") for j, raw in enumerate(content))
