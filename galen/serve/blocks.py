"""Chat deltas -> ordered output blocks (reasoning, text, tool call), for the APIs whose answers
are lists of typed parts: Responses' output items and Messages' content blocks.

Chat completions sends reasoning, content and tool calls as fields of one message; Responses and
Messages send them as a sequence of blocks, each opened, filled and closed. The assembler opens a
new block whenever the kind of text changes, so a streamed answer and a whole one give the same
blocks. Tool calls arrive whole from the parser (it holds a call back until it has parsed it), so
a call block opens and closes at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from galen.chat.parser import Delta
from galen.chat.tool_calls import ToolCall

BlockKind = Literal["reasoning", "text", "tool_call"]


@dataclass
class Block:
    kind: BlockKind
    index: int
    text: str = ""
    call: ToolCall | None = None

    @property
    def arguments(self) -> dict[str, Any]:
        """A call's arguments as an object (the parser guarantees JSON object text)."""
        return json.loads(self.call.arguments) if self.call else {}


@dataclass
class BlockEvent:
    kind: Literal["start", "delta", "stop"]
    block: Block
    text: str = ""  # the new text, on a delta


@dataclass
class BlockAssembler:
    """Feed it every chat delta, then `finish()`; `blocks` is the whole answer in order."""

    parallel_tool_calls: bool = True
    blocks: list[Block] = field(default_factory=list)
    _open: Block | None = field(default=None, init=False, repr=False)

    @property
    def calls(self) -> list[ToolCall]:
        return [b.call for b in self.blocks if b.call is not None]

    def feed(self, delta: Delta) -> list[BlockEvent]:
        out: list[BlockEvent] = []
        if delta.reasoning:
            out += self._text("reasoning", delta.reasoning)
        if delta.content:
            out += self._text("text", delta.content)
        for call in delta.tool_calls:
            if not self.parallel_tool_calls and self.calls:
                break  # as chat completions does: only the first call is kept
            out += self._close()
            block = self._new("tool_call", call=call)
            out += [BlockEvent("start", block), BlockEvent("stop", block)]
        return out

    def finish(self) -> list[BlockEvent]:
        return self._close()

    def _text(self, kind: BlockKind, text: str) -> list[BlockEvent]:
        out: list[BlockEvent] = []
        if self._open is None or self._open.kind != kind:
            out += self._close()
            self._open = self._new(kind)
            out.append(BlockEvent("start", self._open))
        self._open.text += text
        out.append(BlockEvent("delta", self._open, text))
        return out

    def _new(self, kind: BlockKind, call: ToolCall | None = None) -> Block:
        block = Block(kind, len(self.blocks), call=call)
        self.blocks.append(block)
        return block

    def _close(self) -> list[BlockEvent]:
        if self._open is None:
            return []
        block, self._open = self._open, None
        return [BlockEvent("stop", block)]
