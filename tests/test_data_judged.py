"""Decontamination protects HealthBench (all / hard / consensus) and the pairwise vignettes.

The HealthBench files here are small originals in the official files' format (the fields
simple-evals reads: prompt_id, prompt turns, rubrics with criterion / points / tags, example_tags,
plus ideal_completions_data as the consensus file carries it); nothing is copied from HealthBench.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from galen.cli.main import app
from galen.config import ConfigError
from galen.data.build import build
from galen.data.recipe import parse_recipe
from galen.errors import BadRequest

runner = CliRunner()

RUBRIC = [
    {"criterion": "Advises urgent assessment.", "points": 8, "tags": ["axis:accuracy", "level:example"]},
    {"criterion": "Recommends waiting a week.", "points": -6, "tags": ["axis:accuracy", "level:example"]},
]
FEVER = (
    "My 9 month old has had a fever of 39.4 since yesterday evening and is now refusing feeds and "
    "seems unusually sleepy, with a rash on her legs that does not fade when I press a glass on it. "
    "What should I do?"
)
LONG_TURN = (
    "Thanks. One more thing: my grandmother is 84, takes warfarin for her heart rhythm, fell in the "
    "bathroom this morning and hit her head on the sink, and now says she feels a bit muddled and has "
    "a headache that is getting worse. Is it fine to let her sleep it off?"
)
REPLY = (
    "Of course. Before you ask, a general point: after any fall in an older person it helps to know "
    "how the fall happened, whether they blacked out beforehand, whether they could get up on their "
    "own, how long they were on the floor, which medicines they take and whether anything hurts now, "
    "especially the hip, the wrist or the head. Write these down for whoever sees her, together with "
    "the time of the fall and any change in how alert she seems. What would you like to ask?"
)
VIGNETTE = (
    "A 47-year-old teacher reports three weeks of night sweats, a dry cough and 4 kg weight loss "
    "after returning from a long stay abroad. What is the most likely diagnosis and what tests come first?"
)


def hb_row(prompt_id: str, turns: list[tuple[str, str]], consensus: bool = False) -> dict:
    return {
        "prompt_id": prompt_id,
        "prompt": [{"role": role, "content": content} for role, content in turns],
        "rubrics": RUBRIC,
        "example_tags": ["theme:emergency_referrals"],
        "ideal_completions_data": {"ideal_completion": "Seek care now."} if consensus else None,
    }


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("judged")
    rows = {
        "healthbench": [
            hb_row("hb-fever", [("user", FEVER)]),
            hb_row(
                "hb-fall",
                [
                    ("user", "Quick question about my gran."),
                    ("assistant", REPLY),
                    ("user", LONG_TURN),
                ],
            ),
        ],
        "healthbench_hard": [
            hb_row(
                "hb-fall",
                [("user", "Quick question about my gran."), ("assistant", REPLY), ("user", LONG_TURN)],
            )
        ],
        "healthbench_consensus": [hb_row("hb-fever", [("user", FEVER)], consensus=True)],
    }
    paths = {}
    for name, items in rows.items():
        paths[name] = folder / f"{name}.jsonl"
        paths[name].write_text("".join(json.dumps(r) + "\n" for r in items))
    paths["pairwise"] = folder / "vignettes.jsonl"
    paths["pairwise"].write_text(json.dumps({"id": "v-tb", "prompt": VIGNETTE}) + "\n")
    corpus = [
        {"id": "leak-fever", "question": FEVER.upper().replace("  ", " ")},  # case changed
        # the last turn only: under half of the conversation, caught as a turn of its own
        # the last turn only: under half of the conversation, caught as a turn of its own
        {"id": "leak-turn", "question": "Please help. " + LONG_TURN},
        {"id": "leak-vignette", "question": VIGNETTE + " Answer briefly."},  # a sentence added
        {
            "id": "clean",
            "question": "How much water should an adult drink on a hot day?",
            "response": "About 2 l.",
        },
        {"id": "type", "question": "What is the difference between type 1 and type 2 diabetes?"},
    ]
    paths["corpus"] = folder / "corpus.jsonl"
    paths["corpus"].write_text("".join(json.dumps(r) + "\n" for r in corpus))
    return paths


def recipe(files: dict[str, Path], out: Path, **decontam):
    benchmarks = {k: str(v) for k, v in files.items() if k != "corpus"}
    data = {
        "name": "judged",
        "output": str(out),
        "sources": [{"format": "jsonl", "name": "mine", "path": str(files["corpus"]), "licence": "x"}],
        "decontamination": {"benchmarks": benchmarks, **decontam},
    }
    return parse_recipe(data, out.parent)


@pytest.fixture(scope="module")
def report(files, tmp_path_factory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("build") / "out"
    build(recipe(files, out))
    return json.loads((out / "decontam" / "report.json").read_text()), out


def test_healthbench_and_vignette_leaks_are_removed(report):
    data, _ = report
    found = {
        task: {rid: [m["benchmark_id"] for m in ms] for rid, ms in by.items()}
        for task, by in data["by_benchmark"].items()
        if by
    }
    assert found["healthbench"] == {"mine:0": ["hb-fever"], "mine:1": ["hb-fall#user1"]}
    assert found["healthbench_consensus"] == {"mine:0": ["hb-fever"]}
    assert found["healthbench_hard"] == {"mine:1": ["hb-fall#user1"]}
    assert found["pairwise"] == {"mine:2": ["v-tb"]}
    assert data["counts"]["records_out"] == 2  # "clean" and "type" stay


def test_the_report_names_each_judged_set_and_its_file(report, files):
    data, out = report
    for name in ("healthbench", "healthbench_hard", "healthbench_consensus", "pairwise"):
        source = data["benchmarks"][name]["source"]
        assert source.startswith(str(files[name])) and "sha256:" in source
    assert data["benchmarks"]["healthbench"]["items"] == 2
    shown = runner.invoke(app, ["data", "report", str(out)])
    assert shown.exit_code == 0 and "healthbench_consensus" in shown.output and "pairwise" in shown.output


def test_without_files_the_bundled_samples_are_protected(tmp_path):
    recipe_ = parse_recipe({"name": "x", "sources": [{"format": "jsonl"}], "output": str(tmp_path)}, tmp_path)
    assert recipe_.decontamination.judged_names() == [
        "healthbench",
        "healthbench_hard",
        "healthbench_consensus",
        "pairwise",
    ]
    data = build(recipe_).manifest
    [entry] = [e for e in data["log"] if e["stage"] == "decontaminate"]
    sources = {i["task"]: i["source"] for i in entry["inputs"]}
    assert sources["healthbench"].startswith("sample:healthbench.jsonl")
    assert sources["pairwise"].startswith("sample:vignettes.jsonl")


def test_a_list_of_tasks_picks_judged_sets_too(files, tmp_path):
    only = recipe(files, tmp_path / "o", tasks=["medqa", "pairwise"])
    assert only.decontamination.task_names() == ["medqa"]
    assert only.decontamination.judged_names() == ["pairwise"]


def test_bad_judged_files_are_clear_errors(files, tmp_path):
    missing = recipe({**files, "healthbench_hard": tmp_path / "none.jsonl"}, tmp_path / "a")
    with pytest.raises(BadRequest) as caught:
        build(missing)
    assert caught.value.message.startswith("decontamination.benchmarks.healthbench_hard: no HealthBench file")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"prompt_id": "x"}\n')
    with pytest.raises(BadRequest) as caught:
        build(recipe({**files, "healthbench": broken}, tmp_path / "b"))
    assert "broken.jsonl:1: not a HealthBench row" in caught.value.message
    with pytest.raises(BadRequest) as caught:
        build(recipe({**files, "pairwise": broken}, tmp_path / "c"))
    assert "decontamination.benchmarks.pairwise" in caught.value.message
    with pytest.raises(ConfigError) as caught:
        recipe({**files, "healthbenhc": broken}, tmp_path / "d")
    assert "unknown task 'healthbenhc'" in str(caught.value) and "healthbench_hard" in str(caught.value)


def test_official_and_urls_pass_through_and_review_sources_are_checked(tmp_path):
    data = {
        "name": "x",
        "sources": [{"format": "medqa"}],
        "decontamination": {"benchmarks": {"healthbench": "official", "pairwise": "v.jsonl"}},
    }
    checked = parse_recipe(data, tmp_path)
    assert checked.benchmark_source("healthbench") == "official"  # downloaded once by galen eval's loader
    assert checked.benchmark_source("pairwise") == str(tmp_path / "v.jsonl")
    with pytest.raises(ConfigError, match=r"review.required\[0\]: no source is named 'nope'"):
        parse_recipe({**data, "review": {"required": ["nope"]}}, tmp_path)
