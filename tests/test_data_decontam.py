"""Decontamination: planted leaks are caught, unrelated medical text is not, and the fast path
removes exactly what the naive difflib way removes.

Leaks are benchmark items changed as a careless corpus would change them: case and spacing,
options reordered, a sentence added, a few words changed. The benchmark items are galen eval's
bundled samples (always) and the real test sets in ../shared (when present). The unrelated text
is `galen.testing.synthetic`, exam-style items we generate.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from conftest import SHARED, needs_shared

from galen.data.benchmark_index import BenchmarkIndex, BenchmarkItem
from galen.data.decontam import decontaminate, load_benchmarks
from galen.data.recipe import parse_recipe
from galen.data.texts import item_text
from galen.evals.task import Sample
from galen.evals.tasks import get_task
from galen.testing.leaks import KINDS, perturb
from galen.testing.naive import NaiveIndex
from galen.testing.synthetic import synthetic_items

TASKS = ("medqa", "medmcqa", "pubmedqa", "mmlu_pro_biology", "mmlu_pro_health", "medxpertqa")
REAL = {
    "medqa": "medqa/test.jsonl",
    "medmcqa": "medmcqa/dev_single_choice.jsonl",
    "pubmedqa": "pubmedqa",
    "mmlu_pro_biology": "mmlu_pro",
    "mmlu_pro_health": "mmlu_pro",
}


def load(tasks: dict[str, str | None]) -> list[tuple[str, Sample]]:
    return [(name, s) for name, source in tasks.items() for s in get_task(name, source=source).samples]


def index_for(samples: list[tuple[str, Sample]]) -> BenchmarkIndex:
    return BenchmarkIndex(
        [BenchmarkItem(t, s.id, item_text(s.question, s.options, s.context)) for t, s in samples]
    )


def caught_share(index: BenchmarkIndex, samples: list[tuple[str, Sample]], chosen: list[int], seed: int):
    rng = random.Random(seed)
    planted = [(k, kind, perturb(samples[k][1], kind, rng)) for k in chosen for kind in KINDS]
    hits, _ = index.scan([text for _, _, text in planted])
    found = {(h.text, h.item) for h in hits}
    missed = Counter(kind for n, (k, kind, _) in enumerate(planted) if (n, k) not in found)
    return 1 - sum(missed.values()) / len(planted), missed


def false_positive_share(index: BenchmarkIndex, count: int) -> float:
    items = list(synthetic_items(count, seed=11))
    texts = [item_text(i["question"], i["options"], i["context"]) for i in items]
    texts += [i["explanation"] for i in items if i["explanation"]]
    hits, _ = index.scan(texts)
    return len({h.text for h in hits}) / len(items)


def test_planted_leaks_of_bundled_samples_are_caught():
    samples = load({name: None for name in TASKS})
    index = index_for(samples)
    share, missed = caught_share(index, samples, list(range(len(samples))) * 5, seed=1)
    assert share >= 0.99, missed


def test_unrelated_medical_text_is_not_flagged_against_bundled_samples():
    assert false_positive_share(index_for(load({name: None for name in TASKS})), 3000) <= 0.001


@needs_shared()
@pytest.mark.shared
def test_planted_leaks_of_real_benchmark_items_are_caught():
    samples = load({name: str(SHARED / "benchmarks" / path) for name, path in REAL.items()})
    index = index_for(samples)
    chosen = random.Random(0).sample(range(len(samples)), 1500)
    share, missed = caught_share(index, samples, chosen, seed=2)
    assert share >= 0.99, missed


@needs_shared()
@pytest.mark.shared
def test_unrelated_medical_text_is_not_flagged_against_real_benchmarks():
    samples = load({name: str(SHARED / "benchmarks" / path) for name, path in REAL.items()})
    assert false_positive_share(index_for(samples), 5000) <= 0.001


def test_fast_path_removes_exactly_what_difflib_removes():
    samples = load({name: None for name in TASKS})
    index = index_for(samples)
    rng = random.Random(3)
    texts = [item_text(i["question"], i["options"], i["context"]) for i in synthetic_items(400, seed=4)]
    texts += [perturb(s, rng.choice(KINDS), rng) for _, s in samples]
    texts += [item_text(s.question[: len(s.question) // 2], {}, None) for _, s in samples]  # half-copies
    fast, stats = index.scan(texts)
    slow, pairs = NaiveIndex(index).scan(texts)
    assert stats.candidate_pairs == pairs
    assert {(h.text, h.item): h.score for h in fast} == {(h.text, h.item): h.score for h in slow}
    assert any(h.score < 1 for h in fast) and len(fast) >= len(samples)


def _recipe(**decontamination) -> object:
    return parse_recipe(
        {"name": "t", "sources": [{"format": "medqa"}], "decontamination": decontamination}, Path(".")
    )


def test_stage0_split_id_and_exact_text(tmp_path):
    from galen.data.build import read_source

    recipe = parse_recipe(
        {
            "name": "t",
            "sources": [
                {"format": "medqa", "name": "medqa-test", "split": "test"},
                {"format": "medmcqa"},
                {"format": "pubmedqa", "split": "pqa_l"},
            ],
            "decontamination": {"tasks": ["medqa", "medmcqa", "pubmedqa"]},
        },
        tmp_path,
    )
    records = [r for k, s in enumerate(recipe.sources) for r in read_source(k, s, recipe).records]
    copy = records[0].model_copy(
        update={"id": "copy:0", "split": "train", "question": get_task("medqa").samples[0].question}
    )
    copy = copy.model_copy(update={"options": get_task("medqa").samples[0].options})
    result = decontaminate([*records, copy], load_benchmarks(recipe), recipe.decontamination)
    kinds = {rid: matches[0].kind for rid, matches in result.removed.items()}
    assert all(kinds[r.id] == "split" for r in records if r.source == "medqa-test")
    assert kinds["medmcqa:5"] == "id" and kinds["pubmedqa:4"] == "id"
    assert kinds["copy:0"] == "exact"
    assert result.counts["records_out"] == len(result.kept)
    report = result.report(recipe.decontamination)
    assert report["by_benchmark"]["medqa"]["copy:0"][0]["benchmark_id"] == get_task("medqa").samples[0].id
    assert report["settings"]["ngram"] == 8 and report["benchmarks"]["medqa"]["items"] == 8


def test_answers_are_checked_too():
    samples = load({"medqa": None})
    index = index_for(samples)
    leaked_in_answer = f"Let me recall the exam item. {samples[0][1].question}"
    hits, _ = index.scan(["An unrelated prompt about sleep hygiene.", leaked_in_answer])
    assert [h.text for h in hits] == [1]


def test_boilerplate_alone_makes_no_candidate():
    items = [
        BenchmarkItem("t", str(k), f"Which of the following is the most likely diagnosis? Option {k}")
        for k in range(5)
    ]
    index = BenchmarkIndex(items, boilerplate=2)
    hits, stats = index.scan(
        ["A long vignette. Which of the following is the most likely diagnosis? Something"]
    )
    assert hits == [] and stats.candidate_pairs == 0
