"""Near-duplicate dedup: MinHash LSH over word shingles (datasketch), every candidate verified.

A record is read as `dedup.tokens` reads it (lower case, punctuation ignored, single letters and
digits kept): its prompt and, with `fields: [prompt, answer]`, its answer with the reasoning. Its
shingles are the runs of `shingle` consecutive tokens (a text shorter than that is one shingle).

Records are taken in recipe and file order. Each is looked up in a MinHash LSH index of the
records kept so far (banded so that a pair at the threshold is found 97% of the time,
`lsh_bands`); candidates whose MinHash estimate of the similarity is more than 0.15 below the
threshold (3.5 standard deviations at 128 permutations) are dropped in one numpy comparison, and a
remaining candidate makes it a near duplicate only when all three hold:

1. the Jaccard similarity of the two shingle sets, computed exactly (not the MinHash estimate),
   is at least `threshold`;
2. the gold answer is the same (a choice item's gold option text, a label; open items have none);
3. the numbers and one-character words are the same (counted, in any order): "type 1" and "type 2 diabetes",
   "hepatitis B" and "hepatitis C", "38.1 C" and "39.1 C" are never merged, however similar the
   rest. They are taken from the prompt and the gold answer (and from the answer of open items),
   not from a choice item's answer text, whose "C" is the gold letter and changes when the
   options are shuffled.

The first candidate (in order) that passes wins; a record with none is kept and indexed. So
every dropped record was checked directly against the record it is listed with (no chains), and a
cluster is one kept record with the records dropped as its near duplicates.

>>> guard(["a", "type", "1", "diabetes", "hba1c", "over", "7", "b", "1"])
('1', '1', '7', 'b', 'hba1c')
>>> lsh_bands(0.7, 128)
(25, 5)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from galen.data.dedup import tokens
from galen.data.record import Record
from galen.data.texts import answer_text, prompt_text

Progress = Callable[[str], None]
SCHEME = "affine32"  # datasketch 2's default hashing scheme, named: permutations are reused
CACHED = 10_000
MARGIN = 0.15  # candidates whose MinHash estimate is this far below the threshold are not compared
RECALL = 0.97  # chance that a pair exactly at the threshold is looked at
COMMON = frozenset({"a", "i"})  # shapes of kept records held for reuse as candidates


@dataclass(frozen=True)
class Shape:
    """What near dedup compares of one record."""

    shingles: frozenset[bytes]
    gold: tuple[str, ...] | None
    guard: tuple[str, ...]


@dataclass(frozen=True)
class NearDuplicate:
    id: str
    source: str
    duplicate_of: str
    similarity: float


@dataclass
class Cluster:
    """A kept record and the records dropped as its near duplicates."""

    kept: str
    source: str
    members: list[NearDuplicate] = field(default_factory=list)

    def as_json(self) -> dict:
        members = [{"id": m.id, "source": m.source, "similarity": m.similarity} for m in self.members]
        return {"kept": self.kept, "source": self.source, "size": 1 + len(members), "members": members}


@dataclass
class NearDedupResult:
    kept: list[Record]
    dropped: list[NearDuplicate]
    clusters: list[Cluster]
    counts: dict[str, int]


def guard(words: Sequence[str]) -> tuple[str, ...]:
    """The tokens a near duplicate must share exactly, counted (sorted, so their order is free):
    numbers and one-character words, but the words "a" and "I", which a rewording adds and drops
    ("vitamin A" vs "vitamin D" still differ, by the "d"). Counted, because an age of 8 with a
    haemoglobin of 8.9 is not an age of 9 with 8.9, though both hold an 8 and a 9."""
    return tuple(sorted(w for w in words if (len(w) == 1 and w not in COMMON) or any(c.isdigit() for c in w)))


def lsh_bands(threshold: float, num_perm: int, recall: float = RECALL) -> tuple[int, int]:
    """(bands, rows) for the LSH index: a pair at `threshold` becomes a candidate with probability
    at least `recall`, with as few candidates well below it as that allows. datasketch's own choice
    balances misses against false candidates, and misses ~half the pairs at the threshold; every
    candidate is verified here, so a false one costs a little time and a miss costs a duplicate."""
    best: tuple[float, int, int] | None = None
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        found = 1 - (1 - threshold**rows) ** bands
        if found >= recall:
            below = 1 - (1 - max(threshold - 0.25, 0.01) ** rows) ** bands
            if best is None or below < best[0]:
                best = (below, bands, rows)
    return (best[1], best[2]) if best else (num_perm, 1)


def shingles(words: Sequence[str], size: int) -> frozenset[bytes]:
    if len(words) <= size:
        return frozenset([" ".join(words).encode()])
    return frozenset(" ".join(words[k : k + size]).encode() for k in range(len(words) - size + 1))


def gold(record: Record) -> tuple[str, ...] | None:
    if record.kind == "choice" and record.answer is not None:
        return tuple(tokens(record.options[record.answer]))
    return (record.answer,) if record.answer is not None else None


def shape(record: Record, size: int, fields: Sequence[str]) -> Shape:
    prompt = tokens(prompt_text(record))
    answer = tokens(answer_text(record)) if "answer" in fields else []
    right = gold(record)
    guarded = [*prompt, *(right or ()), *(answer if record.kind == "open" else ())]
    return Shape(shingles(prompt + answer, size), right, guard(guarded))


def jaccard(a: frozenset[bytes], b: frozenset[bytes]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


class Signatures:
    """The MinHash signatures of the kept records, one row each in a growing array (512 bytes a
    record at 128 permutations), so candidates are screened by their estimated similarity in one
    numpy comparison before any text is compared."""

    def __init__(self, num_perm: int) -> None:
        self.rows = np.empty((1024, num_perm), dtype=np.uint32)  # affine32 values
        self.size = 0

    def add(self, values: np.ndarray) -> None:
        if self.size == len(self.rows):
            self.rows = np.concatenate([self.rows, np.empty_like(self.rows)])
        self.rows[self.size] = values
        self.size += 1

    def estimates(self, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        return (self.rows[keys] == values).mean(axis=1)


@dataclass
class Matcher:
    """Checks LSH candidates against the rules of the module docstring, counting refusals."""

    kept: list[Record]
    threshold: float
    shingle: int
    fields: Sequence[str]
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("candidates", "rejected_estimate", "rejected_similarity", "rejected_gold", "rejected_numbers"), 0
        )
    )
    # Kept records' shapes are recomputed when they are candidates, not stored: 600K shingle sets
    # would take GiBs. The most recent ones are cached, since templated text recurs in bursts.
    cache: dict[int, Shape] = field(default_factory=dict)

    def theirs(self, k: int) -> Shape:
        if k not in self.cache:
            if len(self.cache) >= CACHED:
                self.cache.clear()
            self.cache[k] = shape(self.kept[k], self.shingle, self.fields)
        return self.cache[k]

    def first(self, mine: Shape, keys: np.ndarray, estimates: np.ndarray) -> tuple[int, float] | None:
        """The first candidate (in record order) that is a near duplicate, with its similarity."""
        self.counts["candidates"] += len(keys)
        close = keys[estimates >= self.threshold - MARGIN]
        self.counts["rejected_estimate"] += len(keys) - len(close)
        for k in close.tolist():
            theirs = self.theirs(k)
            similarity = jaccard(mine.shingles, theirs.shingles)
            if similarity < self.threshold:
                self.counts["rejected_similarity"] += 1
            elif mine.gold != theirs.gold:
                self.counts["rejected_gold"] += 1
            elif mine.guard != theirs.guard:
                self.counts["rejected_numbers"] += 1
            else:
                return k, similarity
        return None


def near_deduplicate(
    records: list[Record],
    threshold: float = 0.7,
    num_perm: int = 128,
    shingle: int = 2,
    fields: Sequence[str] = ("prompt", "answer"),
    seed: int = 1,
    progress: Progress = lambda _: None,
) -> NearDedupResult:
    """The records without near duplicates of earlier ones (see the module docstring)."""
    from datasketch import MinHash, MinHashLSH  # imported here: only builds that ask for it pay

    lsh = MinHashLSH(num_perm=num_perm, params=lsh_bands(threshold, num_perm))
    permutations = MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME).permutations
    kept: list[Record] = []
    signatures = Signatures(num_perm)
    matcher = Matcher(kept, threshold, shingle, fields)
    clusters: dict[int, Cluster] = {}
    dropped: list[NearDuplicate] = []
    for n, record in enumerate(records, 1):
        if n % 100_000 == 0:
            progress(f"near dedup: {n} of {len(records)} records, {len(dropped)} near duplicates")
        mine = shape(record, shingle, fields)
        signature = MinHash(num_perm=num_perm, seed=seed, permutations=permutations, scheme=SCHEME)
        signature.update_batch(list(mine.shingles))
        keys = np.sort(np.fromiter(lsh.query(signature), dtype=np.int64))
        match = (
            matcher.first(mine, keys, signatures.estimates(keys, signature.hashvalues)) if len(keys) else None
        )
        if match is None:
            lsh.insert(len(kept), signature, check_duplication=False)
            signatures.add(signature.hashvalues)
            kept.append(record)
            continue
        k, similarity = match
        duplicate = NearDuplicate(record.id, record.source, kept[k].id, round(similarity, 4))
        dropped.append(duplicate)
        clusters.setdefault(k, Cluster(kept[k].id, kept[k].source)).members.append(duplicate)
    counts = {**matcher.counts, "records_in": len(records), "dropped": len(dropped)}
    counts.update(clusters=len(clusters), records_out=len(kept))
    return NearDedupResult(kept, dropped, [clusters[k] for k in sorted(clusters)], counts)
