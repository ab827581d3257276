"""`galen eval run --config FILE`: the same settings as the flags, on galen's one config base
(every problem at once, each with its field path; paths relative to the file; flags override)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from galen.config import ConfigError, validate
from galen.evals.config import EvalConfig
from galen.evals.loading import SAMPLES


def test_paths_are_relative_to_the_config_file(tmp_path: Path):
    config = validate(
        EvalConfig,
        {
            "model": "smollm2",
            "tasks": "medqa, pubmedqa",
            "data": {"medqa": "d/test.jsonl", "pubmedqa": "hub"},
        },
        base=tmp_path,
    )
    assert config.tasks == ["medqa", "pubmedqa"] and config.preset == "galen"
    assert config.data == {"medqa": str(tmp_path / "d" / "test.jsonl"), "pubmedqa": "hub"}
    assert validate(
        EvalConfig, {"model": "m", "tasks": ["medqa"], "output": "o"}, base=tmp_path
    ).output == str(tmp_path / "o")


def test_every_problem_is_named_at_once():
    with pytest.raises(ConfigError) as caught:
        validate(EvalConfig, {"model": "m", "tasks": [], "limit": 0, "temprature": 1})
    found = dict(caught.value.problems)
    assert "at least 1" in found["tasks"] and "greater than or equal to 1" in found["limit"]
    assert "did you mean `temperature`" in found["temprature"]
    loglik = {"model": "http://h/v1", "tasks": ["medqa"], "mode": "loglik", "samples": 2}
    with pytest.raises(ConfigError, match="--samples applies to --mode generate"):
        validate(EvalConfig, loglik)
    with pytest.raises(ConfigError, match="never holds a key"):
        validate(EvalConfig, {"model": "m", "tasks": ["medqa"], "api_key": "sk-x"})


def test_a_config_file_runs_and_flags_override_it(tmp_path: Path, server):
    sub = tmp_path / "configs"
    sub.mkdir()
    shutil.copy(SAMPLES / "medqa.jsonl", sub / "mine.jsonl")
    settings = {
        "model": server.base_url,
        "tasks": ["medqa"],
        "limit": 1,
        "max_tokens": 8,
        "thinking": False,
        "data": {"medqa": "mine.jsonl"},
        "output": "out",
    }
    (sub / "eval.yaml").write_text(yaml.safe_dump(settings))
    command = [sys.executable, "-m", "galen.cli.main", "eval", "run", "--config", "configs/eval.yaml"]
    done = subprocess.run(
        [*command, "--limit", "2"], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    results = json.loads((sub / "out" / "results.json").read_text())
    assert results["tasks"]["medqa"]["n"] == 2 and results["config"]["max_tokens"] == 8  # flag won, file kept
    assert str(sub / "mine.jsonl") in results["tasks"]["medqa"]["source"]
    provenance = json.loads((sub / "out" / "provenance.json").read_text())
    assert provenance["config"]["file"] == str(sub / "eval.yaml") and provenance["config"]["flags"] == {
        "limit": 2
    }
    assert {i["role"] for i in provenance["inputs"]} == {"model", "benchmark"}
    (sub / "bad.yaml").write_text(yaml.safe_dump({**settings, "tasks": "medqa", "lmit": 3, "seed": "x"}))
    bad = subprocess.run(
        [*command[:-1], "configs/bad.yaml"], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert bad.returncode == 2 and "lmit: unknown setting" in bad.stderr and "seed:" in bad.stderr
    assert "Traceback" not in bad.stderr
