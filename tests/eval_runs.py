"""Run folders with chosen scores, written by galen's own writers (`write_run`, `write_healthbench`),
for the tests of `galen eval compare` and `galen eval table`.

The answers are set, not generated: which items a "model" got right is the input, so the numbers
the table and compare print can be checked exactly. Everything after that (scoring, results.json,
samples files, provenance, results_lmeval.json) is galen's real code.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from galen.evals.config import EvalConfig
from galen.evals.extract import NOTHING
from galen.evals.judges.healthbench import HealthBenchScore
from galen.evals.judges.report import header, write_healthbench
from galen.evals.loading import SAMPLES
from galen.evals.report import write_run
from galen.evals.results import SampleResult
from galen.evals.scoring import score_task
from galen.evals.task import Sample, Task

DATA_SHA = "a" * 64


@dataclass
class FakeTask:
    """A task with `n` items, of which the first `right` are answered right (each of k answers
    per item: `pattern[j]` says whether answer j is right, for every item below `right`)."""

    name: str
    n: int
    right: int
    k: int = 1
    version: str = "1"
    data_sha: str = DATA_SHA
    wording: str = "Question"
    n_shot: int = 0
    pattern: Sequence[bool] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _task(spec: FakeTask) -> Task:
    samples = [
        Sample(id=f"q{i}", question=f"{spec.wording} {i}?", answer="A", options={"A": "yes", "B": "no"})
        for i in range(spec.n)
    ]
    fewshot = samples[: spec.n_shot]
    return Task(
        name=spec.name,
        version=spec.version,
        samples=samples,
        fewshot=fewshot,
        source=f"/data/{spec.name}.jsonl [{spec.name}.jsonl sha256:{spec.data_sha}]",
        extractors={"lm-eval": lambda text, sample: NOTHING},
    )


def _results(task: Task, spec: FakeTask) -> list[SampleResult]:
    out = []
    for i, sample in enumerate(task.samples):
        for j in range(spec.k):
            right = i < spec.right and (spec.pattern is None or spec.pattern[j])
            messages = [{"role": "user", "content": sample.question}]
            out.append(
                SampleResult(
                    sample.id,
                    j,
                    messages,
                    "A" if right else "B",
                    None,
                    "A" if right else "B",
                    "json_field",
                    "A",
                    right,
                    "stop",
                    10,
                    2,
                    0,
                    {},
                )  # fmt: skip
            )
    return out


def write_fake_run(
    out: Path, tasks: list[FakeTask], *, preset: str = "galen", reproducibility: dict | None = None
) -> Path:
    """A run folder of `galen eval run` holding `tasks`; `reproducibility`: the block `--repeat`
    runs add to results.json (written in as given)."""
    runs = []
    for spec in tasks:
        task = _task(spec)
        results = _results(task, spec)
        runs.append((task, score_task(task, results), results))
    samples = max(t.k for t in tasks)
    config = EvalConfig(
        model=str(out.name), tasks=[t.name for t in tasks], preset=preset, samples=samples,
        temperature=0.0 if samples == 1 else 0.6,
    )  # fmt: skip
    write_run(out, config, {"model": out.name, "kind": "test"}, runs)
    if reproducibility is not None:
        path = out / "results.json"
        data = json.loads(path.read_text())
        data["reproducibility"] = reproducibility
        path.write_text(json.dumps(data, indent=2))
    return out


def write_fake_healthbench(out: Path, overall: float, subset: str = "hard", grader: str = "grader-x") -> Path:
    """healthbench_<subset>.json as `galen eval healthbench` writes it, with the given score."""
    config = {
        "model": out.name,
        "grader": "http://127.0.0.1:1/v1",
        "subset": subset,
        "grader_params": {"temperature": 0.0, "max_tokens": 2048},
        "fingerprints": {"model": {"model": out.name}, "grader": {"model": grader}},
    }
    data = SAMPLES / ("healthbench_hard.jsonl" if subset == "hard" else "healthbench.jsonl")
    score = HealthBenchScore(overall, 0.01, 1000, {})
    return write_healthbench(out, subset, header(config, data), score, [])
