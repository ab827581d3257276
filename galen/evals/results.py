"""What an eval is made of and produces: the job in progress (`Job`), one scored answer
(`SampleResult`), a task's numbers (`TaskScore`), and a finished run (`EvalRun`).

The runner, the log-likelihood mode, scoring and the report all read and write these types, so
they live here, apart from all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from galen.evals.cache import CallCache
from galen.evals.clients import ModelClient
from galen.evals.config import EvalConfig
from galen.evals.task import Task
from galen.evals.tasks.groups import group_scores


@dataclass
class Job:
    """A running eval: who answers, with which settings, the call cache, a progress callback."""

    client: ModelClient
    config: EvalConfig
    cache: CallCache
    progress: Callable[[], None] = lambda: None
    repeat: int = 0  # which run of `--repeat N` this is (0: the run the folder reports)


@dataclass
class SampleResult:
    """One scored answer: what samples_<task>.jsonl holds, one per line."""

    id: str
    k: int
    messages: list[dict[str, Any]]
    content: str
    reasoning: str | None
    extracted: str | None
    method: str
    gold: str
    correct: bool
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    metadata: dict[str, Any]
    logliks: list[float] | None = None  # --mode loglik: one per choice
    correct_norm: bool | None = None  # --mode loglik: acc_norm's verdict


@dataclass
class TaskScore:
    task: str
    version: str
    metric: str
    value: float
    stderr: float
    ci_low: float
    ci_high: float
    n: int
    unparsed_rate: float
    truncation_rate: float
    mean_reasoning_tokens: float
    mean_completion_tokens: float
    extra: dict[str, float] = field(default_factory=dict)  # macro_f1, maj@k, ...
    subgroups: dict[str, dict[str, float]] = field(default_factory=dict)


# One task of a run: the task, its score and every scored answer.
TaskRun = tuple[Task, TaskScore, list[SampleResult]]


@dataclass
class EvalRun:
    config: EvalConfig
    fingerprint: dict[str, Any]
    tasks: list[TaskRun]
    resumed_calls: int
    reproducibility: dict[str, Any] = field(default_factory=dict)  # results.json's, see runner

    @property
    def groups(self) -> dict[str, dict[str, Any]]:
        """Scores of the task groups asked for (multimedqa): see `tasks.groups.group_scores`."""
        return group_scores(self.config.tasks, {t.name: (s.value, s.n) for t, s, _ in self.tasks})
