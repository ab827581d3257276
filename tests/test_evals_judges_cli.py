"""`galen eval healthbench` and `galen eval pairwise` end to end on the embedded server, and the
HealthBench file loader (bundled samples, local files, a download served over real HTTP).

With the tiny model as grader and judge the numbers mean nothing; these tests check the run
folder, the resume and the error messages. The arithmetic is pinned in test_evals_judges.py.
"""

from __future__ import annotations

import functools
import http.server
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from galen.errors import BadRequest
from galen.evals.judges.healthbench import healthbench_file, load_healthbench


def _eval(*args: str) -> list[str]:
    return [sys.executable, "-m", "galen.cli.main", "eval", *args]


def _run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(_eval(*args), capture_output=True, text=True, timeout=timeout)


def test_subsets_have_bundled_samples_and_bad_input_is_named(tmp_path: Path) -> None:
    assert [len(load_healthbench(subset=s)) for s in ("all", "hard")] == [4, 2]
    assert load_healthbench(subset="hard")[0].prompt_id == "galen-hbh-0001"
    with pytest.raises(BadRequest, match="subset"):
        healthbench_file(None, "easy")
    with pytest.raises(BadRequest, match="no HealthBench file"):
        healthbench_file(tmp_path / "missing.jsonl")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"prompt_id": "x"}\n')
    with pytest.raises(BadRequest, match=r"broken.jsonl:1: not a HealthBench row"):
        load_healthbench(broken)


def test_download_is_fetched_once_into_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    served = tmp_path / "served"
    served.mkdir()
    rows = (Path(healthbench_file(None, "hard"))).read_text()
    (served / "hard_test.jsonl").write_text(rows)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("GALEN_CACHE", str(tmp_path / "cache"))
    url = f"http://127.0.0.1:{httpd.server_address[1]}/hard_test.jsonl"
    try:
        path = healthbench_file(url)
        with pytest.raises(BadRequest, match="could not download"):
            healthbench_file(url.replace("hard_test", "absent"))
    finally:
        httpd.shutdown()
    assert path == tmp_path / "cache" / "healthbench" / "hard_test.jsonl" and path.read_text() == rows
    assert healthbench_file(url) == path  # the server is gone: the cached copy answers
    assert not list(path.parent.glob("*.part"))


@pytest.mark.slow
def test_healthbench_run_writes_grades_and_resumes(tmp_path: Path, server) -> None:
    out = tmp_path / "hb"
    args = ("healthbench", "--model", server.base_url, "--grader", server.base_url, "--subset", "hard")
    args += ("--limit", "1", "--max-tokens", "32", "--grader-max-tokens", "16", "--max-retries", "1")
    args += ("--no-think", "--output", str(out))
    first = _run(*args)
    assert first.returncode == 0, first.stderr
    assert "HealthBench (hard)" in first.stdout and "Research use only" in first.stdout
    result = json.loads((out / "healthbench_hard.json").read_text())
    assert result["config"]["subset"] == "hard" and len(result["data"]["sha256"]) == 64
    assert result["score"]["n"] == 1 and 0.0 <= result["score"]["overall"] <= 1.0
    grade = json.loads((out / "grades_healthbench_hard.jsonl").read_text())
    assert grade["prompt_id"] == "galen-hbh-0001" and len(grade["items"]) == 4
    assert {"criterion", "points", "criteria_met", "parsed", "attempts"} <= set(grade["items"][0])
    calls = (out / "cache" / "calls.jsonl").read_text().splitlines()
    assert len(calls) == 1 + 4  # one answer, one grader call per rubric item
    again = _run(*args)
    assert again.returncode == 0 and (out / "cache" / "calls.jsonl").read_text().splitlines() == calls


@pytest.mark.slow
def test_pairwise_run_records_both_answers_and_the_order(tmp_path: Path, server) -> None:
    out = tmp_path / "pw"
    url = server.base_url
    result = _run(
        "pairwise", "--model-a", url, "--model-b", url, "--judge", url, "--limit", "2", "--max-tokens", "24",
        "--judge-max-tokens", "24", "--max-retries", "1", "--no-think", "--seed", "3", "--output", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "net win" in result.stdout
    summary = json.loads((out / "pairwise.json").read_text())
    assert summary["win_rate"]["n"] == 2 and summary["config"]["seed"] == 3
    rows = [json.loads(line) for line in (out / "judgements.jsonl").read_text().splitlines()]
    assert [r["vignette_id"] for r in rows] == ["galen-v-001", "galen-v-002"]
    assert all(r["answer_a"] and r["outcome"] in ("win", "loss", "tie") for r in rows)


def test_judged_tasks_point_to_their_command(tmp_path: Path) -> None:
    result = _run("run", "--model", "smollm2", "--tasks", "healthbench_hard", "--output", str(tmp_path))
    assert result.returncode == 2 and "galen eval healthbench" in result.stderr
    listed = _run("tasks")
    assert "healthbench_hard" in listed.stdout and "pairwise" in listed.stdout
    missing = _run(
        "pairwise", "--model-a", "a", "--model-b", "b", "--judge", "c", "--data", str(tmp_path / "x")
    )
    assert missing.returncode == 2 and "--data: no file" in missing.stderr
