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

    def __init__(self, model: Any, device: torch.device, context_length: int) -> None:
        self.model = model
        self.device = device
        self.context_length = context_length
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
        cached: tuple[int, ...] = ()
        cache: Any = None
        with torch.inference_mode():
            for context in sorted(groups):
                members = groups[context]
                cache, last_logits = self._advance(cache, cached, context)
                cached = context
                conts = [pairs[i].continuation for i in members]
                for i, got in zip(members, self._continuations(cache, last_logits, conts), strict=True):
                    results[i] = got
        return [r for r in results if r is not None]

    def _advance(self, cache: Any, cached: tuple[int, ...], context: tuple[int, ...]) -> tuple[Any, Any]:
        """Run `context` on top of whatever prefix of it the cache already holds."""
        # Keep at least the last context token to run: its logits score the first continuation token.
        keep = min(common_prefix(cached, context), len(context) - 1)
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
