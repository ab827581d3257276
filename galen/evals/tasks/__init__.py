"""The benchmarks galen ships, one file each, and finding one by name.

medqa.py        MedQA USMLE 4-option test (1273)
medmcqa.py      MedMCQA dev (4183; 2816 single-choice)
pubmedqa.py     PubMedQA PQA-L official test (500), yes / no / maybe
mmlu_pro.py     MMLU-Pro biology (717) and health (818), 5-shot CoT exemplars from validation
mmlu_prox.py    MMLU-ProX biology in one of several languages
medxpertqa.py   MedXpertQA Text test (2450), ten options
mmlu.py         MMLU's six medical subjects (mmlu_anatomy, mmlu_clinical_knowledge, ...), 5-shot
groups.py       task groups (multimedqa, as lm-eval's)
custom.py       a task of your own: a JSONL file and a small YAML spec (`--tasks path/spec.yaml`)
overrides.py    --system-prompt applied to a task

Importing this package registers every task with `@task` (galen.evals.task.TASKS).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from galen.errors import BadRequest
from galen.evals.task import TASKS, Task
from galen.evals.tasks.custom import custom_task, is_spec
from galen.evals.tasks.groups import GROUPS, expand
from galen.evals.tasks.medmcqa import medmcqa
from galen.evals.tasks.medqa import medqa
from galen.evals.tasks.medxpertqa import medxpertqa
from galen.evals.tasks.mmlu import (
    mmlu_anatomy,
    mmlu_clinical_knowledge,
    mmlu_college_biology,
    mmlu_college_medicine,
    mmlu_medical_genetics,
    mmlu_professional_medicine,
)
from galen.evals.tasks.mmlu_pro import mmlu_pro_biology, mmlu_pro_health
from galen.evals.tasks.mmlu_prox import mmlu_prox_biology
from galen.evals.tasks.overrides import with_system_prompt
from galen.evals.tasks.pubmedqa import pubmedqa

__all__ = [
    "GROUPS",
    "custom_task",
    "get_task",
    "load_tasks",
    "medmcqa",
    "medqa",
    "medxpertqa",
    "mmlu_anatomy",
    "mmlu_clinical_knowledge",
    "mmlu_college_biology",
    "mmlu_college_medicine",
    "mmlu_medical_genetics",
    "mmlu_professional_medicine",
    "mmlu_pro_biology",
    "mmlu_pro_health",
    "mmlu_prox_biology",
    "pubmedqa",
]


def get_task(name: str, **kwargs: Any) -> Task:
    """The registered task `name`, built with `kwargs` (source, limit, num_fewshot, ...).

    num_fewshot is passed to the tasks that have exemplars; 0 (or None) is accepted by every
    task, any other count by a zero-shot task is an error naming the tasks that take it."""
    try:
        factory = TASKS[name]
    except KeyError:
        known = ", ".join([*sorted(TASKS), *GROUPS])
        raise BadRequest(
            "tasks", f"unknown task {name!r}; known: {known} (or the path of a task spec .yaml)"
        ) from None
    shots = kwargs.pop("num_fewshot", None)
    if "num_fewshot" in inspect.signature(factory).parameters:
        kwargs["num_fewshot"] = shots
    elif shots:
        takes = ", ".join(
            n for n, f in sorted(TASKS.items()) if "num_fewshot" in inspect.signature(f).parameters
        )
        raise BadRequest("num_fewshot", f"{name} has no few-shot exemplars; --num-fewshot applies to {takes}")
    return factory(**kwargs)


def load_tasks(
    names: Sequence[str],
    sources: dict[str, str],
    limit: int | None,
    languages: Sequence[str] = ("en",),
    *,
    num_fewshot: int | None = None,
    system_prompt: str | None = None,
) -> list[Task]:
    """Each named task (read from `sources[name]` if given): groups expanded, MMLU-ProX once per
    language, a name ending in .yaml read as a task spec of your own (`custom.py`)."""
    loaded = []
    for name in expand(names):
        source = sources.get(name)
        if is_spec(name):
            loaded.append(custom_task(name, limit, num_fewshot))
        elif name.startswith("mmlu_prox"):
            loaded += [
                get_task(name, source=source, limit=limit, language=code, num_fewshot=num_fewshot)
                for code in languages
            ]
        else:
            loaded.append(get_task(name, source=source, limit=limit, num_fewshot=num_fewshot))
    return [with_system_prompt(t, system_prompt) for t in loaded] if system_prompt else loaded
