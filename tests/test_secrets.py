"""API keys never land on disk: a distillation and a GRPO run with the rubric reward, both against
a key-protected `galen serve`, take the key from the environment variable their recipe names,
and no file either run writes contains it (every byte of every file is searched)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from galen.cli.main import app
from galen.data.build import build
from galen.data.recipe import load_recipe

KEY = "sk-galen-never-on-disk-5f2c"


@pytest.fixture(scope="module")
def judge(server_factory):
    return server_factory("--api-key", KEY, "--parallel", "2", "--context-length", "2048", "--threads", "1")


def files_holding_the_key(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]


def test_distill_reads_the_key_from_the_variable_the_recipe_names(judge, tmp_path: Path):
    recipe = {
        "name": "keyed",
        "output": "build",
        "sources": [{"format": "medmcqa", "limit": 2}],
        "decontamination": {"tasks": ["medmcqa"]},
        "distill": {"api_key_env": "GALEN_TEACHER_KEY", "tries": 1, "max_tokens": 8, "shard_size": 2},
    }
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    build(load_recipe(path))
    command = [
        sys.executable,
        "-m",
        "galen.cli.main",
        "data",
        "distill",
        str(path),
        "--teacher",
        judge.base_url,
    ]
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    refused = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert refused.returncode == 2 and "refused the API key (401): set GALEN_TEACHER_KEY" in refused.stderr
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=300, env={**env, "GALEN_TEACHER_KEY": KEY}
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "build" / "distill" / "provenance.json").is_file()
    assert files_holding_the_key(tmp_path) == []


def test_grpo_with_the_rubric_reward_writes_no_key(judge, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("GALEN_JUDGE_KEY", KEY)
    rubric = {
        "name": "rubric",
        "args": {
            "judge": judge.base_url,
            "api_key_env": "GALEN_JUDGE_KEY",
            "rubric": [{"criterion": "Names the electrolyte at fault", "points": 1}],
            "max_tokens": 8,
            "max_retries": 1,
        },
    }
    overrides = [
        "model.base=smollm2",
        "model.chat_template=chatml_think",
        f"rewards={json.dumps([rubric])}",
        "data.limit=2",
        "trl.max_steps=1",
        "trl.per_device_train_batch_size=2",
        "trl.num_generations=2",
        "trl.max_completion_length=16",
        "trl.save_steps=1",
        "peft.r=2",
        "peft.alpha=4",
        "threads=1",
    ]
    sets = [item for o in overrides for item in ("--set", o)]
    run = tmp_path / "grpo"
    result = CliRunner().invoke(app, ["train", "grpo", "cpu-smollm2-grpo", *sets, "--output-dir", str(run)])
    assert result.exit_code == 0, result.output
    logged = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    means = [r["rewards/rubric_reward/mean"] for r in logged if "rewards/rubric_reward/mean" in r]
    assert means and not math.isnan(means[0])  # the judge answered: the key from the environment worked
    assert "GALEN_JUDGE_KEY" in (run / "recipe.yaml").read_text()  # the variable's name, not its value
    assert files_holding_the_key(tmp_path) == []
    with pytest.raises(Exception, match="never holds a key"):
        load_recipe_with_key()


def load_recipe_with_key() -> None:
    from galen.train.recipe import load_recipe as load_train_recipe

    rubric = {"name": "rubric", "args": {"judge": "http://127.0.0.1:9/v1", "api_key": KEY}}
    load_train_recipe("cpu-smollm2-grpo", [f"rewards={json.dumps([rubric])}"])
