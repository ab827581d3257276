"""Per-task numbers from scored samples: accuracy with its uncertainty, and what went wrong.

Unparsed answers count as wrong and their rate is reported next to the score, as are the
truncation rate and the mean number of thinking tokens, so a low score can be told apart from
a formatting or length problem.

With k answers per item (`--samples k`) the answers to one item are not independent: the
stderr and the 95% CI are clustered by item (`metrics.clustered_score`), so they are as wide
as the number of items allows, not sqrt(k) too narrow.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import fmean

from galen.evals.metrics import clustered_score, macro_f1, majority_vote
from galen.evals.results import SampleResult, TaskScore
from galen.evals.task import Task


def _by_item(results: list[SampleResult]) -> dict[str, list[SampleResult]]:
    items: dict[str, list[SampleResult]] = defaultdict(list)
    for r in results:
        items[r.id].append(r)
    return items


def _subgroups(task: Task, results: list[SampleResult]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for key in task.subgroups:
        groups: dict[str, list[float]] = defaultdict(list)
        for r in results:
            if key in r.metadata:
                groups[f"{key}={r.metadata[key]}"].append(float(r.correct))
        out.update({name: {"accuracy": fmean(v), "n": len(v)} for name, v in sorted(groups.items())})
    return out


def score_task(task: Task, results: list[SampleResult]) -> TaskScore:
    """Accuracy over all answers (mean over k when k > 1), with stderr and Wilson 95% CI
    clustered by item."""
    correct = [float(r.correct) for r in results]
    clustered = clustered_score(correct, [r.id for r in results])
    value, stderr = clustered.mean, clustered.stderr
    items = _by_item(results)
    low, high = clustered.ci if correct else (0.0, 0.0)
    extra: dict[str, float] = {}
    loglik = bool(results) and results[0].logliks is not None
    if loglik:
        extra["acc_norm"] = fmean(float(bool(r.correct_norm)) for r in results)
    if "macro_f1" in task.metrics:
        extra["macro_f1"] = macro_f1([r.gold for r in results], [r.extracted for r in results], task.labels)
    k = max(len(v) for v in items.values()) if items else 1
    if k > 1:
        extra[f"maj@{k}"] = fmean(
            float(majority_vote([r.extracted for r in v]) == v[0].gold) for v in items.values()
        )
    return TaskScore(
        task=task.name,
        version=task.version,
        metric="acc" if loglik else "accuracy",
        value=value,
        stderr=stderr,
        ci_low=low,
        ci_high=high,
        n=len(items),
        unparsed_rate=fmean(r.extracted is None for r in results) if results else 0.0,
        truncation_rate=fmean(r.finish_reason == "length" for r in results) if results else 0.0,
        mean_reasoning_tokens=fmean(r.reasoning_tokens for r in results) if results else 0.0,
        mean_completion_tokens=fmean(r.completion_tokens for r in results) if results else 0.0,
        extra=extra,
        subgroups=_subgroups(task, results),
    )
