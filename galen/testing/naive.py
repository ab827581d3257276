"""The naive way, for tests and the benchmark only: what `BenchmarkIndex.scan` must equal.

As the Fully Open Meditron code does it: n-grams as Python tuples in sets, every candidate pair
aligned with `difflib.SequenceMatcher(None, train, bench, autojunk=False)`, blocks of at least
`min_block` words summed. The candidate rule is the same as the fast path's (item-specific
n-grams: n per item, boilerplate left out), computed independently here from the word lists.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from galen.data.benchmark_index import BenchmarkIndex, Hit
from galen.data.ngrams import words


def difflib_score(train: Sequence, bench: Sequence, min_block: int = 5) -> float:
    """Covered fraction of `bench` by difflib's matching blocks of at least `min_block`."""
    if not bench:
        return 0.0
    matcher = difflib.SequenceMatcher(None, train, bench, autojunk=False)
    covered = sum(block.size for block in matcher.get_matching_blocks() if block.size >= min_block)
    return covered / len(bench)


def _grams(tokens: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


class NaiveIndex:
    """The candidate rule of `BenchmarkIndex`, as sets of word tuples."""

    def __init__(self, index: BenchmarkIndex) -> None:
        self.index = index
        self.bench = [words(item.text) for item in index.items]
        self.n = [int(n) for n in index.item_ngram]
        holders: dict[tuple[str, ...], set[int]] = {}
        for k, tokens in enumerate(self.bench):
            for n in set(self.n):
                for gram in _grams(tokens, n):
                    holders.setdefault(gram, set()).add(k)
        self.specific: dict[tuple[str, ...], list[int]] = {}
        for gram, items in holders.items():
            if len(items) <= index.boilerplate:
                mine = [k for k in items if self.n[k] == len(gram)]
                if mine:
                    self.specific[gram] = mine

    def candidates(self, text: str) -> list[int]:
        tokens = words(text)
        found: set[int] = set()
        for n in set(self.n):
            for gram in _grams(tokens, n):
                found.update(self.specific.get(gram, ()))
        return sorted(found)

    def scan(self, texts: Sequence[str]) -> tuple[list[Hit], int]:
        """Every match, and how many candidate pairs were aligned with difflib."""
        hits, pairs = [], 0
        for t, text in enumerate(texts):
            tokens = words(text)
            for k in self.candidates(text):
                pairs += 1
                score = difflib_score(tokens, self.bench[k], self.index.min_block)
                if score >= self.index.threshold:
                    hits.append(Hit(t, k, score))
        return hits, pairs
