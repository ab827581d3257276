"""Token alignment of a training text against a benchmark item: difflib's answer, found faster.

The Fully Open Meditron pipeline scores a candidate pair with

    blocks = difflib.SequenceMatcher(None, train, bench, autojunk=False).get_matching_blocks()
    score = sum(b.size for b in blocks if b.size >= min_block) / len(bench)

`align()` returns the same blocks (those of at least `min_block` words) and so the same score,
without difflib's word-by-word dynamic programme:

1. Seeds: every place where the same `seed` words (seed <= min_block) start in both texts, found
   through a dict of the benchmark's windows. Seeds on one diagonal (i - j) that follow each other
   join into a *run*: a maximal stretch of equal words.
2. difflib's recursion on those runs: the longest match inside a region is the longest run clipped
   to it (ties: earliest in the training text, then earliest in the benchmark item, as
   `find_longest_match` breaks them); it is kept, and the parts left and right of it are searched
   the same way. A region whose longest match is shorter than `min_block` is not searched further:
   nothing inside it could count.

Runs also answer stage 1 exactly: the texts share an n-gram when some run is at least n long.
`tests/test_data_align.py` checks the equality with difflib (`naive.difflib_score`) on thousands
of random pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Block:
    """train[i:i + size] == bench[j:j + size]."""

    i: int
    j: int
    size: int


@dataclass(frozen=True)
class Alignment:
    """blocks: difflib's matching blocks of at least min_block words, sorted.
    longest_run: the longest stretch of words the texts share (>= n means they share an n-gram).
    score: covered words of the benchmark item / its length.
    """

    blocks: tuple[Block, ...]
    longest_run: int
    score: float


def bench_seed_index(bench: Sequence[int], seed: int) -> dict[tuple[int, ...], list[int]]:
    """Where each window of `seed` words starts in the benchmark item (positions ascending)."""
    index: dict[tuple[int, ...], list[int]] = {}
    for j in range(len(bench) - seed + 1):
        index.setdefault(tuple(bench[j : j + seed]), []).append(j)
    return index


def runs(
    train: Sequence[int], bench_index: dict[tuple[int, ...], list[int]], seed: int
) -> list[tuple[int, int, int]]:
    """Maximal stretches (i, j, length) of at least `seed` equal words, one per diagonal stretch."""
    seeds = []
    for i in range(len(train) - seed + 1):
        for j in bench_index.get(tuple(train[i : i + seed]), ()):
            seeds.append((i - j, i))
    seeds.sort()
    found = []
    k = 0
    while k < len(seeds):
        diagonal, first = seeds[k]
        last = first
        while k + 1 < len(seeds) and seeds[k + 1] == (diagonal, last + 1):
            k += 1
            last += 1
        found.append((first, first - diagonal, last - first + seed))
        k += 1
    return found


def _longest(
    stretches: list[tuple[int, int, int]], alo: int, ahi: int, blo: int, bhi: int
) -> tuple[int, int, int]:
    """difflib's find_longest_match(alo, ahi, blo, bhi), among the given maximal stretches."""
    best = (alo, blo, 0)
    for i, j, size in stretches:
        cut = max(alo - i, blo - j, 0)
        k = min(ahi - i, bhi - j, size) - cut
        if k <= 0:
            continue
        start = (i + cut, j + cut)
        if k > best[2] or (k == best[2] and start < best[:2]):
            best = (start[0], start[1], k)
    return best


def align(
    train: Sequence[int],
    bench: Sequence[int],
    *,
    min_block: int = 5,
    seed: int | None = None,
    bench_index: dict[tuple[int, ...], list[int]] | None = None,
) -> Alignment:
    """The blocks difflib.SequenceMatcher(None, train, bench, autojunk=False) matches, when at least
    `min_block` long, and the score they give (see the module docstring).

    seed: window length for finding stretches (default min_block; smaller finds shorter stretches
        too, which `longest_run` needs when n < min_block). bench_index: bench_seed_index(bench,
        seed), when the caller keeps one per benchmark item.

    >>> align([9, 1, 2, 3, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6, 8, 8]).score
    0.75
    """
    seed = seed or min_block
    if not bench:
        return Alignment((), 0, 0.0)
    stretches = runs(train, bench_index or bench_seed_index(bench, seed), seed)
    longest_run = max((size for _, _, size in stretches), default=0)
    blocks = []
    regions = [(0, len(train), 0, len(bench))]
    while regions:
        alo, ahi, blo, bhi = regions.pop()
        i, j, k = _longest(stretches, alo, ahi, blo, bhi)
        if k < min_block:
            continue
        blocks.append(Block(i, j, k))
        if alo < i and blo < j:
            regions.append((alo, i, blo, j))
        if i + k < ahi and j + k < bhi:
            regions.append((i + k, ahi, j + k, bhi))
    blocks.sort(key=lambda b: (b.i, b.j))
    covered = sum(b.size for b in blocks)
    return Alignment(tuple(blocks), longest_run, covered / len(bench))
