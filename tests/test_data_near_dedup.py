"""Dedup: exact keys keep numbers and letters; MinHash near dedup drops paraphrases, not look-alikes."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from galen.config import ConfigError
from galen.data.build import build
from galen.data.dedup import dedup_key, deduplicate
from galen.data.near_dedup import near_deduplicate
from galen.data.recipe import MinHashConfig, load_recipe, parse_recipe
from galen.testing.paraphrase import as_records, paraphrase, variant
from galen.testing.synthetic import synthetic_items

SAMPLES = Path(__file__).resolve().parents[1] / "galen" / "data" / "samples"
DEFAULTS = MinHashConfig(enabled=True).model_dump(exclude={"enabled"})

VIGNETTE = (
    "A 54-year-old man with type {n} diabetes mellitus has had burning pain in both feet for "
    "three months. He takes metformin. Examination shows decreased vibration sense in the toes. "
    "Which of the following is the most likely cause of his symptoms?"
)
OPTIONS = {"A": "Peripheral neuropathy", "B": "Gout", "C": "Plantar fasciitis", "D": "Raynaud disease"}


def item(question: str, options: dict | None = None, answer: str | None = "A") -> dict:
    return {"question": question, "options": options or OPTIONS, "answer": answer, "explanation": None}


def test_exact_dedup_keeps_items_that_differ_in_a_number_or_a_letter():
    records = as_records(
        [
            item(VIGNETTE.format(n=1)),
            item(VIGNETTE.format(n=2)),
            item("Which vaccine protects against hepatitis B?", {"A": "HBV vaccine", "B": "None"}),
            item("Which vaccine protects against hepatitis C?", {"A": "HBV vaccine", "B": "None"}),
            item(VIGNETTE.format(n=1).upper()),  # the same text: a duplicate
        ]
    )
    kept, dropped = deduplicate(records)
    assert [r.row for r in kept] == [0, 1, 2, 3]
    assert [(d.id, d.duplicate_of) for d in dropped] == [("synthetic:4", "synthetic:0")]
    assert dedup_key(records[0]) != dedup_key(records[1])


def test_near_dedup_drops_a_paraphrase_but_not_type_1_vs_type_2():
    base = item(VIGNETTE.format(n=1))
    rephrased = item(
        VIGNETTE.format(n=1)
        .replace("Which of the following is", "What is")
        .replace("has had", "reports")
        .upper(),
        {"A": "Gout", "B": "Peripheral neuropathy", "C": "Plantar fasciitis", "D": "Raynaud disease"},
        answer="B",  # the options shuffled: the same gold option
    )
    other_type = item(VIGNETTE.format(n=2))
    result = near_deduplicate(as_records([base, rephrased, other_type]), **DEFAULTS)
    assert [r.row for r in result.kept] == [0, 2]
    [dropped] = result.dropped
    assert (dropped.id, dropped.duplicate_of) == ("synthetic:1", "synthetic:0") and dropped.similarity >= 0.7
    assert result.counts["rejected_numbers"] == 1  # type 2 was a candidate, refused for its number
    [cluster] = result.clusters
    assert cluster.as_json() == {
        "kept": "synthetic:0",
        "source": "synthetic",
        "size": 2,
        "members": [{"id": "synthetic:1", "source": "synthetic", "similarity": dropped.similarity}],
    }


def test_near_dedup_needs_the_same_gold_answer():
    wrong = item(VIGNETTE.format(n=1), answer="C")
    result = near_deduplicate(as_records([item(VIGNETTE.format(n=1)), wrong]), **DEFAULTS)
    assert len(result.kept) == 2 and result.counts["rejected_gold"] == 1


@pytest.fixture(scope="module")
def planted():
    """1,848 generated multiple-choice items, paraphrased copies of 150 vignettes among them (two
    phrases reworded, two sentences swapped, options shuffled, case changed) and 150 look-alikes
    (one number changed: an age, a lab value, a duration)."""
    items = [it for it in synthetic_items(2000, seed=3) if it["options"]]
    rng = random.Random(4)
    vignettes = [k for k, it in enumerate(items) if len(it["question"]) > 150]
    copies, lookalikes = {}, set()
    for k in rng.sample(vignettes, 150):
        copies[len(items)] = k
        items.append(paraphrase(items[k], rng))
    for k in rng.sample(range(len(items)), 150):
        changed = variant(items[k], rng)
        if changed:
            lookalikes.add(len(items))
            items.append(changed)
    records = as_records(items)
    exact, _ = deduplicate(records)
    return items, records, exact, copies, lookalikes, near_deduplicate(exact, **DEFAULTS)


def test_planted_paraphrases_are_caught_and_point_at_their_original(planted):
    _, records, exact, copies, _, result = planted
    assert len(exact) == len(records)  # none is an exact copy
    dropped = {d.id: d.duplicate_of for d in result.dropped}
    caught = [c for c, k in copies.items() if dropped.get(records[c].id) == records[k].id]
    assert len(caught) >= 0.95 * len(copies), f"caught {len(caught)} of {len(copies)}"


def test_no_look_alike_and_no_other_question_is_merged(planted):
    items, records, _, copies, lookalikes, result = planted
    position = {r.id: k for k, r in enumerate(records)}
    dropped = {position[d.id]: position[d.duplicate_of] for d in result.dropped}
    assert len(lookalikes) > 100 and not set(dropped) & lookalikes
    assert result.counts["rejected_numbers"] >= len(lookalikes) * 0.9  # found, and refused
    for k, kept in dropped.items():
        if k not in copies:  # generated items that share question and answer, not the distractors
            assert items[k]["question"] == items[kept]["question"]


def test_the_shipped_samples_build_with_near_dedup(tmp_path):
    recipe = load_recipe(SAMPLES / "recipe.yaml").model_copy(update={"output": str(tmp_path / "out")})
    result = build(recipe, SAMPLES / "recipe.yaml")
    out = result.out
    near = [json.loads(line) for line in (out / "dedup" / "near_duplicates.jsonl").read_text().splitlines()]
    clusters = [json.loads(line) for line in (out / "dedup" / "clusters.jsonl").read_text().splitlines()]
    assert near == [] and clusters == []  # the samples hold no paraphrased copies
    by_source = result.counts["by_source"]
    assert all(c["near_duplicates"] == 0 for c in by_source.values())
    [entry] = [e for e in result.manifest["log"] if e["stage"] == "dedup"]
    assert entry["details"]["near"]["records_in"] == entry["rows_out"]


def test_minhash_settings_are_checked():
    with pytest.raises(ConfigError) as caught:
        parse_recipe(
            {
                "name": "x",
                "sources": [{"format": "medqa"}],
                "dedup": {"minhash": {"threshold": 1.5, "shingle": 0}},
            },
            Path("."),
        )
    text = str(caught.value)
    assert "dedup.minhash.threshold" in text and "dedup.minhash.shingle" in text
