"""`galen eval --mode loglik`: lm-eval's acc / acc_norm, end to end on the embedded model."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from conftest import LOGLIK_LOCAL

from galen.evals.loglik import argmax, loglik_result
from galen.evals.task import Sample
from galen.evals.tasks import get_task, load_tasks


def _eval(*args: str) -> list[str]:
    return [sys.executable, "-m", "galen.cli.main", "eval", *args]


def test_argmax_takes_the_first_of_equal_values() -> None:
    assert argmax([-1.0, -0.5, -0.5]) == 1 and argmax([-3.0]) == 0


def test_acc_and_acc_norm_are_lm_evals() -> None:
    task = get_task("pubmedqa", limit=1)
    sample = Sample(id="1", question="q", answer="maybe", context="c")
    query = task.loglik(sample)
    assert query.continuations == [" yes", " no", " maybe"] and query.gold == 2
    # acc: the largest log-likelihood ("no"); acc_norm: the largest per character of the choice:
    # -3/3 = -1.0, -2.5/2 = -1.25, -4.5/5 = -0.9 -> "maybe".
    result = loglik_result(sample, query, [[-3.0, False], [-2.5, True], [-4.5, False]])
    assert result.extracted == "no" and not result.correct
    assert result.correct_norm and result.logliks == [-3.0, -2.5, -4.5]


def test_queries_use_lm_evals_text() -> None:
    medqa = get_task("medqa", limit=1)
    query = medqa.loglik(medqa.samples[0])
    assert query.context.startswith("Question: ") and query.context.endswith("\nAnswer:")
    assert query.continuations == [" A", " B", " C", " D"]
    assert query.choices[query.gold] == medqa.samples[0].answer
    biology = get_task("mmlu_pro_biology", limit=2)
    first, second = (biology.loglik(s).context for s in biology.samples)
    shots = first[: first.index(biology.samples[0].question)]
    assert second.startswith(shots) and shots.count("Answer: ") == len(biology.fewshot) == 5


def test_languages_expand_mmlu_prox_only() -> None:
    names = [t.name for t in load_tasks(["medqa", "mmlu_prox_biology"], {}, 1, ["de", "ja"])]
    assert names == ["medqa", "mmlu_prox_de_biology", "mmlu_prox_ja_biology"]


@pytest.mark.slow
def test_loglik_run_end_to_end_and_resume(loglik_local_run, tmp_path) -> None:
    first_out, first = loglik_local_run  # medqa and pubmedqa, 3 items each, run once per session
    assert first.returncode == 0, first.stderr
    assert "mode=loglik" in first.stdout and "acc_norm" in first.stdout
    results = json.loads((first_out / "results.json").read_text())
    assert results["config"]["preset"] == "lm-eval" and results["config"]["engine"] == "transformers"
    medqa = results["tasks"]["medqa"]
    assert medqa["metric"] == "acc" and medqa["filter"] == "loglik" and "acc_norm" in medqa["extra"]
    rows = [json.loads(line) for line in (first_out / "samples_medqa.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and all(len(r["logliks"]) == 4 and r["method"] == "loglik" for r in rows)
    assert all(r["extracted"] == "ABCD"[max(range(4), key=lambda i: r["logliks"][i])] for r in rows)
    out = tmp_path / "run"  # resumed in a copy: the session's run stays as it was written
    shutil.copytree(first_out, out)
    args = _eval("run", *LOGLIK_LOCAL, "--output", str(out))
    again = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "resumed: 6 calls" in again.stdout
    assert json.loads((out / "results.json").read_text())["tasks"]["medqa"]["value"] == medqa["value"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--preset", "galen"], "use --preset lm-eval"),
        (["--samples", "2"], "--samples applies to --mode generate"),
        (["--tasks", "mmlu_prox_biology"], "has no log-likelihood format"),
        (["--device", "cuda"], "this torch sees no CUDA GPU"),
        (["--dtype", "float8"], "dtype"),
    ],
)
def test_loglik_refuses_what_it_cannot_do(tmp_path, args: list[str], message: str) -> None:
    base = {"--model": "smollm2-q4_1", "--tasks": "medqa"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    flat = [x for pair in base.items() if pair[0] in ("--model", "--tasks") for x in pair]
    extra = [x for pair in base.items() if pair[0] not in ("--model", "--tasks") for x in pair]
    result = subprocess.run(
        _eval("run", *flat, *extra, "--mode", "loglik", "--limit", "1", "--output", str(tmp_path / "r")),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_language_needs_mmlu_prox(tmp_path) -> None:
    result = subprocess.run(
        _eval("run", "--model", "smollm2", "--tasks", "medqa", "--language", "de", "--output", str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "--language applies to mmlu_prox_biology" in result.stderr
