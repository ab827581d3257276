"""Run folders for the judged evals: what was asked, every grade, and the numbers.

`galen eval healthbench` writes `healthbench_<subset>.json` (config, model and grader
fingerprints, data hash, score, tag scores) and `grades_healthbench_<subset>.jsonl` (each
completion with each rubric item's verdict); `galen eval pairwise` writes `pairwise.json` and
`judgements.jsonl`. Both keep their model calls in `cache/calls.jsonl`, so a rerun resumes, and
both write `provenance.json` (`galen.provenance`): the data file and every model's fingerprint.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from galen import RESEARCH_NOTICE
from galen.evals.judges.healthbench import ExampleGrade, HealthBenchScore
from galen.evals.judges.pairwise import PairwiseResult
from galen.files import sha256_file
from galen.models.fingerprint import model_input
from galen.provenance import file_input, stamp, write_provenance

STAMP_KEYS = ("galen_version", "git_commit", "created")


def header(config: dict[str, Any], data: Path) -> dict[str, Any]:
    return {
        **stamp(),
        "notice": RESEARCH_NOTICE,
        "config": config,
        "data": {"path": str(data), "sha256": sha256_file(data)},
    }


def write_judged_provenance(output: Path, kind: str, head: dict[str, Any], files: list[Path]) -> None:
    """provenance.json of a judged run: the data file and each model's fingerprint by role."""
    config = head["config"]
    models = [model_input(fp, role) for role, fp in config.get("fingerprints", {}).items()]
    write_provenance(
        output,
        kind,
        config={k: v for k, v in config.items() if k != "fingerprints"},
        resolved=config,
        inputs=[file_input("data", head["data"]["path"]), *models],
        output_files=files,
        header={k: head[k] for k in STAMP_KEYS},
    )


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
    grades_file = output / f"grades_healthbench_{subset}.jsonl"
    with grades_file.open("w", encoding="utf-8") as f:
        for grade in grades:
            f.write(json.dumps(grade_row(grade), ensure_ascii=False) + "\n")
    path = output / f"healthbench_{subset}.json"
    path.write_text(json.dumps({**head, "score": asdict(score)}, indent=2, ensure_ascii=False) + "\n")
    write_judged_provenance(output, "healthbench", head, [path, grades_file])
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
    write_judged_provenance(output, "pairwise", head, [path, output / "judgements.jsonl"])
    return path
