"""An engine on Hugging Face transformers: any causal LM folder or GGUF file, on CPU or GPU.

It is the reference engine: slow, but it runs every architecture transformers knows (the
Qwen3.6 hybrid Gated DeltaNet included) and gives exact log-likelihoods for evaluation. A folder
whose config has a `vision_config` loads as a vision-language model, and takes images and video
(`engine.vision` prepares them); text-only requests run on it unchanged.
Generation is a plain token loop over the KV cache rather than `model.generate`, so a stream
can be cancelled between any two tokens and sampling matches the other engines' parameters.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from galen.engine import grammar
from galen.engine.base import (
    Chunk,
    Engine,
    EngineInfo,
    FinishReason,
    GenerationRequest,
    Loglik,
    LoglikRequest,
    MediaPrompt,
    PromptScores,
    TokenLogprob,
    TokenScore,
)
from galen.engine.loglik import BATCH, EchoScorer, EncodedPair, PrefixScorer, RawScore, encode_pair
from galen.engine.sampling import SamplingParams
from galen.errors import ContextWindowExceeded, EngineError, ModelLoadError

try:
    import torch
    import transformers
except ImportError as exc:  # the hf extra is optional; say how to get it
    raise ModelLoadError(
        f"the transformers engine needs torch and transformers ({exc.name} is missing): "
        "pip install 'galen[hf]'"
    ) from exc

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def pick_device(device: str) -> torch.device:
    """`auto`: the first GPU when torch sees one, else the CPU; else what `device` names."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, ValueError):
        raise ModelLoadError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N") from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError(f"device {device!r} asked for, but this torch sees no CUDA GPU")
    return chosen


def _resolve_source(path: str | Path, gguf_file: str | None) -> tuple[Path, str | None]:
    """(folder, gguf file name or None); a path to a .gguf file names both."""
    path = Path(path).expanduser()
    if gguf_file is None and path.suffix == ".gguf":
        return path.parent, path.name
    if gguf_file is not None and Path(gguf_file).is_absolute():
        return Path(gguf_file).parent, Path(gguf_file).name
    return path, gguf_file


def _config_keys(folder: Path) -> set[str]:
    try:
        return set(json.loads((folder / "config.json").read_text()))
    except (OSError, ValueError):
        return set()


def _as_list(value: int | Sequence[int] | None) -> list[int]:
    if value is None:
        return []
    return [int(value)] if isinstance(value, int) else [int(v) for v in value]


class TransformersEngine(Engine):
    """Prompt -> text with a transformers causal LM; one generation at a time."""

    def __init__(
        self,
        path: str | Path,
        *,
        gguf_file: str | None = None,
        model_id: str | None = None,
        context_length: int | None = None,
        device: str = "cpu",
        dtype: str = "auto",
        extra_eos: tuple[str, ...] = (),
        deterministic: bool = False,
    ) -> None:
        folder, gguf = _resolve_source(path, gguf_file)
        source = folder / gguf if gguf else folder
        if not source.exists():
            raise ModelLoadError(f"no model at {source}")
        self.device = pick_device(device)
        # Scores never depend on what was scored before (no prefix kept across contexts).
        self.deterministic = deterministic
        self.tokenizer, self.model = self._load(folder, gguf, dtype)
        self.vision = self._vision(folder) if gguf is None else None
        config_context = getattr(self.model.config.get_text_config(), "max_position_embeddings", None)
        ctx = context_length or config_context or 4096
        self.info = EngineInfo(
            name="transformers",
            model_id=model_id or (Path(gguf).stem if gguf else folder.name),
            context_length=int(ctx),
            max_concurrency=1,
            supports_json_schema=True,
            supports_media=self.vision is not None,
            supports_logprobs=True,
        )
        self.eos_ids = self._eos_ids(extra_eos)
        self._bos_prefix = self._tokenizer_bos()
        self._lock = threading.Lock()
        self._grammar_tokenizer: Any = None  # llguidance's view of the vocabulary, built when first needed
        self._grammar_lock = threading.Lock()  # not _lock: that one is held for a whole generation

    def _load(self, folder: Path, gguf: str | None, dtype: str) -> tuple[Any, Any]:
        kwargs: dict[str, Any] = {"local_files_only": True}
        if gguf:
            kwargs["gguf_file"] = gguf
        torch_dtype: Any = "auto" if dtype == "auto" else _DTYPES.get(dtype)
        if torch_dtype is None:
            raise ModelLoadError(f"unknown dtype {dtype!r}; choose auto, {', '.join(_DTYPES)}")
        # A vision-language checkpoint loads whole (vision tower included) as image-text-to-text.
        auto = transformers.AutoModelForCausalLM
        if not gguf and "vision_config" in _config_keys(folder):
            auto = transformers.AutoModelForImageTextToText
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(folder, **kwargs)
            model = auto.from_pretrained(folder, dtype=torch_dtype, **kwargs)
        except (OSError, ValueError, KeyError, ImportError) as exc:
            raise ModelLoadError(f"could not load {folder / (gguf or '')}: {exc}") from exc
        return tokenizer, model.to(self.device).eval()

    def _vision(self, folder: Path) -> Any:
        if getattr(self.model.config, "vision_config", None) is None:
            return None
        from galen.engine.vision import QwenVision

        try:
            return QwenVision(folder, self.tokenizer, self.model.config)
        except (OSError, ValueError, KeyError, AttributeError) as exc:
            raise ModelLoadError(f"{folder} has a vision tower but no usable image processor: {exc}") from exc

    def _reset_positions(self) -> None:
        """Forget the M-RoPE offset a previous image or video left on the model (transformers
        keeps it on the module between calls), so each request starts from its own positions."""
        inner = getattr(self.model, "model", None)
        if getattr(inner, "rope_deltas", None) is not None:
            inner.rope_deltas = None

    def _eos_ids(self, extra_eos: tuple[str, ...]) -> frozenset[int]:
        ids = _as_list(getattr(self.model.generation_config, "eos_token_id", None))
        ids += _as_list(self.tokenizer.eos_token_id)
        for text in extra_eos:
            token_ids = self.tokenize(text)
            if len(token_ids) != 1:
                raise ModelLoadError(f"extra_eos {text!r} is not a single token: {token_ids}")
            ids += token_ids
        return frozenset(ids)

    def _tokenizer_bos(self) -> list[int]:
        """[BOS] when the tokenizer adds one by default (the model expects it), else []."""
        bos = self.tokenizer.bos_token_id
        if bos is None:
            return []
        return [bos] if self.tokenizer.encode("a", add_special_tokens=True)[:1] == [bos] else []

    def _start_ids(self) -> list[int]:
        """The token to condition on when there is no text: BOS, else EOS (as lm-eval does)."""
        bos, eos = self.tokenizer.bos_token_id, self.tokenizer.eos_token_id
        return [bos] if bos is not None else [eos] if eos is not None else [0]

    # -- tokens ---------------------------------------------------------------------------------

    def tokenize(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def encode_media(self, prompt: MediaPrompt) -> MediaPrompt:
        """Decode the media and expand the template's placeholders into vision tokens."""
        if self.vision is None:
            return super().encode_media(prompt)
        return self.vision.encode(prompt)

    def _decode(self, ids: Sequence[int]) -> str:
        # Special tokens stay: the chat layer parses <think> and <tool_call> out of the text.
        return self.tokenizer.decode(list(ids), skip_special_tokens=False, clean_up_tokenization_spaces=False)

    # -- generation -----------------------------------------------------------------------------

    def stream(self, request: GenerationRequest) -> Iterator[Chunk]:
        """Validate now (errors raise at the call, before any chunk), then generate lazily."""
        if self.model is None:
            raise EngineError("the transformers engine is closed")
        features = None
        if isinstance(request.prompt, MediaPrompt):
            encoded = request.prompt if request.prompt.encoded else self.encode_media(request.prompt)
            prompt, features = list(encoded.ids), encoded.features
        elif isinstance(request.prompt, str):
            prompt = self.tokenize(request.prompt)
        else:
            prompt = list(request.prompt)
        ctx = self.info.context_length
        wanted = request.sampling.max_tokens
        if not prompt:  # the model needs one token to start from
            prompt = self._start_ids()
        if len(prompt) >= ctx or (wanted is not None and len(prompt) + wanted > ctx):
            raise ContextWindowExceeded(len(prompt), wanted or 1, ctx)
        max_tokens = wanted if wanted is not None else ctx - len(prompt)
        constraint = self._constraint(request.json_schema)
        return self._generate(prompt, request.sampling, max_tokens, features, constraint, request.logprobs)

    # -- structured outputs and log-probabilities -------------------------------------------------

    def check_json_schema(self, schema: dict[str, Any], param: str) -> None:
        grammar.check_schema(schema, param)

    def _constraint(self, schema: dict[str, Any] | None) -> grammar.TokenConstraint | None:
        if schema is None:
            return None
        with self._grammar_lock:
            if self._grammar_tokenizer is None:
                vocab = self.model.get_output_embeddings().weight.shape[0]
                self._grammar_tokenizer = grammar.hf_tokenizer(self.tokenizer, vocab)
        return grammar.TokenConstraint(self._grammar_tokenizer, schema, self.eos_ids)

    def _token_logprob(self, logits: torch.Tensor, token: int, top: int) -> TokenLogprob:
        """`token`'s log-probability under the raw logits, with the `top` most likely tokens."""
        logprobs = torch.log_softmax(logits, dim=-1)
        alternatives: tuple[TokenLogprob, ...] = ()
        if top:
            values, ids = torch.topk(logprobs, top)
            alternatives = tuple(self._logprob(int(i), float(v)) for v, i in zip(values, ids, strict=True))
        chosen = self._logprob(token, float(logprobs[token]))
        return TokenLogprob(chosen.token, chosen.logprob, chosen.bytes, alternatives, token)

    def _logprob(self, token: int, logprob: float) -> TokenLogprob:
        text = self._decode([token])
        return TokenLogprob(text, logprob, tuple(text.encode()), id=token)

    def _forward(
        self, ids: list[int], cache: Any, features: dict[str, Any] | None = None
    ) -> tuple[torch.Tensor, Any]:
        """Logits (float32) after the last of `ids`, and the grown cache; `features` are the
        pixel inputs of a media prompt, given with its first call only."""
        # inference_mode per call, never across a yield: it is thread-local and would leak into
        # the consumer's code between chunks.
        with torch.inference_mode():
            out = self.model(
                input_ids=torch.tensor([ids], device=self.device),
                past_key_values=cache,
                use_cache=True,
                logits_to_keep=1,
                **{k: v.to(self.device) for k, v in (features or {}).items()},
            )
        return out.logits[0, -1].float(), out.past_key_values

    def _generate(
        self,
        prompt: list[int],
        sampling: SamplingParams,
        max_tokens: int,
        features: dict[str, Any] | None,
        constraint: grammar.TokenConstraint | None = None,
        top_logprobs: int | None = None,
    ) -> Iterator[Chunk]:
        """The token loop. `constraint` masks the logits before sampling; `top_logprobs` (None:
        none) reports each token's log-probability under the raw logits, before either."""
        with self._lock:
            self._reset_positions()
            sampler = _Sampler(sampling, prompt, self.device)
            # A few prompt tokens give the decoder context, so a leading space of the first
            # generated token is kept (SentencePiece decoders strip it at the start of a text).
            text = _TextStream(self._decode, sampling.stop, context=prompt[-4:])
            cache: Any = None
            logits, cache = self._forward(prompt, cache, features)
            finish: FinishReason = "length"
            produced = 0
            logprobs: list[TokenLogprob] = []  # not handed over yet
            while produced < max_tokens:
                token = sampler.next(constraint.apply(logits) if constraint else logits)
                produced += 1
                if token in self.eos_ids:
                    finish = "stop"
                    break
                entry = None if top_logprobs is None else self._token_logprob(logits, token, top_logprobs)
                piece, stopped = text.push(token)
                if stopped:  # the token that completed a stop string is not part of the answer
                    finish = "stop"
                    break
                if entry is not None:
                    logprobs.append(entry)
                if piece:
                    yield Chunk(piece, logprobs=logprobs)
                    logprobs = []
                if constraint:
                    constraint.advance(token)
                    if constraint.done:
                        finish = "stop"
                        break
                if produced < max_tokens:
                    logits, cache = self._forward([token], cache)
            tail = text.finish()
            if text.stopped:  # the last characters may have completed a stop string
                finish = "stop"
            yield Chunk(tail, finish, len(prompt), produced, logprobs, stop_sequence=text.hit)

    # -- scoring --------------------------------------------------------------------------------

    def loglikelihoods(self, requests: Sequence[LoglikRequest]) -> list[Loglik]:
        """Score many (context, continuation) pairs the lm-eval way, sharing work between them
        (see `engine.loglik`). An empty context is conditioned on BOS (else EOS), as in lm-eval."""
        pairs = []
        for r in requests:
            ctx, cont = encode_pair(self.tokenize, r.context, r.continuation, self._bos_prefix)
            pairs.append(EncodedPair(tuple(ctx or self._start_ids()), tuple(cont)))
        with self._lock:
            if self.model is None:
                raise EngineError("the transformers engine is closed")
            self._reset_positions()
            scorer = PrefixScorer(
                self.model,
                self.device,
                self.info.context_length,
                share_prefix=not self.deterministic,
                batch=BATCH if self.device.type == "cuda" else 1,
            )
            return scorer.score(pairs)

    def prompt_logprobs(self, prompts: Sequence[str | Sequence[int]], top_n: int = 0) -> list[PromptScores]:
        """Every token of each prompt scored (`engine.loglik.EchoScorer`), with the `top_n` most
        likely tokens at each position. A text prompt is encoded as `loglikelihoods` encodes a
        context (BOS in front when the tokenizer adds one), so an endpoint's scores match this
        process's; a token-id prompt is taken as it is."""
        encoded = [
            self._bos_prefix + self.tokenize(p) if isinstance(p, str) else [int(t) for t in p]
            for p in prompts
        ]
        for param, ids in enumerate(encoded):
            if not ids or len(ids) > self.info.context_length:
                raise ContextWindowExceeded(len(ids), 0, self.info.context_length, f"prompt[{param}]")
        with self._lock:
            if self.model is None:
                raise EngineError("the transformers engine is closed")
            self._reset_positions()
            scorer = EchoScorer(self.model, self.device, share_prefix=not self.deterministic)
            scored = scorer.score(encoded, top_n)
        out = []
        for prompt, ids, (rows, following) in zip(prompts, encoded, scored, strict=True):
            text = prompt if isinstance(prompt, str) else self.detokenize(ids)
            out.append(PromptScores(text, self._named(rows), self._named([following])[0]))
        return out

    def _named(self, rows: list[RawScore]) -> list[TokenScore]:
        """RawScores with each token's text (the token decoded alone, as OpenAI shows it)."""
        ids = sorted({r.token for r in rows} | {t for r in rows for t, _ in r.top})
        pieces = self.tokenizer.batch_decode(
            [[i] for i in ids], skip_special_tokens=False, clean_up_tokenization_spaces=False
        )
        text = dict(zip(ids, pieces, strict=True))
        return [
            TokenScore(r.token, text[r.token], r.logprob, r.rank, tuple((t, text[t], lp) for t, lp in r.top))
            for r in rows
        ]

    def detokenize(self, ids: Sequence[int]) -> str:
        return self._decode(ids)

    def loglikelihood(self, context: str, continuation: str) -> tuple[float, bool]:
        """log P(continuation | context) and whether greedy decoding would produce it."""
        got = self.loglikelihoods([LoglikRequest(context, continuation)])[0]
        return got.logprob, got.greedy

    def close(self) -> None:
        with self._lock:
            self.model = None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()


class _Sampler:
    """Chooses the next token from logits under SamplingParams."""

    def __init__(self, params: SamplingParams, prompt: list[int], device: torch.device) -> None:
        self.params = params
        self.seen_list = list(prompt)  # prompt + output, for the repetition penalty
        self.generated: list[int] = []
        self.generator = torch.Generator(device=device)
        seed = params.seed if params.seed is not None else secrets.randbits(63)
        self.generator.manual_seed(seed)

    def next(self, logits: torch.Tensor) -> int:
        logits = self._penalise(logits)
        if self.params.temperature == 0:
            token = int(logits.argmax().item())
        else:
            probs = _filtered_probs(logits / self.params.temperature, self.params)
            token = int(torch.multinomial(probs, 1, generator=self.generator).item())
        self.generated.append(token)
        self.seen_list.append(token)
        return token

    def _penalise(self, logits: torch.Tensor) -> torch.Tensor:
        p = self.params
        if p.repetition_penalty != 1.0 and self.seen_list:
            # HF style: over prompt and output, shrink positive logits and push negative ones down.
            ids = torch.tensor(sorted(set(self.seen_list)), device=logits.device)
            picked = logits[ids]
            logits = logits.clone()
            logits[ids] = torch.where(
                picked < 0, picked * p.repetition_penalty, picked / p.repetition_penalty
            )
        if (p.presence_penalty or p.frequency_penalty) and self.generated:
            # OpenAI style: over output tokens only.
            counts = torch.bincount(
                torch.tensor(self.generated, device=logits.device), minlength=logits.numel()
            )[: logits.numel()].to(logits.dtype)
            logits = (
                logits - p.frequency_penalty * counts - p.presence_penalty * (counts > 0).to(logits.dtype)
            )
        return logits


def _filtered_probs(logits: torch.Tensor, p: SamplingParams) -> torch.Tensor:
    """Probabilities after top-k, top-p and min-p, in that order (logits already tempered)."""
    if p.top_k > 0 and p.top_k < logits.numel():
        kth = torch.topk(logits, p.top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    if p.top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        # Drop a token when the tokens before it already reach top_p; the first always stays.
        drop_sorted = (torch.cumsum(sorted_probs, dim=-1) - sorted_probs) >= p.top_p
        probs = probs.masked_fill(drop_sorted.scatter(0, order, drop_sorted), 0.0)
    if p.min_p > 0.0:
        probs = probs.masked_fill(probs < p.min_p * probs.max(), 0.0)
    return probs / probs.sum()


class _TextStream:
    """Token ids -> text pieces that never split a UTF-8 character or show part of a stop string.

    Decoding is incremental (the text of ids[prefix:] minus that of ids[prefix:read]), so a
    long generation costs O(n), and a piece is released only once it no longer ends in U+FFFD
    (an incomplete multi-byte character) and cannot be the start of a stop string.
    """

    def __init__(self, decode: Any, stop: Sequence[str], context: Sequence[int] = ()) -> None:
        self.decode = decode
        self.stop = [s for s in stop if s]
        self.ids: list[int] = list(context)
        self.prefix = 0  # ids[prefix:read] is already released; it is context for the next piece
        self.read = len(self.ids)
        self.pending = ""  # decoded text not yet released
        self.stopped = False
        self.hit: str | None = None  # the stop string found
        self._stop_text = ""

    def _new_text(self, final: bool) -> str:
        before = self.decode(self.ids[self.prefix : self.read])
        after = self.decode(self.ids[self.prefix :])
        if len(after) <= len(before) or (after.endswith("\ufffd") and not final):
            return ""
        self.prefix, self.read = self.read, len(self.ids)
        return after[len(before) :]

    def push(self, token: int) -> tuple[str, bool]:
        """Add a token; return the text now safe to show and whether a stop string was hit."""
        self.ids.append(token)
        return self._release(self._new_text(final=False), final=False)

    def _release(self, new: str, final: bool) -> tuple[str, bool]:
        self.pending += new
        hits = [(i, s) for s in self.stop if (i := self.pending.find(s)) >= 0]
        if hits:
            self.stopped = True
            at, self.hit = min(hits)
            self._stop_text = self.pending[:at]
            self.pending = ""
            return "", True
        hold = 0 if final else self._partial_stop_len()
        cut = len(self.pending) - hold
        out, self.pending = self.pending[:cut], self.pending[cut:]
        return out, False

    def _partial_stop_len(self) -> int:
        """Length of the longest end of `pending` that begins some stop string."""
        best = 0
        for s in self.stop:
            for k in range(min(len(s) - 1, len(self.pending)), best, -1):
                if s.startswith(self.pending[-k:]):
                    best = k
                    break
        return best

    def finish(self) -> str:
        """The rest of the text at the end of a generation: up to the stop string if one was hit,
        else everything left (an incomplete character included)."""
        if not self.stopped:
            out, _ = self._release(self._new_text(final=True), final=True)
            if not self.stopped:
                return out
        out, self._stop_text = self._stop_text, ""
        return out
