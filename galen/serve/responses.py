"""POST /v1/responses (OpenAI's Responses API) and GET /v1/responses/{id}.

A request becomes the chat turn chat completions would run (`turn.py`): `instructions` is the
system message, `input` items become messages (`responses_input.py`), and a
`previous_response_id` puts the stored conversation before them (`responses_store.py`). The
answer is a list of output items: a `reasoning` item carrying the thinking (as `reasoning_text`
content), a `message` with the answer, and a `function_call` item per tool call, built by the
same block assembler as the Messages API (`blocks.py`). Streamed, the items are sent as OpenAI's
typed events, each with a `sequence_number`: `response.created`, `response.in_progress`, per
item `response.output_item.added`, its content part and text deltas, `...done` events, then
`response.completed` with the whole response (its `status` is `incomplete` when
`max_output_tokens` cut it short).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request

from galen.chat.tool_choice import effective_tool_choice
from galen.engine.chat import ChatEvent, ChatRequest, Prepared
from galen.errors import BadRequest, NotFound
from galen.serve.blocks import Block, BlockAssembler, BlockEvent
from galen.serve.disconnect import complete_or_cancel
from galen.serve.limits import Admission
from galen.serve.responses_input import input_messages
from galen.serve.responses_protocol import NamedFunction, ResponsesRequest
from galen.serve.state import ServerState
from galen.serve.streaming import error_json, sse_event, start_stream
from galen.serve.turn import Turn, chat_request, events, gather, prepare

router = APIRouter()
ID_PREFIX = {"reasoning": "rs", "text": "msg", "tool_call": "fc"}


def _history(state: ServerState, body: ResponsesRequest) -> list[dict[str, Any]]:
    if body.previous_response_id is None:
        return []
    stored = state.responses.get(body.previous_response_id)
    if stored is None:
        raise BadRequest(
            "previous_response_id",
            f"no stored response {body.previous_response_id!r}: it was sent with store: false, was "
            "pushed out of the server's bounded store (--max-stored-responses), or the server restarted",
            code="previous_response_not_found",
        )
    return list(stored.messages)


def _thinking(body: ResponsesRequest) -> bool | None:
    effort = body.reasoning.effort if body.reasoning else None
    return None if effort is None else effort != "none"


def _choice(body: ResponsesRequest, field: str) -> Any:
    """One of the request's tool choices in chat completions' terms."""
    choice = getattr(body, field)
    if isinstance(choice, NamedFunction):
        names = [t.name for t in body.tools or []]
        if choice.name not in names:
            raise BadRequest(f"{field}.name", f"{choice.name!r} is not one of the tools: {names}")
        return {"type": "function", "function": {"name": choice.name}}
    return choice


def _tool_choice(body: ResponsesRequest, messages: list[dict[str, Any]]) -> Any:
    """`tool_choice`, or galen's `tool_choice_after_result` once a tool result follows the last
    user message: the rule chat completions applies (`effective_tool_choice`)."""
    after = _choice(body, "tool_choice_after_result")
    return effective_tool_choice(_choice(body, "tool_choice"), after, messages)


def _tools(body: ResponsesRequest) -> list[dict[str, Any]] | None:
    if not body.tools:
        return None
    return [
        {"type": "function", "function": tool.model_dump(exclude={"type"}, exclude_none=True)}
        for tool in body.tools
    ]


def _conversation(state: ServerState, body: ResponsesRequest) -> list[dict[str, Any]]:
    """The stored history and this input, as chat messages (without the instructions)."""
    return _history(state, body) + input_messages(body.input, state.chat.source.vision)


def _chat_request(
    state: ServerState, body: ResponsesRequest, conversation: list[dict[str, Any]]
) -> ChatRequest:
    system = [{"role": "system", "content": body.instructions}] if body.instructions else []
    turn = Turn(
        messages=system + conversation,
        tools=_tools(body),
        tool_choice=_tool_choice(body, conversation),
        parallel_tool_calls=body.parallel_tool_calls,
        enable_thinking=_thinking(body),
        temperature=body.temperature,
        top_p=body.top_p,
        max_tokens=body.max_output_tokens,
        output_format=body.text.format.output_format() if body.text and body.text.format else None,
    )
    return chat_request(state, turn, body)


class _Response:
    """The response object, its output items, and what is stored of it."""

    def __init__(self, state: ServerState, body: ResponsesRequest, model: str, request: ChatRequest) -> None:
        self.state, self.body, self.model, self.request = state, body, model, request
        self.id = f"resp_{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.item_ids: dict[int, str] = {}

    def item_id(self, block: Block) -> str:
        if block.index not in self.item_ids:
            self.item_ids[block.index] = f"{ID_PREFIX[block.kind]}_{uuid.uuid4().hex}"
        return self.item_ids[block.index]

    def item(self, block: Block, status: str = "completed") -> dict[str, Any]:
        base = {"id": self.item_id(block), "status": status}
        if block.kind == "reasoning":
            content = [{"type": "reasoning_text", "text": block.text}] if block.text else []
            return {**base, "type": "reasoning", "summary": [], "content": content}
        if block.kind == "text":
            content = [_text_part(block.text)] if status != "in_progress" else []
            return {**base, "type": "message", "role": "assistant", "content": content}
        call = block.call
        assert call is not None
        arguments = call.arguments if status != "in_progress" else ""
        return {
            **base,
            "type": "function_call",
            "call_id": call.id,
            "name": call.name,
            "arguments": arguments,
        }

    def object(
        self,
        status: str,
        output: list[dict[str, Any]],
        usage: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        body, sampling = self.body, self.request.sampling
        incomplete = {"reason": "max_output_tokens"} if status == "incomplete" else None
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "status": status,
            "error": error,
            "incomplete_details": incomplete,
            "instructions": body.instructions,
            "max_output_tokens": body.max_output_tokens,
            "model": self.model,
            "output": output,
            "parallel_tool_calls": body.parallel_tool_calls,
            "previous_response_id": body.previous_response_id,
            "reasoning": {"effort": body.reasoning.effort if body.reasoning else None, "summary": None},
            "store": body.store,
            "temperature": sampling.temperature,
            "text": {
                "format": body.text.format.echo() if body.text and body.text.format else {"type": "text"}
            },
            "tool_choice": body.tool_choice.model_dump()
            if isinstance(body.tool_choice, NamedFunction)
            else body.tool_choice or "auto",
            "tools": [t.model_dump(exclude_none=True) for t in body.tools or []],
            "top_p": sampling.top_p,
            "truncation": "disabled",
            "usage": usage,
            "metadata": body.metadata or {},
            "user": body.user,
        }

    def finish(self, blocks: BlockAssembler, last: ChatEvent, conversation: list[dict[str, Any]]) -> dict:
        """The final response object; stored (unless `store: false`) for a later turn."""
        status = "incomplete" if last.finish_reason == "length" else "completed"
        output = [self.item(b) for b in blocks.blocks]
        if status == "incomplete" and output and output[-1]["type"] != "function_call":
            output[-1]["status"] = "incomplete"  # the text the limit cut (a parsed call is whole)
        usage = {
            "input_tokens": last.prompt_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": last.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": last.reasoning_tokens},
            "total_tokens": last.prompt_tokens + last.completion_tokens,
        }
        response = self.object(status, output, usage)
        self.state.metrics.count_tokens(last.prompt_tokens, last.completion_tokens)
        if self.body.store:
            self.state.responses.put(self.id, [*conversation, _assistant_message(blocks)], response)
        return response


def _format_echo(body: ResponsesRequest) -> dict[str, Any]:
    return body.text.format.echo() if body.text and body.text.format else {"type": "text"}


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _assistant_message(blocks: BlockAssembler) -> dict[str, Any]:
    """The answer as the chat message a later turn's template reads."""
    reasoning = [b.text for b in blocks.blocks if b.kind == "reasoning"]
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(b.text for b in blocks.blocks if b.kind == "text"),
    }
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    if blocks.calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in blocks.calls
        ]
    return message


class _Events:
    """Block events -> the Responses API's typed stream events, numbered in order."""

    def __init__(self, out: _Response) -> None:
        self.out = out
        self.sequence = 0
        self.closing_status = "completed"  # "incomplete" for the block that max_output_tokens cut

    def emit(self, kind: str, **payload: Any) -> str:
        event = {"type": kind, "sequence_number": self.sequence, **payload}
        self.sequence += 1
        return sse_event(kind, event)

    def block(self, event: BlockEvent) -> list[str]:
        block = event.block
        where = {"item_id": self.out.item_id(block), "output_index": block.index}
        part = {"type": "reasoning_text", "text": ""} if block.kind == "reasoning" else _text_part("")
        if event.kind == "start":
            added = [self.emit("response.output_item.added", output_index=block.index,
                               item=self.out.item(block, "in_progress"))]  # fmt: skip
            if block.kind == "tool_call":
                delta = block.call.arguments if block.call else ""
                return [*added, self.emit("response.function_call_arguments.delta", **where, delta=delta)]
            return [*added, self.emit("response.content_part.added", **where, content_index=0, part=part)]
        if event.kind == "delta":
            if block.kind == "reasoning":
                return [
                    self.emit("response.reasoning_text.delta", **where, content_index=0, delta=event.text)
                ]
            return [
                self.emit(
                    "response.output_text.delta", **where, content_index=0, delta=event.text, logprobs=[]
                )
            ]
        return self._done(block, where)

    def _done(self, block: Block, where: dict[str, Any]) -> list[str]:
        """The block's closing events, the item's own last (events are numbered as emitted)."""
        if block.kind == "tool_call":
            arguments = block.call.arguments if block.call else ""
            out = [self.emit("response.function_call_arguments.done", **where, arguments=arguments)]
        elif block.kind == "reasoning":
            part = {"type": "reasoning_text", "text": block.text}
            out = [
                self.emit("response.reasoning_text.done", **where, content_index=0, text=block.text),
                self.emit("response.content_part.done", **where, content_index=0, part=part),
            ]
        else:
            text, part = block.text, _text_part(block.text)
            out = [
                self.emit("response.output_text.done", **where, content_index=0, text=text, logprobs=[]),
                self.emit("response.content_part.done", **where, content_index=0, part=part),
            ]
        status = self.closing_status if block.kind != "tool_call" else "completed"
        item = self.out.item(block, status)
        return [*out, self.emit("response.output_item.done", output_index=block.index, item=item)]

    def failed(self, exc: BaseException) -> list[str]:
        """An error after the stream started: `response.failed` with the error, then the end."""
        error = error_json(exc)["error"]
        failure = {"code": error.get("code") or error.get("type"), "message": error["message"]}
        return [self.emit("response.failed", response=self.out.object("failed", [], error=failure))]


async def _complete(
    state: ServerState, admission: Admission, prepared: Prepared, out: _Response, conversation: list
) -> dict[str, Any]:
    blocks, last = await gather(admission, state, prepared)
    return out.finish(blocks, last, conversation)


async def _stream(
    state: ServerState, admission: Admission, prepared: Prepared, out: _Response, writer: _Events,
    conversation: list,
) -> AsyncIterator[str]:  # fmt: skip
    blocks = BlockAssembler(prepared.request.parallel_tool_calls)
    last: ChatEvent | None = None
    async with events(admission, state, prepared, stream=True) as chat_events:
        async for event in chat_events:
            if last is None:  # only once the engine has answered, so early errors are HTTP errors
                yield writer.emit("response.created", response=out.object("in_progress", []))
                yield writer.emit("response.in_progress", response=out.object("in_progress", []))
            last = event
            for block_event in blocks.feed(event.delta):
                for sse in writer.block(block_event):
                    yield sse
    assert last is not None, "a chat stream always ends with an event"
    writer.closing_status = "incomplete" if last.finish_reason == "length" else "completed"
    for block_event in blocks.finish():
        for sse in writer.block(block_event):
            yield sse
    # Always `response.completed`, its status saying `incomplete` when cut off, as vLLM and
    # llama.cpp send it (OpenAI sends `response.incomplete`, which the SDK's stream helper cannot
    # finish on).
    yield writer.emit("response.completed", response=out.finish(blocks, last, conversation))


@router.post("/v1/responses")
async def create_response(body: ResponsesRequest, request: Request) -> Any:
    state: ServerState = request.app.state.galen
    model = state.check_model(body.model)
    conversation = _conversation(state, body)
    chat = _chat_request(state, body, conversation)
    out = _Response(state, body, model, chat)
    async with state.limiter.admit(1, param=None) as admission:
        prepared = await prepare(admission, state, chat)
        if body.stream:
            owned, writer = admission.transfer(), _Events(out)
            return await start_stream(
                owned, _stream(state, owned, prepared, out, writer, conversation), writer.failed
            )
        return await complete_or_cancel(request, _complete(state, admission, prepared, out, conversation))


@router.get("/v1/responses/{response_id}")
async def get_response(response_id: str, request: Request) -> dict[str, Any]:
    state: ServerState = request.app.state.galen
    stored = state.responses.get(response_id)
    if stored is None:
        raise NotFound(f"no stored response {response_id!r}", param="response_id", code="response_not_found")
    return stored.response
