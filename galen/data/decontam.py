"""Benchmark decontamination of a corpus: stage 0, then stages 1 and 2 (`benchmark_index`).

The benchmark items are every sample of every task in galen eval's registry (or the recipe's
`tasks`), read from the recipe's `benchmarks` paths, or from galen's bundled samples for tasks
without one. Each item is compared as `texts.item_text`: passage, question, options as a set.
The judged sets (HealthBench all / hard / consensus, the pairwise vignettes) are protected the
same way, their prompts as items (`judged`).

- Stage 0, exact overlap:
  - split: a source that is the training side of a benchmark (MedQA, MedMCQA, PubMedQA) read
    with a split that benchmark evaluates on (`test`; MedMCQA's `validation`);
  - id: a source with global ids (MedMCQA UUIDs, PubMed ids) sharing an id with a benchmark item;
  - exact: a record whose prompt or answer text, as words, equals a benchmark item's.
- Stages 1 and 2: shared item-specific n-grams, then difflib-equal alignment (see
  `benchmark_index`), on the prompt and on the answer (recipe `check`).

The result lists every removed record with what it matched, and a report per benchmark mapping
training ids to benchmark ids and scores (`decontam/report.json`).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import islice
from typing import Any

from galen.data.benchmark_index import BenchmarkIndex, BenchmarkItem, ScanStats
from galen.data.judged import load_judged
from galen.data.ngrams import words
from galen.data.recipe import DecontamConfig, Recipe
from galen.data.record import Record
from galen.data.sources import ADAPTERS
from galen.data.texts import answer_text, item_text, prompt_text
from galen.errors import BadRequest, GalenError

CHUNK = 20_000  # texts scanned per numpy batch


@dataclass(frozen=True)
class Match:
    """Why a record was removed: the benchmark item it matched, at which stage, on which text."""

    record: str
    task: str
    benchmark_id: str
    stage: int
    kind: str  # "split", "id", "exact" (stage 0) or "overlap" (stage 2)
    field: str  # "prompt", "answer" or "record"
    score: float


@dataclass
class Benchmarks:
    """The protected items, and per task where they came from and which ids it has."""

    items: list[BenchmarkItem]
    sources: dict[str, str]
    ids: dict[str, set[str]]


@dataclass
class DecontamResult:
    kept: list[Record]
    removed: dict[str, list[Match]]
    counts: dict[str, int]
    benchmarks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def report(self, settings: DecontamConfig) -> dict[str, Any]:
        """decontam/report.json: settings, benchmarks, counts, and per benchmark training id ->
        the benchmark items it matched."""
        by_benchmark: dict[str, dict[str, list[dict[str, Any]]]] = {task: {} for task in self.benchmarks}
        for record_id in sorted(self.removed):
            for m in self.removed[record_id]:
                by_benchmark.setdefault(m.task, {}).setdefault(record_id, []).append(
                    {
                        "benchmark_id": m.benchmark_id,
                        "stage": m.stage,
                        "kind": m.kind,
                        "field": m.field,
                        "score": round(m.score, 4),
                    }
                )
        return {
            "settings": settings.model_dump(),
            "benchmarks": self.benchmarks,
            "counts": self.counts,
            "by_benchmark": by_benchmark,
        }


def load_benchmarks(recipe: Recipe) -> Benchmarks:
    """Every item of every protected task, with the source each task was read from."""
    from galen.evals.tasks import get_task

    items, sources, ids = [], {}, {}
    for name in recipe.decontamination.task_names():
        try:
            task = get_task(name, source=recipe.benchmark_source(name))
        except GalenError as exc:
            raise BadRequest(
                f"decontamination.benchmarks.{name}", exc.message.removeprefix("source: ")
            ) from None
        sources[name] = task.source
        ids[name] = {s.id for s in task.samples}
        items += [
            BenchmarkItem(name, s.id, item_text(s.question, s.options, s.context)) for s in task.samples
        ]
    for name in recipe.decontamination.judged_names():
        judged = load_judged(name, recipe.benchmark_source(name), recipe.decontamination.ngram)
        sources[name], ids[name] = judged.source, judged.ids
        items += judged.items
    return Benchmarks(items, sources, ids)


def _exact_key(text: str) -> str:
    return hashlib.sha256(json.dumps(words(text)).encode()).hexdigest()


def stage0(
    record: Record, benchmarks: Benchmarks, exact: dict[str, list[BenchmarkItem]], check: list[str]
) -> list[Match]:
    """Split, id and exact-text overlap of one record."""
    adapter = ADAPTERS[record.format]
    mirror = adapter.mirror
    task = mirror.task if mirror else None
    if mirror and task in benchmarks.ids and record.split in mirror.splits:
        return [Match(record.id, task, "*", 0, "split", "record", 1.0)]
    if mirror and task in benchmarks.ids and mirror.global_ids and record.source_id in benchmarks.ids[task]:
        return [Match(record.id, task, record.source_id, 0, "id", "record", 1.0)]
    found = []
    for name, text in _fields(record, check):
        for item in exact.get(_exact_key(text), []):
            found.append(Match(record.id, item.task, item.id, 0, "exact", name, 1.0))
    return found


def _fields(record: Record, check: list[str]) -> Iterator[tuple[str, str]]:
    if "prompt" in check:
        yield "prompt", prompt_text(record)
    if "answer" in check:
        text = answer_text(record)
        if text:
            yield "answer", text


def build_index(items: list[BenchmarkItem], settings: DecontamConfig) -> BenchmarkIndex:
    return BenchmarkIndex(
        items,
        ngram=settings.ngram,
        min_block=settings.min_block,
        threshold=settings.threshold,
        boilerplate=settings.boilerplate,
    )


def scan_all(
    index: BenchmarkIndex, texts: Iterable[tuple[Any, str]]
) -> tuple[list[tuple[Any, BenchmarkItem, float]], ScanStats]:
    """Every (key, benchmark item, score) match of `(key, text)` pairs, scanned CHUNK at a time."""
    found, stats = [], ScanStats()
    texts = iter(texts)
    while chunk := list(islice(texts, CHUNK)):
        hits, chunk_stats = index.scan([text for _, text in chunk])
        stats.add(chunk_stats)
        found += [(chunk[hit.text][0], index.items[hit.item], hit.score) for hit in hits]
    return found, stats


def decontaminate(records: list[Record], benchmarks: Benchmarks, settings: DecontamConfig) -> DecontamResult:
    """Remove every record that overlaps a protected benchmark item (see the module docstring)."""
    exact: dict[str, list[BenchmarkItem]] = {}
    for item in benchmarks.items:
        exact.setdefault(_exact_key(item.text), []).append(item)
    removed: dict[str, list[Match]] = {}
    kinds: Counter[str] = Counter()
    for record in records:
        matches = stage0(record, benchmarks, exact, settings.check)
        if matches:
            removed[record.id] = matches
            kinds[f"stage0_{matches[0].kind}"] += 1
    # One index entry per distinct text: the same prompt in several sets (HealthBench hard and
    # consensus are subsets of all) would otherwise count its runs as shared boilerplate.
    index = build_index([group[0] for group in exact.values()], settings)
    owners = {(group[0].task, group[0].id): group for group in exact.values()}
    rest = [r for r in records if r.id not in removed]
    texts = (((r.id, name), text) for r in rest for name, text in _fields(r, settings.check))
    hits, stats = scan_all(index, texts)
    for (record_id, name), found, score in hits:
        for item in owners[(found.task, found.id)]:
            removed.setdefault(record_id, []).append(
                Match(record_id, item.task, item.id, 2, "overlap", name, score)
            )
    kept = [r for r in records if r.id not in removed]
    counts = {
        "records_in": len(records),
        **{k: kinds[k] for k in ("stage0_split", "stage0_id", "stage0_exact")},
        "texts_scanned": stats.texts,
        "stage1_candidate_texts": stats.candidates,
        "stage1_candidate_pairs": stats.candidate_pairs,
        "stage2_pairs_aligned": stats.pairs_aligned,
        "stage2_removed": len(removed) - sum(kinds.values()),
        "records_out": len(kept),
    }
    described = {
        task: {"source": benchmarks.sources[task], "items": len(benchmarks.ids[task])}
        for task in benchmarks.sources
    }
    return DecontamResult(kept, removed, counts, described)


def matches_json(matches: list[Match]) -> list[dict[str, Any]]:
    return [{k: v for k, v in asdict(m).items() if k != "record"} for m in matches]
