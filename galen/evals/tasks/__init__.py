"""The benchmarks galen ships, one file each, and finding one by name.

medqa.py        MedQA USMLE 4-option test (1273)
medmcqa.py      MedMCQA dev (4183; 2816 single-choice)
pubmedqa.py     PubMedQA PQA-L official test (500), yes / no / maybe
mmlu_pro.py     MMLU-Pro biology (717) and health (818), 5-shot CoT exemplars from validation
mmlu_prox.py    MMLU-ProX biology in one of several languages
medxpertqa.py   MedXpertQA Text test (2450), ten options

Importing this package registers every task with `@task` (galen.evals.task.TASKS).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from galen.errors import BadRequest
from galen.evals.task import TASKS, Task
from galen.evals.tasks.medmcqa import medmcqa
from galen.evals.tasks.medqa import medqa
from galen.evals.tasks.medxpertqa import medxpertqa
from galen.evals.tasks.mmlu_pro import mmlu_pro_biology, mmlu_pro_health
from galen.evals.tasks.mmlu_prox import mmlu_prox_biology
from galen.evals.tasks.pubmedqa import pubmedqa

__all__ = [
    "get_task",
    "load_tasks",
    "medmcqa",
    "medqa",
    "medxpertqa",
    "mmlu_pro_biology",
    "mmlu_pro_health",
    "mmlu_prox_biology",
    "pubmedqa",
]


def get_task(name: str, **kwargs: Any) -> Task:
    """The registered task `name`, built with `kwargs` (source, limit, ...)."""
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
