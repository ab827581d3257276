"""Runs that reproduce (`--deterministic`, `--repeat N`) and a cache that cannot go stale (the
model's fingerprint holds its weights' hash and any `--model-revision`), on the embedded
SmolLM2 through llama.cpp in this process."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from galen.evals.clients import open_client
from galen.evals.config import EvalConfig
from galen.evals.runner import cache_path, evaluate
from galen.evals.tasks import load_tasks

LIMIT = 4  # items a run; a resumed run takes the first half from its cache and answers the rest


def _run(output: Path, model: str = "smollm2", **settings):
    config = EvalConfig(
        model=model, tasks=["medqa"], limit=LIMIT, thinking=False, max_tokens=24, seed=3, **settings
    )
    client = open_client(
        config.model,
        config.engine,
        parallel=config.concurrency,
        deterministic=config.deterministic,
        model_revision=config.model_revision,
    )
    try:
        return evaluate(config, load_tasks(config.tasks, {}, config.limit), client, output)
    finally:
        client.close()


def _samples(folder: Path) -> list[tuple[str, str]]:
    rows = map(json.loads, (folder / "samples_medqa.jsonl").read_text().splitlines())
    return [(r["id"], r["content"]) for r in rows]


@pytest.mark.slow
def test_deterministic_run_rerun_and_resumed_run_are_identical(tmp_path):
    first = _run(tmp_path / "first", deterministic=True)
    assert first.config.concurrency == 1 and first.reproducibility == {
        "deterministic": True,
        "bitwise_reproducible": True,
    }
    _run(tmp_path / "again", deterministic=True)
    # A kill after half the items leaves the first half of the cache's lines: resume from there.
    lines = cache_path(tmp_path / "first").read_text().splitlines()
    assert len(lines) == LIMIT
    resumed_cache = cache_path(tmp_path / "resumed")
    resumed_cache.parent.mkdir(parents=True)
    resumed_cache.write_text("\n".join(lines[: LIMIT // 2]) + "\n")
    resumed = _run(tmp_path / "resumed", deterministic=True)
    assert resumed.resumed_calls == LIMIT // 2
    assert _samples(tmp_path / "first") == _samples(tmp_path / "again") == _samples(tmp_path / "resumed")
    results = json.loads((tmp_path / "resumed" / "results.json").read_text())
    assert results["reproducibility"]["bitwise_reproducible"] is True
    assert "Bitwise reproducible" in (tmp_path / "resumed" / "report.md").read_text()


@pytest.mark.slow
def test_repeat_measures_the_spread_and_resumes(tmp_path):
    run = _run(tmp_path / "rep", deterministic=True, repeat=2)
    spread = run.reproducibility["repeat"]
    assert spread["n"] == 2 and len(spread["scores"]["medqa"]) == 2
    assert spread["sd"]["medqa"] == 0.0  # deterministic: both runs score the same
    assert len(cache_path(tmp_path / "rep").read_text().splitlines()) == 2 * LIMIT  # each run its own
    again = _run(tmp_path / "rep", deterministic=True, repeat=2)
    assert again.resumed_calls == 2 * LIMIT
    saved = json.loads((tmp_path / "rep" / "results.json").read_text())["reproducibility"]
    assert saved["repeat"]["sd"] == {"medqa": 0.0} and saved["deterministic"] is True


def test_default_runs_say_they_are_not_bitwise_reproducible():
    config = EvalConfig(model="smollm2", tasks=["medqa"])
    assert not config.bitwise_reproducible and config.concurrency == 8
    remote = EvalConfig(model="http://127.0.0.1:9/v1", tasks=["medqa"], deterministic=True)
    assert remote.concurrency == 1 and not remote.bitwise_reproducible  # a server batches as it likes
    with pytest.raises(ValueError, match="repeat"):
        EvalConfig(model="smollm2", tasks=["medqa"], repeat=0)


@pytest.mark.slow
def test_a_different_model_exported_into_the_same_folder_gets_fresh_answers(tmp_path):
    from galen.models.embedded import smollm2_path, smollm2_shipped_path

    folder = tmp_path / "export"
    folder.mkdir()
    model = folder / "model.gguf"
    shutil.copy(smollm2_path(), model)  # the Q8_0 copy
    first = _run(tmp_path / "run", model=str(model), deterministic=True)
    shutil.copy(smollm2_shipped_path(), model)  # "re-exported": a different model, same path
    second = _run(tmp_path / "run", model=str(model), deterministic=True)
    assert second.resumed_calls == 0  # nothing of the old model's answers was reused
    assert first.fingerprint["weights_sha256"] != second.fingerprint["weights_sha256"]
    assert len(cache_path(tmp_path / "run").read_text().splitlines()) == 2 * LIMIT
    pinned = _run(tmp_path / "run", model=str(model), deterministic=True, model_revision="v2")
    assert pinned.resumed_calls == 0 and pinned.fingerprint["model_revision"] == "v2"
    recorded = json.loads((tmp_path / "run" / "results.json").read_text())["model"]
    assert (
        recorded["model_revision"] == "v2"
        and recorded["weights_sha256"] == second.fingerprint["weights_sha256"]
    )
