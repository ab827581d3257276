"""Compare two eval runs item by item: paired bootstrap of the accuracy difference and McNemar."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from galen.errors import BadRequest
from galen.evals.metrics import McNemar, PairedDiff, mcnemar, paired_bootstrap


@dataclass
class TaskComparison:
    task: str
    n: int
    accuracy_a: float
    accuracy_b: float
    diff: PairedDiff
    mcnemar: McNemar


def _correct_by_id(run: Path, task: str) -> dict[str, float]:
    """Per-item accuracy (mean over k samples) from samples_<task>.jsonl."""
    scores: dict[str, list[float]] = {}
    for line in (run / f"samples_{task}.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        scores.setdefault(row["id"], []).append(float(row["correct"]))
    return {k: sum(v) / len(v) for k, v in scores.items()}


def _tasks(run: Path) -> list[str]:
    path = run / "results.json"
    if not path.exists():
        raise BadRequest("run", f"{run} is not an eval run folder (no results.json)")
    return list(json.loads(path.read_text())["tasks"])


def compare_runs(run_a: Path, run_b: Path) -> list[TaskComparison]:
    """Tasks present in both runs, compared on the items both answered."""
    out = []
    for task in [t for t in _tasks(run_a) if t in _tasks(run_b)]:
        a, b = _correct_by_id(run_a, task), _correct_by_id(run_b, task)
        ids = sorted(set(a) & set(b))
        if not ids:
            continue
        xs, ys = [a[i] for i in ids], [b[i] for i in ids]
        out.append(
            TaskComparison(
                task,
                len(ids),
                sum(xs) / len(ids),
                sum(ys) / len(ids),
                paired_bootstrap(xs, ys),
                mcnemar([x >= 0.5 for x in xs], [y >= 0.5 for y in ys]),
            )
        )
    if not out:
        raise BadRequest("run", f"{run_a} and {run_b} share no task with common items")
    return out
