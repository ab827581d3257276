"""provenance.json and `galen lineage` on small hand-made run folders (no model): links followed,
hashes checked, a changed or missing file flagged, and folders of an older galen still read.
The end-to-end chain on the CPU recipe (data build -> SFT -> export -> eval -> lineage) is in
test_train_pipeline.py."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from galen.cli.main import app
from galen.files import weights_sha256
from galen.lineage import broken, lines, trace
from galen.provenance import FileRef, file_input, read_provenance, write_provenance

runner = CliRunner()


def chain(tmp_path: Path) -> dict[str, Path]:
    """A data build (one source file) -> a training run -> an export -> an eval result."""
    source = tmp_path / "upstream" / "items.jsonl"
    source.parent.mkdir()
    source.write_text('{"q": "Which ion causes peaked T waves?"}\n')
    build, run, export, result = (tmp_path / name for name in ("build", "run", "export", "eval"))
    for folder in (build / "export", run / "final", export, result):
        folder.mkdir(parents=True)
    (build / "export" / "sft.jsonl").write_text('{"messages": []}\n')
    (build / "manifest.json").write_text("{}\n")
    (run / "final" / "adapter_model.safetensors").write_bytes(b"lora")
    (export / "model.safetensors").write_bytes(b"merged weights")
    (result / "results.json").write_text("{}\n")

    def record(folder: Path, kind: str, inputs: list[FileRef], outputs: list[Path]) -> None:
        write_provenance(folder, kind, config={}, resolved={}, inputs=inputs, output_files=outputs)

    record(
        build, "data-build", [file_input("source", source, licence="CC-BY-4.0")], [build / "manifest.json"]
    )
    record(
        run,
        "train",
        [
            file_input("data", build / "export" / "sft.jsonl", folder=str(build)),
            file_input("manifest", build / "manifest.json", folder=str(build)),
        ],
        [run / "final" / "adapter_model.safetensors"],
    )
    weights = FileRef(role="run", path=str(run), sha256=weights_sha256(run / "final"), folder=str(run))
    record(export, "export", [weights], [export / "model.safetensors"])
    model = FileRef(role="model", path=str(export), sha256=weights_sha256(export), folder=str(export))
    record(result, "eval", [model], [result / "results.json"])
    return {"source": source, "build": build, "run": run, "export": export, "eval": result}


def test_a_result_is_followed_to_its_source_file(tmp_path: Path):
    folders = chain(tmp_path)
    record = read_provenance(folders["eval"])
    assert record and record.kind == "eval" and record.outputs[0].path == "results.json"
    root = trace(folders["eval"])
    kinds = []
    node = root
    while node.links:
        kinds.append(node.kind)
        node = node.links[0].node or node
        if node.kind in kinds:
            break
    assert kinds == ["eval", "export", "train", "data-build"]
    assert broken(root) == []
    text = "\n".join(t for _, t, _ in lines(root))
    assert f"source {folders['source']} sha256" in text and "licence CC-BY-4.0" in text


def test_a_changed_or_missing_file_is_a_broken_link(tmp_path: Path):
    folders = chain(tmp_path)
    (folders["export"] / "model.safetensors").write_bytes(b"other weights")  # re-exported over it
    folders["source"].unlink()
    bad = broken(trace(folders["eval"]))
    assert sorted(link.status for link in bad) == ["changed", "missing"]
    shown = runner.invoke(app, ["lineage", str(folders["eval"])])
    assert shown.exit_code == 1 and "2 broken link(s)" in shown.output
    assert "BROKEN: missing" in shown.output and "BROKEN: sha256 is now" in shown.output
    data = json.loads(runner.invoke(app, ["lineage", str(folders["run"]), "--json"]).output)
    assert data["kind"] == "train" and data["broken"] == [str(folders["source"])]


def test_folders_of_an_older_galen_are_read_and_others_refused(tmp_path: Path):
    old = tmp_path / "old-eval"
    old.mkdir()
    model = {"model": "smollm2", "location": str(tmp_path / "gone")}
    written = {"galen_version": "0.1.0", "created": "2026-11-30T10:00:00Z", "model": model}
    (old / "results.json").write_text(json.dumps(written))
    shown = runner.invoke(app, ["lineage", str(old)])
    assert "no provenance.json" in shown.output and "Run the same command again" in shown.output
    assert shown.exit_code == 0  # nothing recorded a hash, so nothing can be found broken
    empty = runner.invoke(app, ["lineage", str(tmp_path)])
    assert empty.exit_code == 2 and "is not a galen run folder" in empty.output
