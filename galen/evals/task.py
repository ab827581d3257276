"""What a benchmark is to galen: samples, how to prompt for them, how to read and score answers.

One benchmark is one file under `evals/tasks/`, top to bottom: a docstring with the shape of a
real item and a link to the official scorer, a loader (hub id + pinned revision, or a local
file), and a factory registered with `@task` that returns a `Task`. A task carries everything
that is particular to it (prompts, a custom answer extractor, its log-likelihood format), so
the runner and the report hold no task-specific branch. `galen.evals.tasks.get_task` finds a
registered task by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from galen.engine.endpoint import Answer
from galen.evals.extract import NOTHING, Extraction, extract_answer

AnswerKind = Literal["choice", "label"]
LETTERS = "ABCDEFGHIJKLMNOP"  # option letters, in presentation order


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
    extractors: preset -> how that preset's replies are read, where it is not the default
        (MMLU-Pro's "lm-eval" preset reads "the answer is (X)" only); shown as "custom-extract".
    files: the data files read, for the run folder's provenance.
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
    extractors: dict[str, Callable[[str, Sample], Extraction]] = field(default_factory=dict)
    files: tuple[str, ...] = ()

    def choices_for(self, sample: Sample) -> tuple[str, ...]:
        """The answers extraction may return for this sample."""
        return tuple(sample.options) if self.kind == "choice" else self.labels

    def extract(self, answer: Answer, sample: Sample, preset: str) -> Extraction:
        """Reasoning is already split off; a think block cut by max_tokens yields no answer."""
        if answer.unclosed_reasoning:
            return NOTHING
        if custom := self.extractors.get(preset):
            return custom(answer.content, sample)
        return extract_answer(answer.content, self.kind, self.choices_for(sample))

    def filter_name(self, preset: str, mode: str = "generate") -> str:
        """How answers were read, as the results table names it."""
        if mode == "loglik":
            return "loglik"
        if self.kind == "label":
            return "label"
        return "custom-extract" if preset in self.extractors else "galen-cascade"

    def n_shot(self, preset: str) -> int:
        return len(self.fewshot) if preset == "lm-eval" else 0


TaskFactory = Callable[..., Task]
TASKS: dict[str, TaskFactory] = {}


def task(name: str) -> Callable[[TaskFactory], TaskFactory]:
    """Register a task factory under `name` (as inspect_ai's @task does)."""

    def register(factory: TaskFactory) -> TaskFactory:
        TASKS[name] = factory
        return factory

    return register
