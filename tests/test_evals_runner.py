"""galen eval end to end on the embedded model: run folder, resume after a kill, compare."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from galen.engine.chat import ChatEngine
from galen.evals import EvalConfig, evaluate
from galen.evals.cache import CallCache, cache_key
from galen.evals.clients import LocalClient, open_client
from galen.evals.tasks import get_task
from galen.models.source import resolve


def _eval(*args: str) -> list[str]:
    return [sys.executable, "-m", "galen.cli.main", "eval", *args]


def test_cache_survives_a_torn_last_line(tmp_path):
    cache = CallCache(tmp_path / "calls.jsonl")
    cache.put(cache_key({"a": 1}), {"x": 1})
    with (tmp_path / "calls.jsonl").open("a") as f:
        f.write('{"key": "half')  # what a kill mid-write leaves
    again = CallCache(tmp_path / "calls.jsonl")
    assert len(again) == 1 and again.get(cache_key({"a": 1})) == {"x": 1}
    assert cache_key({"a": 1, "b": 2}) == cache_key({"b": 2, "a": 1})


@pytest.fixture(scope="module")
def local_client(smollm2_engine):
    return LocalClient(ChatEngine(smollm2_engine, resolve("smollm2", chat_template="chatml_think")))


def test_evaluate_writes_the_run_folder(local_client, tmp_path):
    tasks = [get_task("medqa", limit=3), get_task("pubmedqa", limit=3)]
    config = EvalConfig(model="smollm2", tasks=["medqa", "pubmedqa"], limit=3, max_tokens=48, thinking=False)
    run = evaluate(config, tasks, local_client, tmp_path)
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results["tasks"]) == {"medqa", "pubmedqa"}
    medqa = results["tasks"]["medqa"]
    assert (
        medqa["n"] == 3 and 0 <= medqa["value"] <= 1 and medqa["ci_low"] <= medqa["value"] <= medqa["ci_high"]
    )
    assert "macro_f1" in results["tasks"]["pubmedqa"]["extra"]
    assert results["config"]["max_tokens"] == 48 and results["model"]["engine"] == "llama.cpp"
    assert len(results["tasks"]["medqa"]["prompts_sha256"]) == 64
    rows = [json.loads(line) for line in (tmp_path / "samples_medqa.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and {"messages", "content", "extracted", "gold", "correct", "method"} <= set(
        rows[0]
    )
    assert (tmp_path / "report.md").read_text().startswith("# galen eval")
    assert (tmp_path / "accuracy.png").stat().st_size > 1000
    # A second run over the same folder makes no new model call.
    again = evaluate(config, tasks, local_client, tmp_path)
    assert again.resumed_calls == 6
    assert [r.content for r in again.tasks[0][2]] == [r.content for r in run.tasks[0][2]]


def test_in_process_model_keeps_concurrency_calls_in_flight(tmp_path):
    client = open_client("smollm2", parallel=8)
    complete, running, peak, lock = client.chat_engine.complete, [0], [0], threading.Lock()

    def counted(request):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            return complete(request)
        finally:
            with lock:
                running[0] -= 1

    client.chat_engine.complete = counted
    try:
        assert client.chat_engine.engine.info.max_concurrency == 8
        config = EvalConfig(
            model="smollm2", tasks=["medqa"], limit=8, max_tokens=16, thinking=False, concurrency=8
        )
        run = evaluate(config, [get_task("medqa", limit=8)], client, tmp_path)
    finally:
        client.close()
    # asyncio's default thread pool would have capped this at cpu_count + 4 (6 on two cores).
    assert len(run.tasks[0][2]) == 8 and peak[0] == 8


def test_killed_run_resumes_without_recomputing(tmp_path, server):
    out = tmp_path / "run"
    args = _eval(
        "run",
        "--model",
        server.base_url,
        "--tasks",
        "medqa",
        "--limit",
        "6",
        "--concurrency",
        "1",
        "--max-tokens",
        "64",
        "--no-think",
        "--output",
        str(out),
    )
    process = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    calls = out / "cache" / "calls.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not calls.exists() or len(calls.read_text().splitlines()) < 2):
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    done_before = len(calls.read_text().splitlines())
    assert 2 <= done_before < 6 and not (out / "results.json").exists()
    finished = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert f"resumed: {done_before} calls" in finished.stdout
    assert len(calls.read_text().splitlines()) == 6  # every item answered exactly once
    assert json.loads((out / "results.json").read_text())["tasks"]["medqa"]["n"] == 6


def test_compare_two_runs(tmp_path, server):
    for name, seed in (("a", "0"), ("b", "1")):
        result = subprocess.run(
            _eval(
                "run",
                "--model",
                server.base_url,
                "--tasks",
                "medqa",
                "--limit",
                "4",
                "--max-tokens",
                "32",
                "--no-think",
                "--temperature",
                "1.0",
                "--seed",
                seed,
                "--output",
                str(tmp_path / name),
            ),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        assert "medqa" in result.stdout and "galen-cascade" in result.stdout
    compared = subprocess.run(
        _eval("compare", str(tmp_path / "a"), str(tmp_path / "b")), capture_output=True, text=True, timeout=60
    )
    assert compared.returncode == 0, compared.stderr
    assert "McNemar" in compared.stdout and "medqa" in compared.stdout
    tabled = subprocess.run(
        _eval(
            "table",
            str(tmp_path / "a"),
            str(tmp_path / "b"),
            "--baseline",
            "a",
            "--output",
            str(tmp_path / "t.csv"),
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert tabled.returncode == 0, tabled.stderr
    assert tabled.stdout.splitlines()[0] == "| Task | Filter | n-shot | Metric | a | b | Δ |"
    assert (tmp_path / "t.csv").read_text().startswith("task_id,Task,Filter,n-shot,Metric,a,b,Δ")
    assert (tmp_path / "a" / "results_lmeval.json").exists()


def test_eval_cli_errors_name_the_problem(tmp_path):
    bad_task = subprocess.run(
        _eval("run", "--model", "smollm2", "--tasks", "nope"), capture_output=True, text=True, timeout=120
    )
    assert bad_task.returncode == 2 and "unknown task 'nope'" in bad_task.stderr
    not_a_run = subprocess.run(
        _eval("compare", str(tmp_path), str(tmp_path)), capture_output=True, text=True, timeout=60
    )
    assert not_a_run.returncode == 2 and "results.json" in not_a_run.stderr


def test_eval_tasks_lists_the_benchmarks():
    listed = subprocess.run(_eval("tasks"), capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0
    for name in ("medqa", "medmcqa", "pubmedqa", "mmlu_pro_biology"):
        assert name in listed.stdout


def test_real_medqa_file_through_the_cli(tmp_path, server):
    from conftest import SHARED

    if not (SHARED / "benchmarks").exists():
        pytest.skip(f"real benchmark data not found at {SHARED / 'benchmarks'}")
    result = subprocess.run(
        _eval(
            "run",
            "--model",
            server.base_url,
            "--tasks",
            "medqa",
            "--limit",
            "3",
            "--max-tokens",
            "16",
            "--no-think",
            "--data",
            f"medqa={SHARED / 'benchmarks' / 'medqa' / 'test.jsonl'}",
            "--output",
            str(tmp_path / "real"),
        ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    source = json.loads((tmp_path / "real" / "results.json").read_text())["tasks"]["medqa"]["source"]
    assert "test.jsonl" in source
    assert Path(tmp_path / "real" / "samples_medqa.jsonl").exists()


def test_mmlu_prox_lm_eval_preset_extracts_in_the_task_language():
    from galen.evals.clients import Answer

    task = get_task("mmlu_prox_biology", language="de")
    sample = task.samples[0]
    cue = task.prompt(sample, "lm-eval")[-1]["content"]
    assert cue  # the German prompt renders
    from galen.evals.tasks.mmlu_prox import answer_pattern

    german = answer_pattern("de").pattern.replace("\\(?([ABCDEFGHIJ])\\)?", "(B)").replace("\\", "")
    got = task.extract(Answer(f"Schritt für Schritt ... {german}", None, "stop", 1, 1, 0), sample, "lm-eval")
    assert got.answer == "B"
    english = task.extract(Answer("The answer is (B)", None, "stop", 1, 1, 0), sample, "lm-eval")
    assert english.answer is None  # the German regex does not read an English cue
