"""galen data build / verify / report, end to end on our samples (and on ../shared when present)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import SHARED, needs_shared
from typer.testing import CliRunner

from galen.cli.main import app
from galen.data.build import build
from galen.data.manifest import tracked_files, verify
from galen.data.recipe import load_recipe
from galen.data.report import build_report

SAMPLES = Path(__file__).resolve().parents[1] / "galen" / "data" / "samples"
runner = CliRunner()


def sample_build(out: Path):
    recipe = load_recipe(SAMPLES / "recipe.yaml").model_copy(update={"output": str(out)})
    return build(recipe, SAMPLES / "recipe.yaml")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build") / "sample"
    sample_build(out)
    return out


def test_build_writes_shards_exports_and_a_manifest(built):
    manifest = json.loads((built / "manifest.json").read_text())
    names = {o["path"] for o in manifest["outputs"]}
    assert {"export/sft.jsonl", "export/grpo.jsonl", "export/sft.parquet", "decontam/report.json"} <= names
    assert {"records/records-00000-of-00002.jsonl", "records/records-00001-of-00002.jsonl"} <= names
    assert all(len(o["sha256"]) == 64 for o in manifest["outputs"])
    by_source = manifest["counts"]["by_source"]
    assert by_source["medqa"] == {
        "rows": 6,
        "read": 6,
        "skipped": {},
        "duplicates": 0,
        "decontaminated": 1,
        "kept": 5,
        "near_duplicates": 0,
    }
    assert by_source["medmcqa"]["duplicates"] == 1 and by_source["afrimedqa"]["skipped"] == {
        "multiple correct answers": 1
    }
    stages = [entry["stage"] for entry in manifest["log"]]
    assert stages == ["read"] * 10 + ["dedup", "decontaminate", "write"]
    read = manifest["log"][0]
    assert read["inputs"][0]["sha256"] and read["tool"].startswith("galen ") and read["rows_out"] == 6
    assert manifest["recipe"]["sha256"] and manifest["recipe"]["settings"]["decontamination"]["ngram"] == 8


def test_rerunning_gives_byte_identical_files_and_appends_to_the_log(built, tmp_path):
    other = tmp_path / "again"
    sample_build(other)
    sample_build(other)
    mine = {str(p.relative_to(built)): p.read_bytes() for p in tracked_files(built)}
    again = {str(p.relative_to(other)): p.read_bytes() for p in tracked_files(other)}
    assert mine == again
    runs = {json.loads(line)["run"] for line in (other / "processing_log.jsonl").read_text().splitlines()}
    assert len(runs) == 2


def test_verify_says_what_changed(built, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    assert verify(copy).ok
    shard = copy / "records" / "records-00000-of-00002.jsonl"
    shard.write_text("\n".join(shard.read_text().splitlines()[:-1]) + "\n")
    (copy / "export" / "grpo.parquet").unlink()
    (copy / "export" / "extra.jsonl").write_text("{}\n")
    problems = verify(copy).problems
    assert any(p.startswith("records/records-00000-of-00002.jsonl: sha256 changed") for p in problems)
    assert any("rows, the manifest says" in p for p in problems)
    assert (
        "export/grpo.parquet: missing" in problems and "export/extra.jsonl: not in the manifest" in problems
    )


def test_verify_catches_an_edited_provenance_record(built, tmp_path):
    # A changed date or setting in provenance.json hashes no output, so only its own hash shows it.
    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    record = copy / "provenance.json"
    record.write_text(record.read_text().replace('"created": "2', '"created": "1', 1))
    problems = verify(copy).problems
    assert problems == ["provenance.json: changed since it was written (its own sha256 does not match)"]


def test_report_writes_markdown_and_a_plot(built, tmp_path):
    tables, target = build_report(built, tmp_path / "report")
    titles = [t.title for t in tables]
    assert "Records per source and stage" in titles and "Gold answer balance (labelled records)" in titles
    text = (target / "report.md").read_text()
    assert "| medqa | 6 | 0 | 6 | 0 | 1 | 5 |" in text and "Highest-scoring matches" in text
    assert (target / "report.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_build_verify_report(tmp_path):
    out = tmp_path / "cli"
    result = runner.invoke(app, ["data", "build", str(SAMPLES / "recipe.yaml"), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "36 records" in result.output
    assert runner.invoke(app, ["data", "verify", str(out)]).exit_code == 0
    (out / "export" / "sft.jsonl").write_text("")
    changed = runner.invoke(app, ["data", "verify", str(out)])
    assert changed.exit_code == 1 and "export/sft.jsonl: sha256 changed" in changed.output
    assert runner.invoke(app, ["data", "report", str(out)]).exit_code == 0


def test_cli_errors_name_the_field_without_a_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nsources:\n  - format: medqa\n    path: nowhere.jsonl\n")
    result = runner.invoke(app, ["data", "build", str(bad), "--output", str(tmp_path / "o")])
    assert result.exit_code == 2 and "sources[0].path" in result.output and "nowhere.jsonl" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    bad.write_text("name: bad\nsources:\n  - format: medqa\n    splt: train\n")
    result = runner.invoke(app, ["data", "build", str(bad)])
    assert result.exit_code == 2 and "sources[0].splt: unknown setting" in result.output
    result = runner.invoke(app, ["data", "verify", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and "has no manifest.json" in result.output


@needs_shared()
@pytest.mark.shared
def test_build_on_the_real_benchmark_files(tmp_path):
    recipe = load_recipe(SAMPLES / "recipe_shared.yaml").model_copy(
        update={"output": str(tmp_path / "shared")}
    )
    result = build(recipe, SAMPLES / "recipe_shared.yaml")
    report = json.loads((tmp_path / "shared" / "decontam" / "report.json").read_text())
    by_source = result.counts["by_source"]
    assert by_source["medqa-test"]["kept"] == 0 and by_source["medmcqa-dev"]["kept"] == 0
    assert by_source["pubmedqa-pqal"]["kept"] == 500 and by_source["pubmedqa-pqal"]["decontaminated"] == 500
    assert report["counts"]["stage0_id"] == 500
    assert (
        report["benchmarks"]["medqa"]["items"] == 1273
        and str(SHARED.resolve()) in report["benchmarks"]["medqa"]["source"]
    )
    assert verify(tmp_path / "shared").ok
