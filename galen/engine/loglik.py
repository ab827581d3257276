"""Log-likelihood scoring of many (context, continuation) pairs with as few forward passes as we can.

This is lm-evaluation-harness's `loglikelihood` request, computed the same way (the same
tokenisation, the same log-softmax over the same logits) but scheduled for throughput:

- Requests are grouped by context: every continuation of one question is scored from the same
  forward pass over the context. Single-token continuations (" A", " yes") need nothing more;
  longer ones run together in one batch on a copy of the context's KV cache.
- Contexts are visited in sorted token order, so contexts sharing a prefix (few-shot exemplars,
  a common instruction) come one after another and the shared part of the KV cache is kept
  (`cache.crop`) instead of being recomputed.
- Only the logits that are scored are computed (`logits_to_keep`), not one per context token.
- Contexts that share little with their neighbours (zero-shot questions) and whose choices are
  single tokens run several at a time in one right-padded batch on a GPU, which needs it to be
  busy (on the CPU one at a time, as fast).
  `share_prefix=False` (galen eval --deterministic) turns both kinds of sharing off, so every
  number is computed the same way whatever else was scored with it.

Models whose cache cannot be cropped (recurrent layers, e.g. Qwen3.6's Gated DeltaNet) simply
recompute each context from the start; the numbers are the same.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from galen.engine.base import Loglik

# Zero-shot contexts per forward pass (see PrefixScorer._batchable) on a GPU. On the CPU the
# engine uses 1: on 2 loaded cores a batch of 8 was no faster than one at a time (padding).
BATCH = 8
SHARED_ENOUGH = 32  # prefix tokens worth keeping in the KV cache rather than batching


@dataclass(frozen=True)
class EncodedPair:
    context: tuple[int, ...]
    continuation: tuple[int, ...]


def encode_pair(
    tokenize: Callable[[str], list[int]], context: str, continuation: str, bos: Sequence[int]
) -> tuple[list[int], list[int]]:
    """Token ids as lm-eval makes them: trailing spaces of the context move to the continuation,
    the concatenation is encoded whole and split where the context's own encoding ends (a merge
    across the boundary goes to the continuation). `bos` goes in front when the tokenizer adds
    one by itself (Gemma), as the model was trained to see it."""
    spaces = len(context) - len(context.rstrip(" "))
    if spaces:
        context, continuation = context[:-spaces], context[-spaces:] + continuation
    whole = tokenize(context + continuation)
    n_ctx = len(tokenize(context))
    return list(bos) + whole[:n_ctx], whole[n_ctx:]


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class PrefixScorer:
    """Scores encoded pairs on a transformers causal LM, reusing work between them."""

    def __init__(
        self,
        model: Any,
        device: torch.device,
        context_length: int,
        *,
        share_prefix: bool = True,
        batch: int = BATCH,
    ) -> None:
        self.model = model
        self.batch = batch
        self.device = device
        self.context_length = context_length
        # False: each context from the start, so a number never depends on which contexts were
        # scored before it (a resumed run then gives the same bits as an uninterrupted one).
        self.share_prefix = share_prefix
        self.can_crop = True  # until a cache refuses
        self.forward_tokens = 0  # tokens run through the model: what prefix sharing saves

    def score(self, pairs: Sequence[EncodedPair]) -> list[Loglik]:
        results: list[Loglik | None] = [None] * len(pairs)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, pair in enumerate(pairs):
            if not pair.continuation:
                results[i] = Loglik(0.0, True, 0)
            elif len(pair.context) + len(pair.continuation) > self.context_length:
                results[i] = self._truncated(pair)  # rare: lm-eval's left truncation, alone
            else:
                groups.setdefault(pair.context, []).append(i)
        order = sorted(groups)
        alone = self._batchable(order, groups, pairs) if self.share_prefix else set()
        cached: tuple[int, ...] = ()
        cache: Any = None
        with torch.inference_mode():
            self._score_batched(sorted(alone, key=len), groups, pairs, results)
            for context in order:
                if context in alone:
                    continue
                members = groups[context]
                cache, last_logits = self._advance(cache, cached, context)
                cached = context
                conts = [pairs[i].continuation for i in members]
                for i, got in zip(members, self._continuations(cache, last_logits, conts), strict=True):
                    results[i] = got
        return [r for r in results if r is not None]

    @staticmethod
    def _batchable(
        order: list[tuple[int, ...]], groups: dict[tuple[int, ...], list[int]], pairs: Sequence[EncodedPair]
    ) -> set[tuple[int, ...]]:
        """Contexts that gain nothing from a kept prefix (they share fewer than SHARED_ENOUGH
        tokens with their sorted neighbours: zero-shot questions) and whose continuations are
        single tokens (" A", " yes"): these run BATCH at a time, with no cache at all."""
        out = set()
        for i, context in enumerate(order):
            near = [common_prefix(context, order[j]) for j in (i - 1, i + 1) if 0 <= j < len(order)]
            single = all(len(pairs[m].continuation) == 1 for m in groups[context])
            if single and max(near, default=0) < SHARED_ENOUGH:
                out.add(context)
        return out

    def _score_batched(
        self,
        contexts: list[tuple[int, ...]],
        groups: dict[tuple[int, ...], list[int]],
        pairs: Sequence[EncodedPair],
        results: list[Loglik | None],
    ) -> None:
        """Contexts of similar length in batches, right-padded: attention is causal, so padding
        after a row's last token never reaches it; only each row's last position is projected
        onto the vocabulary."""
        for start in range(0, len(contexts), self.batch):
            chunk = contexts[start : start + self.batch]
            width = max(len(c) for c in chunk)
            rows = [list(c) + [c[-1]] * (width - len(c)) for c in chunk]
            self.forward_tokens += width * len(chunk)
            out = self.model(
                input_ids=torch.tensor(rows, device=self.device),
                use_cache=False,
                # per row, its own last position: (batch, 1) positions
                logits_to_keep=torch.tensor([[len(c) - 1] for c in chunk], device=self.device),
            )
            for row, context in enumerate(chunk):
                members = groups[context]
                last = out.logits[row, 0].float()
                conts = [pairs[i].continuation for i in members]
                for i, got in zip(members, self._continuations(None, last, conts), strict=True):
                    results[i] = got

    def _advance(self, cache: Any, cached: tuple[int, ...], context: tuple[int, ...]) -> tuple[Any, Any]:
        """Run `context` on top of whatever prefix of it the cache already holds."""
        # Keep at least the last context token to run: its logits score the first continuation token.
        keep = min(common_prefix(cached, context), len(context) - 1) if self.share_prefix else 0
        if cache is not None and keep > 0 and self.can_crop:
            try:
                cache.crop(keep - cache.get_seq_length())  # a negative count: tokens to drop
            except (AttributeError, NotImplementedError, RuntimeError, ValueError, TypeError):
                self.can_crop = False
        if cache is None or keep == 0 or not self.can_crop:
            cache, keep = None, 0
        out = self._run([list(context[keep:])], cache, logits_to_keep=1)
        return out.past_key_values, out.logits[0, -1].float()

    def _run(self, ids: list[list[int]], cache: Any, logits_to_keep: int) -> Any:
        self.forward_tokens += sum(len(row) for row in ids)
        return self.model(
            input_ids=torch.tensor(ids, device=self.device),
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=logits_to_keep,
        )

    def _continuations(self, cache: Any, first: torch.Tensor, conts: list[tuple[int, ...]]) -> list[Loglik]:
        """Every continuation of one context: the first token from `first`, the rest batched."""
        first_logprobs = torch.log_softmax(first, dim=-1)
        best = int(first_logprobs.argmax())
        rest = [c for c in conts if len(c) > 1]
        later = self._later_tokens(cache, rest) if rest else {}
        out = []
        for cont in conts:
            logprob, greedy = float(first_logprobs[cont[0]]), best == cont[0]
            if len(cont) > 1:
                more, more_greedy = later[cont]
                logprob, greedy = logprob + more, greedy and more_greedy
            out.append(Loglik(logprob, greedy, len(cont)))
        return out

    def _later_tokens(
        self, cache: Any, conts: list[tuple[int, ...]]
    ) -> dict[tuple[int, ...], tuple[float, bool]]:
        """Tokens 2..n of each continuation, in one batch on a copy of the context's cache.

        Rows are right-padded: attention is causal, so padding after a row's last real token
        never reaches that row's scored positions.
        """
        unique = sorted(set(conts))
        width = max(len(c) for c in unique) - 1
        rows = [list(c[:-1]) + [c[0]] * (width - len(c) + 1) for c in unique]
        branch = copy.deepcopy(cache)
        if len(unique) > 1:
            branch.batch_repeat_interleave(len(unique))
        logits = self._run(rows, branch, logits_to_keep=width).logits.float()
        logprobs = torch.log_softmax(logits, dim=-1)
        found = {}
        for row, cont in enumerate(unique):
            target = torch.tensor(cont[1:], device=logprobs.device)
            picked = logprobs[row, : len(target)]
            total = float(picked.gather(1, target[:, None]).sum())
            found[cont] = (total, bool((picked.argmax(dim=-1) == target).all()))
        return found

    def _truncated(self, pair: EncodedPair) -> Loglik:
        """Too long for the window: drop the oldest tokens as lm-eval does; the first token left
        has nothing before it, so it cannot be scored."""
        ids = (list(pair.context) + list(pair.continuation))[-self.context_length :]
        scored = list(pair.continuation)[-(len(ids) - 1) :]
        with torch.inference_mode():
            out = self._run([ids], None, logits_to_keep=len(scored) + 1)
        logprobs = torch.log_softmax(out.logits[0, :-1].float(), dim=-1)
        target = torch.tensor(scored, device=logprobs.device)
        total = float(logprobs.gather(1, target[:, None]).sum())
        return Loglik(total, bool((logprobs.argmax(dim=-1) == target).all()), len(pair.continuation))


# Prompt tokens run per forward pass when every position's logits are needed: bounds the logits
# tensor (tokens x vocabulary) to a few hundred MB even with Qwen3.6's 248K-token vocabulary.
SEGMENT = 256


@dataclass(frozen=True)
class RawScore:
    """A position's numbers before decoding: the token, its logprob and rank, the top ids."""

    token: int
    logprob: float | None
    rank: int | None
    top: tuple[tuple[int, float], ...]


class EchoScorer:
    """Log-probabilities of every token of whole prompts (OpenAI's `echo` with `logprobs`,
    vLLM's `prompt_logprobs`), reusing work between prompts that share a prefix.

    Prompts are visited in sorted order, so a context and its context+continuation prompts (what
    lm-eval's `local-completions` and galen's endpoint client send) come one after another: the
    KV cache of the shared part is kept (`cache.crop`) and its scores are copied, and only the
    rest runs. `share_prefix=False` scores each prompt from the start (the same numbers, to the
    last bit independent of which other prompts came in the same request).
    """

    def __init__(self, model: Any, device: torch.device, *, share_prefix: bool = True) -> None:
        self.model = model
        self.device = device
        self.share_prefix = share_prefix
        self.can_crop = True
        self.forward_tokens = 0

    def score(self, prompts: Sequence[Sequence[int]], top_n: int) -> list[tuple[list[RawScore], RawScore]]:
        """Per prompt: one RawScore per token, and the most likely next token after it."""
        done: dict[tuple[int, ...], tuple[list[RawScore], RawScore]] = {}
        previous: tuple[int, ...] = ()
        cache: Any = None
        with torch.inference_mode():
            for ids in sorted({tuple(p) for p in prompts}):
                keep = min(common_prefix(previous, ids), len(ids) - 1) if self.share_prefix else 0
                cache, start = self._rewind(cache, keep)
                new, following, cache = self._run_from(ids, start, cache, top_n)
                head = done[previous][0][: start + 1] if start else [RawScore(ids[0], None, None, ())]
                done[ids] = (head + new, following)
                previous = ids
        return [done[tuple(p)] for p in prompts]

    def _rewind(self, cache: Any, keep: int) -> tuple[Any, int]:
        """The cache cut to tokens 0..keep-2, and `start` = keep-1: running from there gives the
        logits at position keep-1, which score token `keep`. (None, 0): run from the start."""
        start = keep - 1
        if cache is None or start <= 0 or not self.can_crop:
            return None, 0
        try:
            cache.crop(start - cache.get_seq_length())  # a negative count: tokens to drop
        except (AttributeError, NotImplementedError, RuntimeError, ValueError, TypeError):
            self.can_crop = False
            return None, 0
        return cache, start

    def _run_from(
        self, ids: tuple[int, ...], start: int, cache: Any, top_n: int
    ) -> tuple[list[RawScore], RawScore, Any]:
        """Run ids[start:] on `cache`, SEGMENT tokens at a time: the scores of tokens start+1..,
        the most likely token after the last, and the grown cache."""
        rows: list[RawScore] = []
        following = RawScore(0, None, None, ())
        for begin in range(start, len(ids), SEGMENT):
            chunk = list(ids[begin : begin + SEGMENT])
            self.forward_tokens += len(chunk)
            out = self.model(
                input_ids=torch.tensor([chunk], device=self.device), past_key_values=cache, use_cache=True
            )
            cache = out.past_key_values
            logprobs = torch.log_softmax(out.logits[0].float(), dim=-1)
            targets = list(ids[begin + 1 : begin + 1 + len(chunk)])  # what each position predicts
            rows += self._rows(logprobs[: len(targets)], targets, top_n)
            if begin + len(chunk) == len(ids):
                following = self._rows(logprobs[-1:], [int(logprobs[-1].argmax())], top_n)[0]
        return rows, following, cache

    @staticmethod
    def _rows(logprobs: torch.Tensor, targets: list[int], top_n: int) -> list[RawScore]:
        if not targets:
            return []
        target = torch.tensor(targets, device=logprobs.device)
        picked = logprobs.gather(1, target[:, None])
        ranks = (logprobs > picked).sum(dim=-1) + 1
        if top_n > 0:
            top = torch.topk(logprobs, min(top_n, logprobs.shape[-1]), dim=-1)
            top_ids, top_lps = top.indices.tolist(), top.values.tolist()
        else:
            top_ids = top_lps = [[] for _ in targets]
        return [
            RawScore(t, lp, int(r), tuple(zip(i, v, strict=True)))
            for t, lp, r, i, v in zip(
                targets, picked[:, 0].tolist(), ranks.tolist(), top_ids, top_lps, strict=True
            )
        ]
