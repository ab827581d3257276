"""Clinician review: stratified export, import of verdicts (good and bad rows), held-back sources."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from galen.cli.main import app
from galen.data.build import build
from galen.data.manifest import verify
from galen.data.recipe import load_recipe
from galen.data.record import Message, Record
from galen.data.review import generator_of
from galen.data.review_import import import_reviews
from galen.data.review_sample import COLUMNS, draw, export_sample
from galen.provenance import read_provenance

SAMPLES = Path(__file__).resolve().parents[1] / "galen" / "data" / "samples"
runner = CliRunner()


def write_recipe(folder: Path) -> Path:
    """The sample recipe, with the handwritten and messages sources under required review."""
    data = yaml.safe_load((SAMPLES / "recipe.yaml").read_text())
    data.update(output="out", review={"required": ["handwritten", "messages"]})
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("review")
    path = write_recipe(folder)
    return build(load_recipe(path), path).out


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def test_required_sources_are_held_back_until_reviewed(built):
    manifest = json.loads((built / "manifest.json").read_text())
    by_source = manifest["counts"]["by_source"]
    assert by_source["handwritten"]["kept"] == 0 and by_source["handwritten"]["review"]["pending"] == 3
    assert by_source["medqa"]["review"] == {"accepted": 0, "edited": 0, "rejected": 0, "pending": 0}
    pending = (built / "held" / "pending.jsonl").read_text().splitlines()
    assert {json.loads(line)["source"] for line in pending} == {"handwritten", "messages"}
    sft = (built / "export" / "sft.jsonl").read_text()
    assert "handwritten:" not in sft
    assert verify(built).ok


def test_export_draws_per_source_and_is_reproducible(built, tmp_path):
    first = export_sample(built, tmp_path / "a.csv", per_stratum=2, seed=1)
    again = export_sample(built, tmp_path / "b.csv", per_stratum=2, seed=1)
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    assert first.strata["handwritten / -"] == 2 and first.strata["medqa / -"] == 2
    assert all(n <= 2 for n in first.strata.values()) and first.rows == again.rows
    rows = read_csv(tmp_path / "a.csv")
    assert list(rows[0]) == COLUMNS and rows[0]["verdict"] == "" and len(rows[0]["record_sha256"]) == 64
    export_sample(built, tmp_path / "a.jsonl", per_stratum=2, seed=1)
    assert [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()] == rows


def record(k: int, source: str, generator: str | None) -> Record:
    meta = {"generator": generator} if generator else {}
    return Record(
        id=f"{source}:{k}", source=source, format="jsonl", revision="local", file="x", file_sha256="0",
        split="train", row=k, source_id=str(k), licence="x", kind="open",
        messages=[Message(role="user", content=f"question {k}")], metadata=meta,
    )  # fmt: skip


def test_strata_are_source_and_generator_read_defensively():
    records = [record(k, "synth", ["exam", "guideline", None][k % 3]) for k in range(30)]
    records.append(
        record(99, "synth", None).model_copy(update={"metadata": {"synth": {"generator": "vignette"}}})
    )
    sample = draw(records, per_stratum=4, seed=0, sources=None, skip=set())
    assert sample.strata == {"synth / -": 4, "synth / exam": 4, "synth / guideline": 4, "synth / vignette": 1}
    assert generator_of(record(0, "s", None).model_copy(update={"metadata": {"generator": 3}})) == "3"


def fill(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Verdicts for the exported rows: accept, reject, edit, then every kind of bad row."""
    by_source = {}
    for row in rows:
        by_source.setdefault(row["source"], []).append(row)
    hand, medqa = by_source["handwritten"], by_source["medqa"]
    good = [
        {**hand[0], "verdict": "accept", "reviewer": "dr-a", "note": "fine"},
        {**hand[1], "verdict": "reject", "reviewer": "dr-a", "note": "wrong answer"},
        {
            **medqa[0],
            "verdict": "Edit",
            "reviewer": "dr-b",
            "edited_answer": 'Reviewed answer: {"answer": "A"}',
        },
    ]
    bad = [
        {**medqa[1], "id": "medqa:999", "verdict": "accept", "reviewer": "dr-b"},  # unknown id
        {**hand[0], "verdict": "reject", "reviewer": "dr-c"},  # second verdict for the same id
        {**by_source["medmcqa"][0], "verdict": "maybe", "reviewer": "dr-b"},  # unknown verdict
        {**by_source["medmcqa"][1], "verdict": "accept", "reviewer": ""},  # no reviewer
        {**by_source["pubmedqa"][0], "verdict": "edit", "reviewer": "dr-b"},  # edit without text
        {**by_source["liveqa"][0], "verdict": "accept", "reviewer": "dr-b", "record_sha256": "f" * 64},
        {**by_source["sharegpt"][0]},  # left blank: not reviewed
    ]
    return good + bad


@pytest.fixture(scope="module")
def imported(built, tmp_path_factory):
    folder = tmp_path_factory.mktemp("verdicts")
    export_sample(built, folder / "sample.csv", per_stratum=3, seed=0)
    rows = read_csv(folder / "sample.csv")
    write_csv(folder / "verdicts.csv", fill(rows))
    edited_id = fill(rows)[2]["id"]
    original = next(r for r in rows if r["id"] == edited_id)
    return import_reviews(built, [folder / "verdicts.csv"]), folder, fill(rows), original


def test_import_counts_every_bad_row_by_reason(imported, built):
    result, folder, rows, _ = imported
    assert len(result.checked.verdicts) == 3 and result.checked.rows == len(rows)
    assert result.checked.by_reason() == {
        "duplicate verdict": 1,
        "edit without edited text": 1,
        "no reviewer": 1,
        "not reviewed": 1,
        "record changed since export": 1,
        "unknown id": 1,
        "unknown verdict": 1,
    }
    report = json.loads((built / "review" / "import_report.json").read_text())
    assert report["applied"] == 3 and report["by_verdict"] == {"accept": 1, "reject": 1, "edit": 1}
    duplicate = next(p for p in report["problems"] if p["reason"].startswith("duplicate"))
    assert duplicate["id"] == rows[0]["id"] and "verdicts.csv:2)" in duplicate["reason"]
    # answers span lines (quoted CSV fields), and each problem names the line its row starts on
    lines = (folder / "verdicts.csv").read_text().splitlines()
    assert duplicate["line"] > 6 and lines[duplicate["line"] - 1].startswith(rows[0]["id"] + ",")


def test_verdicts_reach_the_records_exports_manifest_and_provenance(imported, built):
    result, _, rows, original = imported
    accepted, rejected, edited = rows[0]["id"], rows[1]["id"], rows[2]["id"]
    kept = {
        json.loads(line)["id"]: json.loads(line)
        for f in sorted((built / "records").glob("*.jsonl"))
        for line in f.read_text().splitlines()
    }
    assert accepted in kept and rejected not in kept
    assert kept[accepted]["metadata"]["review"]["reviewer"] == "dr-a"
    assert kept[edited]["messages"][-1]["content"] == 'Reviewed answer: {"answer": "A"}'
    assert kept[edited]["metadata"]["review"]["original"][-1]["content"] == original["answer"]
    held = [json.loads(line) for line in (built / "held" / "rejected.jsonl").read_text().splitlines()]
    assert [r["id"] for r in held] == [rejected] and held[0]["metadata"]["review"]["note"] == "wrong answer"
    sft = [json.loads(line)["id"] for line in (built / "export" / "sft.jsonl").read_text().splitlines()]
    assert accepted in sft and rejected not in sft
    manifest = json.loads((built / "manifest.json").read_text())
    review = manifest["counts"]["by_source"]["handwritten"]["review"]
    assert review == {"accepted": 1, "edited": 0, "rejected": 1, "pending": 1}
    assert manifest["counts"]["by_source"]["medqa"]["review"]["edited"] == 1
    assert "review" in [e["stage"] for e in manifest["log"]]
    roles = {i.role: i for i in read_provenance(built).inputs}
    assert roles["review"].path.endswith("review/verdicts.jsonl") and roles["review"].sha256
    assert verify(built).ok


def test_importing_the_same_file_again_applies_nothing(imported, built):
    _, folder, _, _ = imported
    again = import_reviews(built, [folder / "verdicts.csv"])
    assert again.checked.verdicts == [] and again.verdicts == 3
    assert again.checked.by_reason()["duplicate verdict"] == 4
    assert verify(built).ok


def test_review_cli_and_its_errors(imported, built, tmp_path):
    target = tmp_path / "next.jsonl"
    out = runner.invoke(
        app, ["data", "review", "export", str(built), "-o", str(target), "--per-stratum", "1"]
    )
    assert out.exit_code == 0, out.output
    exported = [json.loads(line)["id"] for line in target.read_text().splitlines()]
    assert exported and not {r["id"] for r in imported[2][:3]} & set(exported)  # reviewed ones left out
    missing = runner.invoke(app, ["data", "review", "import", str(built), str(tmp_path / "none.csv")])
    assert missing.exit_code == 2 and "no review file at" in missing.output
    bad = tmp_path / "bad.csv"
    bad.write_text("id,comment\nx,y\n")
    wrong = runner.invoke(app, ["data", "review", "import", str(built), str(bad)])
    assert wrong.exit_code == 2 and "no verdict, reviewer column" in wrong.output
    junk = tmp_path / "junk.jsonl"
    junk.write_text('not json\n["a list"]\n')
    counted = runner.invoke(app, ["data", "review", "import", str(built), str(junk)])
    assert (
        counted.exit_code == 0
        and "not valid JSON" in counted.output
        and "not a JSON object" in counted.output
    )
    other = runner.invoke(app, ["data", "review", "export", str(built), "-o", str(tmp_path / "x.txt")])
    assert other.exit_code == 2 and "as .csv or .jsonl" in other.output
