"""The engine interface: a prompt goes in, text comes out as it is sampled.

Engines know nothing about chat: messages, templates, thinking and tool calls live in
`galen.chat`, so every engine behaves the same. An engine only turns a prompt (text or token
ids) into streamed text under sampling parameters, and counts tokens.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from galen.engine.sampling import SamplingParams
from galen.errors import BadRequest
from galen.media import MediaInput

FinishReason = Literal["stop", "length"]


@dataclass
class MediaPrompt:
    """A prompt with images or video: the text as the chat template wrote it (one placeholder
    per item), the items, and what the engine made of them (`Engine.encode_media`)."""

    text: str
    media: MediaInput
    ids: list[int] = field(default_factory=list)  # with placeholders expanded where the engine can
    features: Any = None  # engine-specific: pixel tensors for transformers, a request body for vLLM

    @property
    def encoded(self) -> bool:
        return bool(self.ids)


@dataclass(frozen=True)
class TokenLogprob:
    """A generated token and its log-probability under the model: the raw distribution, before
    temperature, penalties or a grammar reshaped it (as vLLM and llama.cpp report it). `top`
    holds the most likely tokens at that position, best first (their own `top` is empty)."""

    token: str
    logprob: float
    bytes: tuple[int, ...] = ()
    top: tuple[TokenLogprob, ...] = ()
    id: int | None = None  # the token id, where the engine gives it


@dataclass
class GenerationRequest:
    """One completion. `json_schema` constrains the output where the engine supports it;
    `logprobs` (None: none) asks for each generated token's `TokenLogprob` with that many
    alternatives, where `EngineInfo.supports_logprobs`.

    `stream=False` says the caller does not need each token as it comes: an engine may deliver
    the text in larger pieces (llama.cpp: every `HELD_TOKENS` tokens, sparing a Python round trip
    per token). Closing the stream still cancels the generation, within a piece.
    """

    prompt: str | list[int] | MediaPrompt
    sampling: SamplingParams = field(default_factory=SamplingParams)
    json_schema: dict[str, Any] | None = None
    stream: bool = True
    logprobs: int | None = None


@dataclass
class Chunk:
    """A piece of generated text. The last chunk of a stream has `finish_reason` and usage.
    `logprobs`: the tokens generated since the previous chunk, when the request asked for them
    (a token's text may be released in a later chunk than its log-probability)."""

    text: str
    finish_reason: FinishReason | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    logprobs: list[TokenLogprob] = field(default_factory=list)
    stop_sequence: str | None = None  # the stop string that ended the text, where the engine says


@dataclass(frozen=True)
class EngineInfo:
    """What a client may ask of an engine before sending work."""

    name: str
    model_id: str
    context_length: int
    max_concurrency: int = 1
    supports_json_schema: bool = False
    supports_media: bool = False  # images/video reach the model (see `Engine.encode_media`)
    supports_logprobs: bool = False  # generated tokens' log-probabilities (`GenerationRequest.logprobs`)


class Engine(ABC):
    """Prompt -> streamed text. Implementations must be safe to call from several threads."""

    info: EngineInfo

    @abstractmethod
    def tokenize(self, text: str) -> list[int]:
        """Token ids of `text` as the model sees it (special tokens parsed, no BOS added)."""

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def encode_media(self, prompt: MediaPrompt) -> MediaPrompt:
        """Decode and check the media, and count the prompt's tokens, before anything runs.
        Engines with `info.supports_media` override this."""
        raise BadRequest(
            "messages", f"the {self.info.name} engine cannot take images or video", code="media_not_supported"
        )

    def check_json_schema(self, schema: dict[str, Any], param: str) -> None:
        """Raise a 400 naming `param` if this engine cannot enforce `schema`; called before any
        generation. Engines whose server compiles the schema itself (remote, vLLM) report a
        schema they cannot compile when the request reaches them."""
        if not self.info.supports_json_schema:
            raise BadRequest(param, f"the {self.info.name} engine cannot constrain output to a JSON schema")

    @abstractmethod
    def stream(self, request: GenerationRequest) -> Iterator[Chunk]:
        """Yield text as it is generated; closing the iterator early cancels the generation."""

    def generate(self, request: GenerationRequest) -> Chunk:
        """The whole completion as one chunk (finish reason and usage of the last one)."""
        parts: list[str] = []
        logprobs: list[TokenLogprob] = []
        last = Chunk(text="")
        for chunk in self.stream(request):
            parts.append(chunk.text)
            logprobs += chunk.logprobs
            last = chunk
        text, usage = "".join(parts), (last.prompt_tokens, last.completion_tokens)
        return Chunk(text, last.finish_reason, *usage, logprobs, stop_sequence=last.stop_sequence)

    def close(self) -> None:  # noqa: B027 - engines without resources need not override it
        """Free the model; the engine is unusable afterwards."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class LoglikRequest:
    """log P(continuation | context), lm-eval's `loglikelihood` request."""

    context: str
    continuation: str


@dataclass(frozen=True)
class Loglik:
    """The summed log-probability of the continuation's tokens, and whether greedy decoding
    would have produced exactly those tokens."""

    logprob: float
    greedy: bool
    tokens: int


@dataclass(frozen=True)
class TokenScore:
    """One token of a prompt as the model saw it: its log-probability given the tokens before it
    (None for the first, which has nothing before it), its rank among all tokens there (1 = the
    most likely), and the most likely tokens there as (id, text, logprob), best first."""

    token: int
    text: str
    logprob: float | None
    rank: int | None
    top: tuple[tuple[int, str, float], ...] = ()


@dataclass
class PromptScores:
    """Every token of one prompt, scored (`Engine.prompt_logprobs` of engines that can), and the
    most likely token to follow it (`following.token` is greedy decoding's next token)."""

    text: str  # the prompt as text (token-id prompts decoded)
    tokens: list[TokenScore]
    following: TokenScore
