"""Issue 11's endpoint promise, end to end: a key-protected `galen serve` with two served names
(transformers engine) is evaluated in generate and loglik modes and used as a HealthBench
grader, all through --api-key / $OPENAI_API_KEY and --model-name; its log-likelihoods equal the
in-process ones to 1e-4; a server that cannot score prompts is one line naming it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import KEYED_HF_KEY, LOGLIK_LOCAL

from galen.engine.endpoint_loglik import (
    NoPromptScores,
    batches,
    continuation_loglik,
    split_spaces,
    token_logprobs,
)


def _galen(*args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    if key:
        env["OPENAI_API_KEY"] = key
    command = [sys.executable, "-m", "galen.cli.main", "eval", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)


def _logliks(folder: Path, task: str) -> dict[str, list[float]]:
    rows = (folder / f"samples_{task}.jsonl").read_text().splitlines()
    return {row["id"]: row["logliks"] for row in map(json.loads, rows)}


@pytest.mark.slow
def test_loglik_through_the_keyed_server_equals_in_process(keyed_hf, loglik_local_run, tmp_path):
    tasks = LOGLIK_LOCAL[2:]  # what the session's in-process run (loglik_local_run) evaluated
    remote = _galen(
        "run", "--model", keyed_hf.base_url, "--model-name", "med-b", "--api-key", KEYED_HF_KEY, *tasks,
        "--output", str(tmp_path / "remote"),
    )  # fmt: skip
    assert remote.returncode == 0, remote.stderr
    local, done = loglik_local_run  # SmolLM2's GGUF in process, on transformers like the server
    assert done.returncode == 0, done.stderr
    for task in ("medqa", "pubmedqa"):
        ours, theirs = _logliks(tmp_path / "remote", task), _logliks(local, task)
        assert ours.keys() == theirs.keys() and len(ours) == 3
        for item, values in ours.items():
            assert values == pytest.approx(theirs[item], abs=1e-4), (task, item)
    results = json.loads((tmp_path / "remote" / "results.json").read_text())
    assert results["model"]["model"] == "med-b" and results["config"]["mode"] == "loglik"
    assert len(results["model"]["weights_sha256"]) == 64  # the server's fingerprint, recorded
    for file in (tmp_path / "remote").rglob("*"):
        assert not file.is_file() or KEYED_HF_KEY.encode() not in file.read_bytes(), file


@pytest.mark.slow
def test_generate_and_healthbench_grading_through_the_keyed_server(keyed_hf, tmp_path):
    url = keyed_hf.base_url
    generated = _galen(
        "run", "--model", url, "--model-name", "med-a", "--tasks", "medqa", "--limit", "2", "--no-think",
        "--max-tokens", "6", "--output", str(tmp_path / "gen"), key=KEYED_HF_KEY,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    assert json.loads((tmp_path / "gen" / "results.json").read_text())["model"]["model"] == "med-a"
    graded = _galen(
        "healthbench", "--model", url, "--model-name", "med-a",
        "--grader", url, "--grader-model-name", "med-b",
        "--subset", "hard", "--limit", "1", "--max-tokens", "12", "--grader-max-tokens", "8",
        "--max-retries", "1", "--no-think", "--output", str(tmp_path / "hb"), key=KEYED_HF_KEY,
    )  # fmt: skip
    assert graded.returncode == 0, graded.stderr
    result = json.loads((tmp_path / "hb" / "healthbench_hard.json").read_text())
    assert result["score"]["n"] == 1
    assert "med-b" in json.dumps(result) and "med-a" in json.dumps(result)  # both names recorded
    wrong = _galen(
        "run", "--model", url, "--model-name", "med-b", "--tasks", "medqa", "--mode", "loglik",
        "--limit", "1", "--api-key", "wrong", "--output", str(tmp_path / "wrong"),
    )  # fmt: skip
    assert wrong.returncode == 2 and "refused the API key (401)" in wrong.stderr
    assert not (tmp_path / "wrong" / "results.json").exists()


def test_a_server_without_prompt_logprobs_is_one_line(server, tmp_path):
    result = _galen(
        "run", "--model", server.base_url, "--tasks", "medqa", "--mode", "loglik", "--limit", "1",
        "--output", str(tmp_path / "r"),
    )  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    line = [x for x in result.stderr.splitlines() if "error" in x][0]
    assert server.base_url in line and "prompt log-probabilities" in line
    assert not (tmp_path / "r" / "results.json").exists()


def _choice(values, tops=None):
    logprobs = SimpleNamespace(token_logprobs=values, top_logprobs=tops) if values is not None else None
    return SimpleNamespace(logprobs=logprobs)


def test_answers_without_scores_are_refused_and_the_split_is_lm_evals():
    client = SimpleNamespace(base_url="http://gpu:8000/v1", model="m")
    for empty in (_choice(None), _choice([])):  # a 200 without prompt log-probabilities
        with pytest.raises(NoPromptScores, match=r"http://gpu:8000/v1 returned no prompt log-probabilities"):
            token_logprobs(client, empty)
    values, tops = token_logprobs(
        client, _choice([None, -1.0, -0.5, -2.0], [None, {"a": -1}, {"b": -0.5}, {"c": -1.0}])
    )
    got = continuation_loglik(values, tops, 2, client)  # two context tokens, two continuation tokens
    assert got.logprob == -2.5 and got.tokens == 2 and not got.greedy  # -2.0 is not the top (-1.0)
    assert split_spaces("Answer: ", "A") == ("Answer:", " A")
    assert batches({"a": ["1"] * 20, "b": ["1"] * 20, "c": ["1"] * 40}) == [["a"], ["b"], ["c"]]
