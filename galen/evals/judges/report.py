"""Run folders for the judged evals: what was asked, every grade, and the numbers.

`galen eval healthbench` writes `healthbench_<subset>.json` (config, model and grader
fingerprints, data hash, score, tag scores) and `grades_healthbench_<subset>.jsonl` (each
completion with each rubric item's verdict); `galen eval pairwise` writes `pairwise.json` and
`judgements.jsonl`. Both keep their model calls in `cache/calls.jsonl`, so a rerun resumes.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from galen import RESEARCH_NOTICE, __version__
from galen.evals.judges.healthbench import ExampleGrade, HealthBenchScore
from galen.evals.judges.pairwise import PairwiseResult
from galen.evals.loading import sha256_file
from galen.evals.report import git_commit


def header(config: dict[str, Any], data: Path) -> dict[str, Any]:
    return {
        "galen_version": __version__,
        "git_commit": git_commit(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "notice": RESEARCH_NOTICE,
        "config": config,
        "data": {"path": str(data), "sha256": sha256_file(data)},
    }


def grade_row(grade: ExampleGrade) -> dict[str, Any]:
    items = [
        {**asdict(rubric), **asdict(verdict)}
        for rubric, verdict in zip(grade.example.rubrics, grade.items, strict=True)
    ]
    return {
        "prompt_id": grade.example.prompt_id,
        "completion": grade.completion,
        "score": grade.score,
        "example_tags": list(grade.example.example_tags),
        "items": items,
    }


def write_healthbench(
    output: Path, subset: str, head: dict[str, Any], score: HealthBenchScore, grades: list[ExampleGrade]
) -> Path:
    output.mkdir(parents=True, exist_ok=True)
    with (output / f"grades_healthbench_{subset}.jsonl").open("w", encoding="utf-8") as f:
        for grade in grades:
            f.write(json.dumps(grade_row(grade), ensure_ascii=False) + "\n")
    path = output / f"healthbench_{subset}.json"
    path.write_text(json.dumps({**head, "score": asdict(score)}, indent=2, ensure_ascii=False) + "\n")
    return path


def write_pairwise(output: Path, head: dict[str, Any], result: PairwiseResult) -> Path:
    output.mkdir(parents=True, exist_ok=True)
    with (output / "judgements.jsonl").open("w", encoding="utf-8") as f:
        for judgement in result.judgements:
            f.write(json.dumps(asdict(judgement), ensure_ascii=False) + "\n")
    summary = {
        "win_rate": asdict(result.win_rate),
        "mean_scores_a": result.mean_scores_a,
        "mean_scores_b": result.mean_scores_b,
        "n_unparsed": result.n_unparsed,
    }
    path = output / "pairwise.json"
    path.write_text(json.dumps({**head, **summary}, indent=2, ensure_ascii=False) + "\n")
    return path
