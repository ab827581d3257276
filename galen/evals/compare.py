"""Compare two eval runs item by item: paired bootstrap of the accuracy difference and McNemar.

Two runs are compared only when they asked the same thing: per task, the same task version,
preset, mode and n-shot, the same data files (sha256) and the same prompts for the items both
answered (`runs.CHECKED`). A difference is an error naming it, unless `allow_mismatch` is given,
when it becomes a note printed with the table.

With k > 1 answers per item, an item's score is the mean of its k answers and the paired
bootstrap resamples items (a cluster bootstrap); McNemar's test needs one right-or-wrong answer
per item and run, so it is reported only when both runs have k = 1 (a mean is never thresholded
into a right or wrong).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from galen.errors import BadRequest
from galen.evals.metrics import McNemar, PairedDiff, mcnemar, paired_bootstrap
from galen.evals.runs import RunFolder, TaskResult, mismatches, noise_sd, read_run, reproducibility_notes

N_RESAMPLES = 1000


@dataclass
class TaskComparison:
    """One task of two runs. mcnemar: None when either run has k > 1 answers per item;
    noise_sd: the run-to-run sd of the difference (`--repeat`), None where not measured."""

    task: str
    n: int
    accuracy_a: float
    accuracy_b: float
    diff: PairedDiff
    mcnemar: McNemar | None
    noise_sd: float | None = None

    @property
    def within_noise(self) -> bool:
        """The difference is smaller than the run-to-run spread `--repeat` measured."""
        return self.noise_sd is not None and abs(self.diff.mean_diff) < self.noise_sd


@dataclass
class Comparison:
    tasks: list[TaskComparison]
    notes: list[str] = field(default_factory=list)


@dataclass
class _Items:
    """A task's answers in one run: item id -> scores of its k answers, and its prompt."""

    scores: dict[str, list[float]]
    prompts: dict[str, str]

    def mean(self, item: str) -> float:
        return sum(self.scores[item]) / len(self.scores[item])

    @property
    def single(self) -> bool:
        return all(len(v) == 1 for v in self.scores.values())


def _items(run: Path, task: str) -> _Items:
    path = run / f"samples_{task}.jsonl"
    if not path.exists():
        raise BadRequest("run", f"{run} has no samples_{task}.jsonl to pair items with")
    scores: dict[str, list[float]] = {}
    prompts: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        scores.setdefault(row["id"], []).append(float(row["correct"]))
        prompts.setdefault(row["id"], json.dumps(row.get("messages"), sort_keys=True, ensure_ascii=False))
    return _Items(scores, prompts)


def _prompts_digest(items: _Items, ids: list[str]) -> str:
    digest = hashlib.sha256()
    for item in ids:
        digest.update(items.prompts[item].encode())
    return digest.hexdigest()


def _paired(
    task: str, ta: TaskResult, tb: TaskResult, a: _Items, b: _Items, ids: list[str]
) -> TaskComparison:
    xs, ys = [a.mean(i) for i in ids], [b.mean(i) for i in ids]
    exact = None
    if a.single and b.single:
        exact = mcnemar([x >= 1.0 for x in xs], [y >= 1.0 for y in ys])
    n = len(ids)
    return TaskComparison(
        task, n, sum(xs) / n, sum(ys) / n, paired_bootstrap(xs, ys, N_RESAMPLES), exact, noise_sd(ta, tb)
    )


def compare_runs(run_a: Path, run_b: Path, allow_mismatch: bool = False) -> Comparison:
    """Tasks present in both runs, compared on the items both answered; a mismatch in what was
    asked is an error (or, with `allow_mismatch`, a note)."""
    ra, rb = read_run(run_a), read_run(run_b)
    common = [t for t in ra.tasks if t in rb.tasks and (run_a / f"samples_{t}.jsonl").exists()]
    out, problems = [], []
    for task in common:
        a, b = _items(run_a, task), _items(run_b, task)
        ids = sorted(set(a.scores) & set(b.scores))
        if not ids:
            continue
        ta, tb = ra.tasks[task], rb.tasks[task]
        differ = mismatches(ta, tb, skip=("prompts_sha256",))
        if _prompts_digest(a, ids) != _prompts_digest(b, ids):
            differ.append(f"prompts differ on the {len(ids)} items both answered")
        problems += [f"{task}: {d}" for d in differ]
        out.append(_paired(task, ta, tb, a, b, ids))
    if problems and not allow_mismatch:
        raise BadRequest(
            "run",
            f"{run_a} and {run_b} did not ask the same thing ({'; '.join(problems)}); "
            "pass --allow-mismatch to compare them anyway",
        )
    if not out:
        raise BadRequest("run", f"{run_a} and {run_b} share no task with common items")
    notes = [f"compared despite a mismatch: {p}" for p in problems]
    return Comparison(out, notes + _noise_notes(out) + reproducibility_notes([ra, rb]))


def _noise_notes(tasks: list[TaskComparison]) -> list[str]:
    return [
        f"{c.task}: the difference {c.diff.mean_diff:+.4f} is smaller than the run-to-run sd "
        f"{c.noise_sd:.4f} measured by --repeat"
        for c in tasks
        if c.within_noise
    ]


__all__ = ["Comparison", "RunFolder", "TaskComparison", "compare_runs"]
