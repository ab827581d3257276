"""Task groups: one name for several tasks, as lm-eval's groups, with a group score.

`multimedqa` is lm-eval's MultiMedQA group (lm_eval/tasks/benchmarks/multimedqa/multimedqa.yaml):
PubMedQA, MedMCQA, MedQA (4 options) and six MMLU subjects, here under galen's task names. Its
score is the mean of its tasks' scores weighted by their number of items (lm-eval's
`aggregate_metric_list` with `weight_by_size: true`).
"""

from __future__ import annotations

from collections.abc import Sequence

GROUPS: dict[str, tuple[str, ...]] = {
    "multimedqa": (
        "pubmedqa",
        "medmcqa",
        "medqa",
        "mmlu_anatomy",
        "mmlu_clinical_knowledge",
        "mmlu_college_medicine",
        "mmlu_medical_genetics",
        "mmlu_professional_medicine",
        "mmlu_college_biology",
    ),
}


def expand(names: Sequence[str]) -> list[str]:
    """Task names with each group replaced by its tasks, in order, without repeats."""
    return list(dict.fromkeys(task for name in names for task in GROUPS.get(name, (name,))))


def group_scores(names: Sequence[str], scores: dict[str, tuple[float, int]]) -> dict[str, dict]:
    """For each group among `names` whose tasks all ran: the size-weighted mean of their scores.
    scores: task -> (value, n)."""
    out = {}
    for group in names:
        members = GROUPS.get(group)
        if not members or any(t not in scores for t in members):
            continue
        n = sum(scores[t][1] for t in members)
        value = sum(scores[t][0] * scores[t][1] for t in members) / n if n else 0.0
        out[group] = {"tasks": list(members), "value": value, "n": n, "aggregation": "mean weighted by size"}
    return out
