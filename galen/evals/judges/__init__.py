"""LLM-judged evals: HealthBench rubric grading and pairwise (Auto-MOOVE-style) preference.

from galen.evals.judges import load_healthbench, run_healthbench, load_vignettes, run_pairwise
score = await run_healthbench(load_healthbench(limit=2), model, grader, GenParams(max_tokens=512))
result = await run_pairwise(load_vignettes(), model_a, model_b, judge, GenParams(max_tokens=512))
"""

from galen.evals.judges.healthbench import (
    GRADER_TEMPLATE,
    ExampleGrade,
    HealthBenchExample,
    HealthBenchScore,
    RubricItem,
    aggregate,
    grade_example,
    load_healthbench,
    run_healthbench,
    score_example,
)
from galen.evals.judges.pairwise import (
    PairJudgement,
    PairwiseResult,
    Vignette,
    judge_pair,
    load_vignettes,
    run_pairwise,
    summarize,
)

__all__ = [
    "GRADER_TEMPLATE",
    "ExampleGrade",
    "HealthBenchExample",
    "HealthBenchScore",
    "PairJudgement",
    "PairwiseResult",
    "RubricItem",
    "Vignette",
    "aggregate",
    "grade_example",
    "judge_pair",
    "load_healthbench",
    "load_vignettes",
    "run_healthbench",
    "run_pairwise",
    "score_example",
    "summarize",
]
