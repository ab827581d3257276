"""align(): difflib's matching blocks and score, computed from seed runs, on thousands of pairs."""

from __future__ import annotations

import difflib
import random

import pytest

from galen.data.align import align
from galen.testing.naive import difflib_score


def _mutate(seq: list[int], rng: random.Random, vocab: int) -> list[int]:
    out = list(seq)
    for _ in range(rng.randrange(0, 6)):
        op = rng.randrange(4)
        if op == 0 and out:
            out[rng.randrange(len(out))] = rng.randrange(vocab)
        elif op == 1:
            out.insert(rng.randrange(len(out) + 1), rng.randrange(vocab))
        elif op == 2 and out:
            del out[rng.randrange(len(out))]
        elif op == 3 and len(out) > 6:  # swap two stretches, as reordered options do
            a, b = rng.randrange(len(out) - 3), rng.randrange(len(out) - 3)
            out[a : a + 3], out[b : b + 3] = out[b : b + 3], out[a : a + 3]
    return out


@pytest.mark.parametrize("vocab", [2, 3, 6, 40])
def test_blocks_and_score_equal_difflib(vocab):
    """Small vocabularies make many equally long matches: the tie-breaking must be difflib's."""
    rng = random.Random(vocab)
    for _ in range(600):
        base = [rng.randrange(vocab) for _ in range(rng.randrange(0, 50))]
        train = _mutate(base, rng, vocab) + _mutate(base, rng, vocab)[: rng.randrange(15)]
        bench = _mutate(base, rng, vocab)
        min_block = rng.choice([1, 2, 3, 5])
        got = align(train, bench, min_block=min_block)
        blocks = difflib.SequenceMatcher(None, train, bench, autojunk=False).get_matching_blocks()
        expected = [(b.a, b.b, b.size) for b in blocks if b.size >= min_block]
        assert [(b.i, b.j, b.size) for b in got.blocks] == expected
        assert got.score == difflib_score(train, bench, min_block)


def test_longest_run_tells_whether_an_ngram_is_shared():
    shared = list(range(100, 108))
    assert align([1, 2, *shared, 3], [9, *shared, 9], seed=5).longest_run == 8
    assert align([1, 2, 3], [4, 5, 6], seed=5).longest_run == 0


def test_score_is_covered_share_of_the_benchmark_item():
    assert align([9, 1, 2, 3, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6, 8, 8]).score == 0.75
    assert align([1, 2, 3, 4], [1, 2, 3, 4]).score == 0.0  # a block shorter than 5 does not count
    assert align([1, 2], []).score == 0.0
