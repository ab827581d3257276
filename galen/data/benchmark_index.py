"""Stages 1 and 2 of decontamination: which training texts overlap which benchmark items.

What is computed (words as `ngrams.words()` reads them):

- Stage 1, candidates: a training text and a benchmark item are a candidate pair when they share a
  run of n words that is specific to the item. n is `ngram` (default 8), or half the item's length
  for items shorter than 2n words, never less than `min_block`. A run is *boilerplate*, and makes
  no candidate, when more than `boilerplate` benchmark items contain it ("which of the following
  is the most likely diagnosis" is in hundreds): shared boilerplate is not a leak, and without this
  rule every exam-style training text would be a candidate for every short boilerplate item.
- Stage 2, alignment: difflib's matching blocks of at least `min_block` words (default 5) for the
  pair (`align.align`, equal to the Fully Open Meditron code's difflib call); a match when they
  cover at least `threshold` (default 0.5) of the benchmark item's words.

How it is kept fast. Candidate pairs come from posting lists of item-specific n-grams, which are
short by construction. Before aligning a pair, a bound that never undercounts is checked:

- every word a block of >= min_block words covers lies in a window of min_block words that both
  texts contain;
- for each item, `covered_by_common` counts its words covered by boilerplate windows (whatever
  the training text is); the other windows of the item are rare;
- so covered words <= covered_by_common[item] + min_block * (rare windows of the item that the
  training text contains). A pair whose bound is below the threshold cannot match and is not
  aligned; every other pair is aligned, so the result is exactly the naive one on the candidates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from galen.data.align import align, bench_seed_index
from galen.data.ngrams import Batch, Vocabulary, Windows, window_hashes, words


@dataclass(frozen=True)
class BenchmarkItem:
    """One benchmark item as decontamination sees it: where it is from and the text to protect."""

    task: str
    id: str
    text: str


@dataclass(frozen=True)
class Hit:
    """Training text `text` (index in the scanned batch) matches benchmark item `item` (index)."""

    text: int
    item: int
    score: float


@dataclass
class ScanStats:
    """texts: scanned. candidates: texts in some candidate pair (stage 1). candidate_pairs: pairs.
    pairs_aligned: pairs the bound let through to alignment. hits: matching pairs (stage 2)."""

    texts: int = 0
    candidates: int = 0
    candidate_pairs: int = 0
    pairs_aligned: int = 0
    hits: int = 0

    def add(self, other: ScanStats) -> None:
        for name in ("texts", "candidates", "candidate_pairs", "pairs_aligned", "hits"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class Postings:
    """Sorted unique hashes; hash k has entries items[start[k]:start[k + 1]] (and their counts).

    `seen` is a bitmap of the hashes' top bits, about 16 slots per hash: a query whose slot is
    empty is absent without a binary search, which is most queries (training text is mostly not
    benchmark text).
    """

    hashes: np.ndarray
    start: np.ndarray
    items: np.ndarray
    counts: np.ndarray
    seen: np.ndarray
    shift: np.uint64

    @classmethod
    def build(cls, hashes: np.ndarray, items: np.ndarray) -> Postings:
        """Group (hash, item) pairs by hash; equal pairs become one entry with a count."""
        order = np.lexsort((items, hashes))
        hashes, items = hashes[order], items[order]
        new = np.ones(len(hashes), dtype=bool)
        new[1:] = (hashes[1:] != hashes[:-1]) | (items[1:] != items[:-1])
        entry = np.flatnonzero(new)
        counts = np.diff(np.append(entry, len(hashes)))
        hashes, items = hashes[entry], items[entry]
        first = np.ones(len(hashes), dtype=bool)
        first[1:] = hashes[1:] != hashes[:-1]
        start = np.append(np.flatnonzero(first), len(hashes))
        unique = hashes[first]
        bits = max(16, int(np.ceil(np.log2(16 * len(unique) + 1))))
        shift = np.uint64(64 - bits)
        seen = np.zeros(1 << bits, dtype=bool)
        seen[(unique >> shift).astype(np.int64)] = True
        return cls(unique, start, items, counts, seen, shift)

    def items_per_hash(self) -> np.ndarray:
        return np.diff(self.start)

    def find(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each query hash: whether it is here, and its row (meaningless where absent)."""
        found = self.seen[(hashes >> self.shift).astype(np.int64)]
        maybe = np.flatnonzero(found)
        row = np.zeros(len(hashes), dtype=np.int64)
        if len(maybe) and len(self.hashes):
            at = np.minimum(np.searchsorted(self.hashes, hashes[maybe]), len(self.hashes) - 1)
            found[maybe] = self.hashes[at] == hashes[maybe]
            row[maybe] = at
        return found, row

    def expand(self, owners: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(owner, item, count) for every entry of the posting lists `rows`, each with its owner."""
        lengths = self.start[rows + 1] - self.start[rows]
        step = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        index = np.repeat(self.start[rows], lengths) + step
        return np.repeat(owners, lengths), self.items[index], self.counts[index]


@dataclass
class BenchmarkIndex:
    """The benchmark items, tokenised and indexed for `scan()` (see the module docstring).

    boilerplate: a run of words in more items than this makes no candidate; None means
        max(2, 0.1% of the items).
    """

    items: list[BenchmarkItem]
    ngram: int = 8
    min_block: int = 5
    threshold: float = 0.5
    boilerplate: int | None = None
    vocab: Vocabulary = field(default_factory=Vocabulary)

    def __post_init__(self) -> None:
        if self.boilerplate is None:
            self.boilerplate = max(2, math.ceil(0.001 * len(self.items)))
        self.tokens = [self.vocab.add(words(item.text)) for item in self.items]
        self.lengths = np.array([len(t) for t in self.tokens], dtype=np.int64)
        self.seed = min(self.ngram, self.min_block)
        self.item_ngram = np.clip(self.lengths // 2, self.seed, self.ngram)
        self._seed_indexes: dict[int, dict[tuple[int, ...], list[int]]] = {}
        batch = Batch.of(self.tokens)
        self.sizes = np.unique(self.item_ngram).tolist()
        windows = window_hashes(batch, [*self.sizes, self.min_block])
        self.grams = {n: self._specific_grams(windows[n], n) for n in self.sizes}
        self._build_bound(batch, windows[self.min_block])

    def _specific_grams(self, grams: Windows, n: int) -> Postings:
        """The n-grams of the items whose n is `n`, leaving out boilerplate."""
        every = Postings.build(grams.hashes, grams.text)
        found, row = every.find(grams.hashes)
        keep = (every.items_per_hash()[row] <= self.boilerplate) & (self.item_ngram[grams.text] == n)
        return Postings.build(grams.hashes[keep], grams.text[keep])

    def _build_bound(self, batch: Batch, windows: Windows) -> None:
        every = Postings.build(windows.hashes, windows.text)
        found, row = every.find(windows.hashes)
        common = every.items_per_hash()[row] > self.boilerplate
        self.rare = Postings.build(windows.hashes[~common], windows.text[~common])
        # words of each item under some common window: +1 where such a window starts, -1 after it
        first_word = batch.offsets[windows.text[common]] + windows.start[common]
        edges = np.zeros(len(batch.ids) + 1, dtype=np.int64)
        np.add.at(edges, first_word, 1)
        np.add.at(edges, first_word + self.min_block, -1)
        covered = np.cumsum(edges[:-1]) > 0
        owner = np.repeat(np.arange(len(self.items)), self.lengths)
        self.covered_by_common = np.bincount(owner[covered], minlength=len(self.items))

    def seed_index(self, item: int) -> dict[tuple[int, ...], list[int]]:
        if item not in self._seed_indexes:
            self._seed_indexes[item] = bench_seed_index(self.tokens[item], self.seed)
        return self._seed_indexes[item]

    def scan(self, texts: Sequence[str]) -> tuple[list[Hit], ScanStats]:
        """Every (text, benchmark item) match among `texts`, and how much work finding them took."""
        if not self.items:
            return [], ScanStats(texts=len(texts))
        batch = self.vocab.batch(texts)
        windows = window_hashes(batch, [*self.sizes, self.min_block])
        pairs = self._candidate_pairs(windows)
        stats = ScanStats(texts=len(texts), candidate_pairs=len(pairs))
        stats.candidates = len(np.unique(pairs // len(self.items)))
        pairs = self._within_bound(windows[self.min_block], len(texts), pairs)
        hits = []
        for key in pairs.tolist():
            text, item = divmod(key, len(self.items))
            result = align(
                batch.text_ids(text),
                self.tokens[item],
                min_block=self.min_block,
                seed=self.seed,
                bench_index=self.seed_index(item),
            )
            if result.longest_run >= self.item_ngram[item] and result.score >= self.threshold:
                hits.append(Hit(text, item, result.score))
        stats.pairs_aligned = len(pairs)
        stats.hits = len(hits)
        return hits, stats

    def _candidate_pairs(self, windows: dict[int, Windows]) -> np.ndarray:
        """Keys text * len(items) + item of the pairs sharing an item-specific n-gram (stage 1)."""
        keys = []
        for n, postings in self.grams.items():
            grams = windows[n]
            found, row = postings.find(grams.hashes)
            text, item, _ = postings.expand(grams.text[found], row[found])
            keys.append(text * len(self.items) + item)
        return np.unique(np.concatenate(keys)) if keys else np.zeros(0, dtype=np.int64)

    def _within_bound(self, windows: Windows, texts: int, pairs: np.ndarray) -> np.ndarray:
        """The candidate pairs whose bound on covered words reaches the threshold."""
        if not len(pairs):
            return pairs
        candidate = np.zeros(texts, dtype=bool)
        candidate[pairs // len(self.items)] = True
        keep = candidate[windows.text]
        found, row = self.rare.find(windows.hashes[keep])
        text, row = windows.text[keep][found], row[found]
        distinct = np.unique(text * len(self.rare.hashes) + row)  # a training window counts once
        text, row = np.divmod(distinct, len(self.rare.hashes))
        owner, item, count = self.rare.expand(text, row)
        keys, inverse = np.unique(owner * len(self.items) + item, return_inverse=True)
        rare_windows = np.bincount(inverse, weights=count, minlength=len(keys))
        shared = _lookup(keys, rare_windows, pairs)
        item = pairs % len(self.items)
        bound = self.covered_by_common[item] + self.min_block * shared
        return pairs[bound / self.lengths[item] >= self.threshold]  # the same test as for a score


def _lookup(keys: np.ndarray, values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """values[k] where keys[k] == query (keys sorted), 0 where a query is not among the keys."""
    if not len(keys):
        return np.zeros(len(queries))
    at = np.minimum(np.searchsorted(keys, queries), len(keys) - 1)
    return np.where(keys[at] == queries, values[at], 0)
