"""Chat on top of any engine: messages in, reasoning / content / tool calls out.

This is the one place where a chat turn becomes engine calls, so every engine behaves the same:
the prompt is rendered with the model's template (`chat.template`), the output is split by the
one parser (`chat.parser`), and two features that need more than one engine call live here:

- `thinking_budget`: reasoning is generated up to the budget; if the think block is still open,
  galen closes it and lets the model answer. A request without one gets the model's default
  (`ModelSource.thinking_budget`: the embedded SmolLM2's, see `models.embedded`); -1 asks for none.
- forced tool calls (`tool_choice` required or named): after the reasoning, the call's opening
  is appended and the model completes it (see `chat.tool_choice`).
- structured outputs (`output_format`): the answer after the reasoning is generated under the
  same JSON-schema constraint as a forced call's arguments (see `chat.output_format`), so the
  reasoning stays free, as with vLLM's reasoning parsers.

Each extra call continues the same text, so llama.cpp's and vLLM's prompt caches make it cheap.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from galen.chat.messages import has_media, normalize_messages, template_messages
from galen.chat.output_format import OutputFormat
from galen.chat.parser import Delta, OutputParser, ParsedOutput
from galen.chat.template import ChatTemplate
from galen.chat.tool_choice import CALL_CLOSE, ForcedCall, forced_call, validate_tool_choice
from galen.chat.tool_prompt import template_renders_tools, with_tool_instructions
from galen.engine.base import Engine, FinishReason, GenerationRequest, MediaPrompt, TokenLogprob
from galen.engine.sampling import PRESETS, SamplingParams
from galen.errors import BadRequest, ContextWindowExceeded, ModelLoadError
from galen.media import MediaInput, MediaPolicy, collect_media
from galen.models.source import ModelSource

# A request's `thinking_budget` that lifts the model's default budget (llama.cpp's
# `--reasoning-budget -1` means the same).
NO_BUDGET = -1


@dataclass
class ChatRequest:
    """One chat turn, already validated at the API boundary."""

    messages: list[dict[str, Any]]
    sampling: SamplingParams = field(default_factory=SamplingParams)
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = "auto"
    parallel_tool_calls: bool = True
    enable_thinking: bool | None = None
    preserve_thinking: bool | None = None
    template_kwargs: dict[str, Any] = field(default_factory=dict)
    thinking_budget: int | None = None  # None: the model's default; NO_BUDGET: none
    mm_processor_kwargs: dict[str, Any] | None = None  # video frame sampling (fps, num_frames, ...)
    output_format: OutputFormat | None = None  # a JSON constraint on the answer (response_format)
    logprobs: int | None = None  # None: none; k: each generated token's, with k alternatives


@dataclass
class Prompt:
    text: str
    ids: list[int]  # counted once, and sent as ids so the engine need not tokenize again
    thinking: bool
    starts_in_reasoning: bool
    tools: list[dict[str, Any]] | None
    media: MediaPrompt | None = None  # images or video, already checked and encoded by the engine

    @property
    def tokens(self) -> int:
        return len(self.ids)


@dataclass
class Prepared:
    request: ChatRequest
    prompt: Prompt
    budget: int  # completion tokens allowed: max_tokens, or what is left of the window


@dataclass
class ChatEvent:
    """A streamed piece; the last event has `finish_reason` and token counts."""

    delta: Delta
    finish_reason: FinishReason | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    output: ParsedOutput | None = None  # the whole parsed output, on the last event only
    reasoning_tokens: int = 0  # on the last event
    logprobs: list[TokenLogprob] = field(default_factory=list)  # tokens generated since the last event
    stop_sequence: str | None = None  # on the last event: the request's stop string that ended it


@dataclass
class ChatResult:
    output: ParsedOutput
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int = 0


class ChatEngine:
    """An engine plus what its model's files say about chat (template, family profile)."""

    def __init__(self, engine: Engine, source: ModelSource, media_policy: MediaPolicy | None = None) -> None:
        if not source.chat_template:
            raise ModelLoadError(f"{source.model_id} has no chat template; pass --chat-template")
        self.engine = engine
        self.source = source
        self.media_policy = media_policy or MediaPolicy()
        self.profile = source.profile
        self.template = ChatTemplate(source.chat_template, source.bos_token, source.eos_token)

    # -- prompt ---------------------------------------------------------------------------
    def thinking_enabled(self, request: ChatRequest) -> bool:
        wanted = request.enable_thinking
        if wanted is None:
            wanted = request.template_kwargs.get("enable_thinking")
        if wanted is None:
            wanted = self.profile.thinks_by_default
        return bool(wanted) and self.profile.supports_thinking

    def thinking_budget(self, request: ChatRequest) -> int | None:
        """Reasoning tokens allowed: the request's budget, else the model's default; None: no
        limit but max_tokens."""
        budget = request.thinking_budget
        if budget is None:
            return self.source.thinking_budget
        return None if budget == NO_BUDGET else budget

    def default_sampling(self, thinking: bool) -> SamplingParams:
        """The family's preset for this mode; in the model's default mode, the model's own
        defaults (generation_config.json, a GGUF's general.sampling keys) override it field by
        field: they were written for the way the model is used unless told otherwise."""
        preset = PRESETS[self.profile.default_preset(thinking)]
        default_mode = self.profile.thinks_by_default and self.profile.supports_thinking
        return preset.updated(**self.source.generation) if thinking == default_mode else preset

    def _tools_for(self, request: ChatRequest) -> list[dict[str, Any]] | None:
        validate_tool_choice(request.tool_choice, request.tools)
        if not request.tools or request.tool_choice == "none":
            return None
        if not self.profile.supports_tools:
            raise BadRequest("tools", f"the {self.profile.family} model family has no tool-call format")
        return request.tools

    @property
    def media_kinds(self) -> tuple[str, ...]:
        """The media a request may carry: images and video on a vision model whose engine takes them."""
        return ("image", "video") if self.source.vision and self.engine.info.supports_media else ()

    def _media(self, messages: list[dict[str, Any]], request: ChatRequest) -> MediaInput | None:
        if not has_media(messages):
            return None
        if not self.engine.info.supports_media:
            raise BadRequest(
                "messages",
                f"{self.source.model_id} has a vision encoder, but galen's {self.engine.info.name} engine "
                "cannot take images or video; serve it with --engine transformers or --engine vllm",
                code="media_not_supported",
            )
        return collect_media(messages, self.media_policy, request.mm_processor_kwargs)

    def render(self, request: ChatRequest) -> Prompt:
        thinking = self.thinking_enabled(request)
        tools = self._tools_for(request)
        messages = normalize_messages(request.messages, vision=self.source.vision)
        media = self._media(messages, request)
        if tools and not template_renders_tools(self.template.source):
            messages = with_tool_instructions(messages, tools, self.profile.tool_format)  # type: ignore[arg-type]
        kwargs = {**request.template_kwargs, "enable_thinking": thinking}
        if request.preserve_thinking is not None:
            kwargs["preserve_thinking"] = request.preserve_thinking
        text = self.template.render(template_messages(messages), tools=tools, **kwargs)
        think = self.profile.think
        opens = bool(thinking and think and text.rstrip().endswith(think.open))
        if media is None:
            return Prompt(text, self.engine.tokenize(text), thinking, opens, tools)
        encoded = self.engine.encode_media(MediaPrompt(text, media))
        return Prompt(text, encoded.ids, thinking, opens, tools, encoded)

    def _budget(self, prompt: Prompt, sampling: SamplingParams) -> int:
        """Tokens the answer may use. A max_tokens past the window is clamped to what is left
        (the card asks for 81,920 tokens; a small model's window is smaller); a prompt that
        leaves no room at all is an error."""
        room = self.engine.info.context_length - prompt.tokens
        if room < 1:
            raise ContextWindowExceeded(
                prompt.tokens, sampling.max_tokens or 0, self.engine.info.context_length
            )
        return min(sampling.max_tokens or room, room)

    def check_features(self, request: ChatRequest) -> None:
        """A 400 naming the field when the engine cannot do what the request asks."""
        if request.output_format is not None:
            self.engine.check_json_schema(request.output_format.schema, request.output_format.param)
        if request.logprobs is not None and not self.engine.info.supports_logprobs:
            name = self.engine.info.name
            raise BadRequest("logprobs", f"the {name} engine does not return log-probabilities")

    def prepare(self, request: ChatRequest) -> Prepared:
        """Render and check a request before any token is generated, so errors come first."""
        self.check_features(request)
        prompt = self.render(request)
        return Prepared(request, prompt, self._budget(prompt, request.sampling))

    # -- generation -----------------------------------------------------------------------
    def run(self, prepared: Prepared, seed: int | None = None, stream: bool = True) -> Iterator[ChatEvent]:
        """Generate one choice; `seed` overrides the request's (for `n` > 1). `stream=False`
        lets the engine deliver the answer whole (see GenerationRequest)."""
        request = prepared.request
        if seed is not None:
            request = replace(request, sampling=replace(request.sampling, seed=seed))
        yield from _Run(self, request, prepared.prompt, prepared.budget, stream).events()

    def stream(self, request: ChatRequest, stream: bool = True) -> Iterator[ChatEvent]:
        yield from self.run(self.prepare(request), stream=stream)

    def complete(self, request: ChatRequest) -> ChatResult:
        """The same events as `stream`, gathered: streamed and non-streamed output are equal."""
        last = ChatEvent(Delta())
        for event in self.stream(request, stream=False):
            last = event
        assert last.output is not None, "a chat stream always ends with the parsed output"
        return ChatResult(
            last.output,
            last.finish_reason or "stop",
            last.prompt_tokens,
            last.completion_tokens,
            last.reasoning_tokens,
        )


class _Run:
    """One generation: up to three engine calls (reasoning, forced call or answer) on one text."""

    def __init__(
        self, chat: ChatEngine, request: ChatRequest, prompt: Prompt, budget: int, stream: bool = True
    ) -> None:
        self.chat, self.request, self.prompt, self.budget = chat, request, prompt, budget
        self.stream = stream
        profile = chat.profile
        self.parser = OutputParser(
            think=profile.think,
            starts_in_reasoning=prompt.starts_in_reasoning,
            tool_format=profile.tool_format,
            tools=prompt.tools,
        )
        self.generated = ""
        self.used = 0
        self.prompt_tokens = prompt.tokens  # an engine that expands media itself may report more
        self.finish: FinishReason = "stop"
        self.stop_sequence: str | None = None
        self.forced = (
            forced_call(request.tool_choice, prompt.tools, profile.tool_format) if prompt.tools else None
        )
        # The answer's constraint; a forced call has its own (and a call is the whole answer).
        output_format = request.output_format
        self.answer_schema = output_format.schema if output_format and not self.forced else None

    def events(self) -> Iterator[ChatEvent]:
        think = self.chat.profile.think
        budget = self.chat.thinking_budget(self.request)
        # Reasoning first, in its own call, when the answer after it is forced or constrained.
        separate = budget is not None or self.forced or self.answer_schema is not None
        if self.prompt.starts_in_reasoning and think and separate:
            limit = min(self.budget if budget is None else budget, self.budget)
            if limit > 0:
                yield from self._call(limit, stop_after=think.close)
            if self.left <= 0:
                # The reasoning took all of max_tokens: the turn ends there, as OpenAI's and
                # vLLM's do (finish "length", no answer). A forced call is not started: it would
                # need a token more than max_tokens, and its opening is galen's text, not the model's.
                self.finish = "length"
                yield from self._end()
                return
            if think.close not in self.generated:
                yield from self._inject(f"\n{think.close}\n\n")
            elif self.answer_schema is not None and self.generated.endswith(think.close):
                # The constraint allows no leading whitespace: write the break the model would.
                yield from self._inject("\n\n")
        if self.forced:
            yield from self._forced(self.forced)
        elif self.left > 0:
            yield from self._call(self.left, schema=self.answer_schema)
        yield from self._end()

    @property
    def left(self) -> int:
        return self.budget - self.used

    def _forced(self, call: ForcedCall) -> Iterator[ChatEvent]:
        yield from self._inject(call.prefix)
        if call.json_schema is not None and self.chat.engine.info.supports_json_schema:
            yield from self._call(self.left, schema=call.json_schema, extra_stop=call.stop)
            yield from self._inject(call.suffix)
            return
        # Unconstrained: the model writes the rest of the call itself; stop at its closing tag.
        yield from self._call(self.left, extra_stop=(CALL_CLOSE,))
        yield from self._inject(CALL_CLOSE)

    def _inject(self, text: str) -> Iterator[ChatEvent]:
        """Text galen writes on the model's behalf; parsed exactly like generated text."""
        self.generated += text
        delta = self.parser.feed(text)
        if delta:
            yield ChatEvent(delta)

    def _call(
        self,
        max_tokens: int,
        *,
        stop_after: str | None = None,
        schema: dict[str, Any] | None = None,
        extra_stop: tuple[str, ...] = (),
    ) -> Iterator[ChatEvent]:
        sampling = self.request.sampling
        sampling = sampling.updated(max_tokens=max_tokens, stop=tuple(sampling.stop) + extra_stop)
        # Stopping after the think block needs the text as it comes.
        per_token = self.stream or stop_after is not None
        request = GenerationRequest(
            self._prompt(), sampling, schema, stream=per_token, logprobs=self.request.logprobs
        )
        start = len(self.generated)
        stream = self.chat.engine.stream(request)
        try:
            for chunk in stream:
                self.generated += chunk.text
                if chunk.finish_reason:
                    self.finish = chunk.finish_reason
                    # Only the request's own stops count: galen's (a call's closing tag) are not the user's.
                    user_stop = chunk.stop_sequence in self.request.sampling.stop
                    self.stop_sequence = chunk.stop_sequence if user_stop else None
                    if self.prompt.media and not start and chunk.prompt_tokens:
                        self.prompt_tokens = chunk.prompt_tokens
                    self.used += chunk.completion_tokens or self.chat.engine.count_tokens(
                        self.generated[start:]
                    )
                delta = self.parser.feed(chunk.text)
                if delta or chunk.logprobs:
                    yield ChatEvent(delta, logprobs=chunk.logprobs)
                if stop_after and stop_after in self.generated[start:] and not chunk.finish_reason:
                    self.used += self.chat.engine.count_tokens(self.generated[start:])
                    self.finish = "stop"
                    break
        finally:
            stream.close()

    def _prompt(self) -> str | list[int] | MediaPrompt:
        """What to send: the prompt's ids, or, for a continuation, its text and what the model
        wrote and galen added, tokenized together (media prompts are encoded again with it)."""
        media = self.prompt.media
        if not self.generated:
            return media or self.prompt.ids
        text = self.prompt.text + self.generated
        return self.chat.engine.encode_media(MediaPrompt(text, media.media)) if media else text

    def _end(self) -> Iterator[ChatEvent]:
        delta = self.parser.finish()
        output = self.parser.result()
        thought = self.chat.engine.count_tokens(output.reasoning) if output.reasoning else 0
        last = ChatEvent(delta, self.finish, self.prompt_tokens, self.used, output, thought)
        last.stop_sequence = self.stop_sequence
        yield last
