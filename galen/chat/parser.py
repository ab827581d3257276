"""Streaming parser that splits raw model output into reasoning, content and tool calls.

Why streaming-first: the server sends deltas to clients, and a sent delta cannot be taken back.
So the parser releases text only once no later input can change its meaning; it holds back
partial tags, whitespace that may turn out to precede a tag (and so be dropped), and whole
tool-call blocks. The non-streaming `parse_output` is the same machine fed in one piece, and
every decision depends only on the text seen so far, so any chunking gives the same result.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import get_args

from galen.chat.tool_calls import BadArguments, ToolCall, ToolCallIssue, parse_tool_block
from galen.models.profile import ThinkTags, ToolFormat

TOOL_OPEN = "<tool_call>"
TOOL_CLOSE = "</tool_call>"
FUNC_OPEN = "<function="
FUNC_CLOSE = "</function>"


@dataclass
class Delta:
    """What one `feed()` or `finish()` call releases."""

    reasoning: str = ""
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.reasoning or self.content or self.tool_calls)


@dataclass
class ParsedOutput:
    """Everything released over a whole generation."""

    reasoning: str | None
    content: str
    tool_calls: list[ToolCall]
    issues: list[ToolCallIssue]
    reasoning_closed: bool


class _State(enum.Enum):
    START = "start"  # an opening think tag may still come
    REASONING_START = "reasoning_start"  # inside reasoning, dropping leading newlines
    REASONING = "reasoning"
    CONTENT_START = "content_start"  # after the close tag, dropping leading whitespace
    CONTENT = "content"
    TOOL = "tool"  # inside a tool-call block, waiting for its end tag


class OutputParser:
    """Incremental parser; `feed()` chunks, then `finish()`, then read `result()`."""

    def __init__(
        self,
        *,
        think: ThinkTags | None = None,
        starts_in_reasoning: bool = False,
        tool_format: ToolFormat | None = None,
        tools: list[dict] | None = None,
    ) -> None:
        if tool_format is not None and tool_format not in get_args(ToolFormat):
            raise ValueError(f"unknown tool-call format: {tool_format!r}")
        self._think = think
        self._format = tool_format if tools else None
        self._tools = tools
        self._openers = _openers(self._format)
        self._state = _initial_state(think, starts_in_reasoning)
        self._reasoning_seen = self._state is _State.REASONING_START
        self._buf = ""
        self._scan = 0  # where to resume looking for the current block's end tag
        self._block_open = ""  # the tag that opened the current tool block
        self._block_ws = ""  # whitespace before the block: dropped on success, kept on failure
        self._calls_seen = False
        self._finished = False
        self._delta = Delta()
        self._reasoning: list[str] = []
        self._content: list[str] = []
        self._calls: list[ToolCall] = []
        self._issues: list[ToolCallIssue] = []

    def feed(self, text: str) -> Delta:
        """Add generated text; return what can be released without knowing what follows."""
        if self._finished:
            raise RuntimeError("feed() called after finish()")
        self._buf += text
        return self._run(final=False)

    def finish(self) -> Delta:
        """End of output: flush everything held back (a second call releases nothing)."""
        if self._finished:
            return Delta()
        self._finished = True
        return self._run(final=True)

    def result(self) -> ParsedOutput:
        """Everything released so far; complete once `finish()` has been called."""
        closed = self._state not in (_State.REASONING_START, _State.REASONING)
        reasoning = "".join(self._reasoning) if self._reasoning_seen else None
        content = "".join(self._content)
        return ParsedOutput(reasoning, content, list(self._calls), list(self._issues), closed)

    def _run(self, final: bool) -> Delta:
        self._delta = Delta()
        while self._step(final):
            pass
        return self._delta

    def _step(self, final: bool) -> bool:
        """Make one decision; False when nothing more can be decided with the text at hand."""
        match self._state:
            case _State.START:
                return self._step_start(final)
            case _State.REASONING_START:
                return self._step_reasoning_start()
            case _State.REASONING:
                return self._step_reasoning(final)
            case _State.CONTENT_START:
                return self._step_content_start()
            case _State.CONTENT:
                return self._step_content(final)
            case _State.TOOL:
                return self._step_tool(final)

    def _step_start(self, final: bool) -> bool:
        """An open tag at the very start (after whitespace) means the model opened reasoning."""
        assert self._think is not None
        stripped, tag = self._buf.lstrip(), self._think.open
        if stripped.startswith(tag):
            self._buf = stripped[len(tag) :]
            self._state, self._reasoning_seen = _State.REASONING_START, True
            return True
        if not final and tag.startswith(stripped):
            return False
        self._state = _State.CONTENT
        return True

    def _step_reasoning_start(self) -> bool:
        self._buf = self._buf.lstrip("\r\n")
        if not self._buf:
            return False
        self._state = _State.REASONING
        return True

    def _step_reasoning(self, final: bool) -> bool:
        assert self._think is not None
        close = self._think.close
        idx = self._buf.find(close)
        if idx >= 0:
            self._emit_reasoning(self._buf[:idx].rstrip())
            self._buf = self._buf[idx + len(close) :]
            self._state = _State.CONTENT_START
            return True
        if final:  # truncated inside reasoning: it all stays reasoning
            self._emit_reasoning(self._buf.rstrip())
            self._buf = ""
            return False
        self._release(_held_len(self._buf, (close,), hold_ws=True), self._emit_reasoning)
        return False

    def _step_content_start(self) -> bool:
        self._buf = self._buf.lstrip()
        if not self._buf:
            return False
        self._state = _State.CONTENT
        return True

    def _step_content(self, final: bool) -> bool:
        if not self._openers:
            self._release(0, self._emit_content)
            return False
        idx, tag = _find_first(self._buf, self._openers)
        if idx >= 0:
            before = self._buf[:idx]
            kept = before.rstrip()
            self._emit_content(kept)
            self._block_open, self._block_ws = tag, before[len(kept) :]
            self._buf, self._scan = self._buf[idx + len(tag) :], 0
            self._state = _State.TOOL
            return True
        if final:  # whitespace after tool calls is dropped
            self._emit_content(self._buf.rstrip() if self._calls_seen else self._buf)
            self._buf = ""
            return False
        self._release(_held_len(self._buf, self._openers, hold_ws=True), self._emit_content)
        return False

    def _step_tool(self, final: bool) -> bool:
        """Buffer a block until its end tag (or the end of output), then parse it whole."""
        end = TOOL_CLOSE if self._block_open == TOOL_OPEN else FUNC_CLOSE
        idx = self._buf.find(end, self._scan)
        if idx < 0 and not final:
            self._scan = max(0, len(self._buf) - len(end) + 1)
            return False
        closed = idx >= 0
        inner = self._buf[:idx] if closed else self._buf
        self._buf = self._buf[idx + len(end) :] if closed else ""
        raw = self._block_open + inner + (end if closed else "")
        self._handle_block(raw if self._block_open == FUNC_OPEN else inner, raw)
        self._state = _State.CONTENT
        return True

    def _handle_block(self, block: str, raw: str) -> None:
        """A good block becomes a call; one whose arguments alone are bad becomes a call with the
        raw argument text; any other bad block goes out as content, as the model wrote it. Each
        bad block is also an issue."""
        assert self._format is not None
        try:
            call = parse_tool_block(block, self._format, self._tools)
        except BadArguments as e:  # a known function: the call goes out, for the client to refuse
            self._issues.append(ToolCallIssue(raw=raw, reason=str(e)))
            self._accept(e.call)
        except ValueError as e:
            self._issues.append(ToolCallIssue(raw=raw, reason=str(e)))
            self._emit_content(self._block_ws + raw)
        else:
            self._accept(call)
        self._block_ws = ""

    def _accept(self, call: ToolCall) -> None:
        self._calls_seen = True
        self._calls.append(call)
        self._delta.tool_calls.append(call)

    def _release(self, held: int, emit: Callable[[str], None]) -> None:
        """Emit the buffer except its last `held` characters."""
        cut = len(self._buf) - held
        emit(self._buf[:cut])
        self._buf = self._buf[cut:]

    def _emit_reasoning(self, text: str) -> None:
        if text:
            self._delta.reasoning += text
            self._reasoning.append(text)

    def _emit_content(self, text: str) -> None:
        if text:
            self._delta.content += text
            self._content.append(text)


def parse_output(text: str, **kwargs: object) -> ParsedOutput:
    """Parse a complete output; same result as streaming it through `OutputParser`."""
    parser = OutputParser(**kwargs)  # type: ignore[arg-type]
    parser.feed(text)
    parser.finish()
    return parser.result()


def _initial_state(think: ThinkTags | None, starts_in_reasoning: bool) -> _State:
    """Without think tags there is no reasoning syntax, so everything is content."""
    if think is None:
        return _State.CONTENT
    return _State.REASONING_START if starts_in_reasoning else _State.START


def _openers(fmt: ToolFormat | None) -> tuple[str, ...]:
    """Tags that start a tool block; Qwen3.6 sometimes omits the `<tool_call>` wrapper."""
    if fmt is None:
        return ()
    return (TOOL_OPEN, FUNC_OPEN) if fmt == "qwen3_xml" else (TOOL_OPEN,)


def _find_first(buf: str, tags: tuple[str, ...]) -> tuple[int, str]:
    """Earliest occurrence of any tag, or (-1, "")."""
    best, found = -1, ""
    for tag in tags:
        idx = buf.find(tag)
        if idx >= 0 and (best < 0 or idx < best):
            best, found = idx, tag
    return best, found


def _held_len(buf: str, tags: tuple[str, ...], hold_ws: bool) -> int:
    """Length of the suffix that must wait: a partial tag, plus the whitespace before it
    (which is dropped if the tag completes, or if the text ends there)."""
    held = max((_partial_len(buf, tag) for tag in tags), default=0)
    if hold_ws:
        rest = buf[: len(buf) - held]
        held += len(rest) - len(rest.rstrip())
    return held


def _partial_len(buf: str, tag: str) -> int:
    """Longest suffix of `buf` that is a proper prefix of `tag`."""
    for k in range(min(len(tag) - 1, len(buf)), 0, -1):
        if buf.endswith(tag[:k]):
            return k
    return 0
