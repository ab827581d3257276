"""Words as integer ids, and a hash of every run of n consecutive words: what decontamination compares.

`words()` is the one tokeniser of `galen data`: lower-case runs of two or more letters or digits.
Punctuation, spacing and single characters are dropped, so a change of case or spacing, or option
labels such as "A." and "(B)", never hide an overlap, on either side of a comparison.

>>> words("A 45-year-old man: (B) Metformin!")
['45', 'year', 'old', 'man', 'metformin']

Word ids come from a `Vocabulary` of the benchmark words; a training word that no benchmark item
uses gets the id -1, which matches nothing. Window hashes are 64-bit and computed for many texts
at once with numpy (`window_hashes`); a window holding an unknown word gets no hash at all.
Equal windows always hash equal; the rare unequal windows that might collide are told apart
where it matters, by comparing words (`align`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import repeat

import numpy as np

TOKEN = re.compile(r"\w\w+")
UNKNOWN = -1
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def words(text: str) -> list[str]:
    """The words of `text` as decontamination sees them (see the module docstring)."""
    return TOKEN.findall(text.lower())


class Vocabulary:
    """Word -> id for the benchmark side; lookups of other words give UNKNOWN."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, tokens: Iterable[str]) -> list[int]:
        """Ids of `tokens`, giving new words the next free ids."""
        ids = self.ids
        return [ids.setdefault(token, len(ids)) for token in tokens]

    def batch(self, texts: Sequence[str]) -> Batch:
        """The word ids of `texts` (unknown words: UNKNOWN), laid end to end."""
        get, flat, offsets = self.ids.get, [], [0]
        for text in texts:
            flat.extend(map(get, TOKEN.findall(text.lower()), repeat(UNKNOWN)))
            offsets.append(len(flat))
        return Batch(np.array(flat, dtype=np.int64), np.array(offsets, dtype=np.int64))


@dataclass(frozen=True)
class Windows:
    """The hashed windows of n words in a batch of texts, one entry per window.

    hashes: 64-bit hash of the n word ids. text: which text of the batch the window is in.
    start: where the window starts, counted in words from the start of its text.
    """

    hashes: np.ndarray  # uint64
    text: np.ndarray  # int64
    start: np.ndarray  # int64


@dataclass(frozen=True)
class Batch:
    """Word ids of several texts laid end to end, as numpy works best on them."""

    ids: np.ndarray  # int64, all texts concatenated
    offsets: np.ndarray  # int64, len(texts) + 1: text k is ids[offsets[k]:offsets[k + 1]]

    @classmethod
    def of(cls, texts: Sequence[Sequence[int]]) -> Batch:
        flat = [i for t in texts for i in t]
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum([len(t) for t in texts], out=offsets[1:])
        return cls(np.array(flat, dtype=np.int64), offsets)

    def text_ids(self, k: int) -> list[int]:
        return self.ids[self.offsets[k] : self.offsets[k + 1]].tolist()


def _mix(h: np.ndarray) -> np.ndarray:
    h ^= h >> np.uint64(31)
    h *= _MIX1
    h ^= h >> np.uint64(29)
    h *= _MIX2
    h ^= h >> np.uint64(32)
    return h


def window_hashes(batch: Batch, sizes: Iterable[int]) -> dict[int, Windows]:
    """For each n in `sizes`: every window of n words that lies inside one text and holds no
    unknown word, hashed. The hash of n words extends the one of n - 1, so several sizes cost
    little more than the largest."""
    sizes = sorted(set(sizes))
    ids = batch.ids
    count = len(ids)
    starts = np.arange(count, dtype=np.int64)
    text = np.repeat(np.arange(len(batch.offsets) - 1), np.diff(batch.offsets))
    end = batch.offsets[text + 1]
    unknown = np.concatenate(([0], np.cumsum(ids == UNKNOWN), np.zeros(sizes[-1], dtype=np.int64)))
    values = np.concatenate((ids.astype(np.uint64) + np.uint64(1), np.zeros(sizes[-1], dtype=np.uint64)))
    h = np.zeros(count, dtype=np.uint64)
    found = {}
    for k in range(sizes[-1]):
        h = h * _MULTIPLIER + values[k : k + count]
        n = k + 1
        if n in sizes:
            keep = (starts + n <= end) & (unknown[np.minimum(starts + n, count)] == unknown[starts])
            found[n] = Windows(_mix(h[keep]), text[keep], starts[keep] - batch.offsets[text[keep]])
    return found
