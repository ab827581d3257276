"""What a benchmark is to galen: samples, how to prompt for them, how to read and score answers.

One benchmark is one file under `evals/tasks/`, top to bottom: a docstring with the shape of a
real item and a link to the official scorer, a loader (hub id + pinned revision, or a local
file), and a factory registered with `@task` that returns a `Task`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from galen.errors import BadRequest

AnswerKind = Literal["choice", "label"]


@dataclass(frozen=True)
class Sample:
    """One benchmark item.

    options: answer letters -> option text, in presentation order ("A": "...", "B": "...").
    answer: the gold letter (multiple choice) or gold label (PubMedQA: yes / no / maybe).
    context: passage the question is about (PubMedQA abstracts), if any.
    metadata: fields used for subgroup breakdowns (e.g. MedQA's step, MMLU-Pro's category).
    """

    id: str
    question: str
    answer: str
    options: dict[str, str] = field(default_factory=dict)
    context: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChoiceQuery:
    """A sample as lm-eval's `multiple_choice` request: log P(delimiter + choice | context) for
    each choice; the prediction is the most likely one (acc), or the most likely per character
    of the choice (acc_norm). `choices` are the answers themselves (letters or labels)."""

    context: str
    choices: tuple[str, ...]
    gold: int
    delimiter: str = " "

    @property
    def continuations(self) -> list[str]:
        return [self.delimiter + c for c in self.choices]


@dataclass
class Task:
    """A benchmark ready to run.

    kind: "choice" answers are option letters; "label" answers are words from `labels`.
    prompt: builds the chat messages for a sample under a preset ("galen" or "lm-eval").
    fewshot: exemplars for presets that use them (MMLU-Pro's 5-shot CoT).
    loglik: the sample as a log-likelihood query (`--mode loglik`); None where the task has no
        such format.
    metrics: names from `evals.metrics` ("accuracy", "macro_f1").
    subgroups: metadata keys to break scores down by.
    """

    name: str
    version: str
    samples: list[Sample]
    kind: AnswerKind = "choice"
    labels: tuple[str, ...] = ()
    prompt: Callable[[Sample, str], list[dict[str, Any]]] | None = None
    fewshot: list[Sample] = field(default_factory=list)
    loglik: Callable[[Sample], ChoiceQuery] | None = None
    metrics: tuple[str, ...] = ("accuracy",)
    subgroups: tuple[str, ...] = ()
    source: str = ""  # where the samples came from: hub id@revision or a file path, with its sha256

    def choices_for(self, sample: Sample) -> tuple[str, ...]:
        """The answers extraction may return for this sample."""
        return tuple(sample.options) if self.kind == "choice" else self.labels


TaskFactory = Callable[..., Task]
TASKS: dict[str, TaskFactory] = {}


def task(name: str) -> Callable[[TaskFactory], TaskFactory]:
    """Register a task factory under `name` (as inspect_ai's @task does)."""

    def register(factory: TaskFactory) -> TaskFactory:
        TASKS[name] = factory
        return factory

    return register


def get_task(name: str, **kwargs: Any) -> Task:
    from galen.evals import tasks as _  # noqa: F401 - importing registers the tasks

    try:
        factory = TASKS[name]
    except KeyError:
        raise BadRequest("tasks", f"unknown task {name!r}; known: {', '.join(sorted(TASKS))}") from None
    return factory(**kwargs)


def load_tasks(
    names: Sequence[str], sources: dict[str, str], limit: int | None, languages: Sequence[str] = ("en",)
) -> list[Task]:
    """Each named task (read from `sources[name]` if given); MMLU-ProX once per language."""
    loaded = []
    for name in names:
        source = sources.get(name)
        if name.startswith("mmlu_prox"):
            loaded += [get_task(name, source=source, limit=limit, language=code) for code in languages]
        else:
            loaded.append(get_task(name, source=source, limit=limit))
    return loaded
