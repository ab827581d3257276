"""Near-duplicate dedup (MinHash LSH) of a 600K-record corpus: time, peak memory, what it found.

The corpus: `galen.testing.synthetic` exam-style items that we generate (vignettes, short
questions, research questions on an abstract, consumer questions; no benchmark data), read as
the jsonl adapter reads them, with `--planted` paraphrased copies of some items
(`galen.testing.paraphrase.paraphrase`: synonyms, sentences reordered, options shuffled, case) and
as many look-alikes that differ only in one number or letter (`variant`), which must stay. Exact
dedup runs first, as in a build; then `near_deduplicate` with galen's default settings (the
recipe's `dedup.minhash`).

Reported: wall time of each stage and per 1,000 records, peak memory (ru_maxrss of the process,
corpus included, and before dedup began), LSH candidates and why each was refused, near
duplicates and clusters, planted paraphrases caught (those of short questions, about 15 words
with half reworded, are mostly missed at the default threshold: docs/data.md), look-alikes
merged (must be 0).

Run:  nice -n 10 .venv/bin/python benchmarks/dedup.py [--records 600000] [--no-write]
"""

from __future__ import annotations

import argparse
import random
import resource
import time

from _common import machine_lines, markdown_table, write_section

from galen.data.dedup import deduplicate
from galen.data.near_dedup import near_deduplicate
from galen.data.recipe import MinHashConfig
from galen.testing.paraphrase import as_records, paraphrase, variant
from galen.testing.synthetic import synthetic_items

SECTION = "galen data near-duplicate dedup (issue 16)"


def max_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def corpus(count: int, planted: int, seed: int) -> tuple[list[dict], dict[int, int], set[int]]:
    """Items (planted copies appended after the originals), copy position -> original position,
    and the positions of the look-alikes."""
    items = list(synthetic_items(count - 2 * planted, seed=seed))
    rng = random.Random(seed + 1)
    copies, lookalikes = {}, set()
    originals = [k for k, item in enumerate(items) if item["options"]]  # choice items only
    for k in rng.sample(originals, planted):
        copies[len(items)] = k
        items.append({**paraphrase(items[k], rng), "id": f"{items[k]['id']}-copy"})
    for k in rng.sample(originals, planted):
        changed = variant(items[k], rng)
        if changed:
            lookalikes.add(len(items))
            items.append({**changed, "id": f"{items[k]['id']}-variant"})
    return items, copies, lookalikes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=600_000)
    parser.add_argument("--planted", type=int, default=1000, help="Paraphrases, and as many look-alikes.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--no-write", action="store_true", help="Print only; leave docs/PERFORMANCE.md alone."
    )
    args = parser.parse_args()
    settings = MinHashConfig(enabled=True)
    machine = machine_lines(["datasketch", "numpy"])

    items, copies, lookalikes = corpus(args.records, args.planted, args.seed)
    records = as_records(items)
    position = {r.id: k for k, r in enumerate(records)}
    before = max_rss_gib()

    began = time.perf_counter()
    exact, duplicates = deduplicate(records)
    exact_seconds = time.perf_counter() - began
    began = time.perf_counter()
    result = near_deduplicate(exact, **settings.model_dump(exclude={"enabled"}), progress=print)
    near_seconds = time.perf_counter() - began
    peak = max_rss_gib()

    dropped = {position[d.id]: position[d.duplicate_of] for d in result.dropped}
    exact_dropped = {position[d.id] for d in duplicates}
    caught = sum(1 for c, k in copies.items() if c in exact_dropped or dropped.get(c) == k)
    merged_lookalikes = sum(1 for v in lookalikes if v in dropped or v in exact_dropped)
    largest = max((1 + len(c.members) for c in result.clusters), default=0)
    per_k = 1000 * near_seconds / max(len(exact), 1)

    rows = [
        ["records (generated) / after exact dedup", f"{len(records):,} / {len(exact):,}"],
        [
            "settings",
            f"threshold {settings.threshold}, {settings.num_perm} permutations, "
            f"{settings.shingle}-word shingles, prompt + answer",
        ],
        ["exact dedup: wall time", f"{exact_seconds:.1f} s"],
        ["near dedup: wall time (per 1,000 records)", f"{near_seconds:.0f} s ({per_k:.2f} s)"],
        ["peak memory: whole process / before dedup", f"{peak:.2f} GiB / {before:.2f} GiB"],
        ["LSH candidates checked", f"{result.counts['candidates']:,}"],
        [
            "candidates refused: MinHash estimate / similarity / gold / numbers and letters",
            f"{result.counts['rejected_estimate']:,} / {result.counts['rejected_similarity']:,} / "
            f"{result.counts['rejected_gold']:,} / {result.counts['rejected_numbers']:,}",
        ],
        [
            "near duplicates / clusters / largest cluster",
            f"{len(result.dropped):,} / {len(result.clusters):,} / {largest}",
        ],
        ["planted paraphrases caught", f"{caught} of {len(copies)}"],
        [
            "look-alikes merged (one number or letter changed; must be 0)",
            f"{merged_lookalikes} of {len(lookalikes)}",
        ],
    ]
    body = "\n".join(
        [
            f"Measured with `nice -n 10 .venv/bin/python benchmarks/dedup.py --records {args.records}`. "
            "The corpus is generated exam-style text (galen/testing/synthetic.py); its templates repeat "
            "phrasing far more than a real corpus, so it yields more LSH candidates than real data would.",
            "",
            *machine,
            "",
            markdown_table(["", "value"], rows),
        ]
    )
    print(body)
    if not args.no_write:
        write_section(SECTION, body)


if __name__ == "__main__":
    main()
