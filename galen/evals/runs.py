"""Finished run folders as `compare` and `table` read them: each task's number, and the settings
that must match before two numbers may be set side by side.

A folder of `galen eval run` holds results.json; one of `galen eval healthbench` holds
healthbench_<subset>.json (read as the task `healthbench_<subset>`). A folder may hold both.

What must match (`CHECKED`): the task version, preset, mode and n-shot, the sha256 of the data
files, and the hash of every prompt sent (so a changed system prompt, few-shot count or
`--limit` is caught); for HealthBench, the data file and the grader. `--repeat` runs (see
docs/eval.md) record the run-to-run spread of each score under `reproducibility`; older runs
have no such block, so it is read defensively and may be absent.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from galen.errors import BadRequest

# Setting key -> how a mismatch names it.
CHECKED = {
    "version": "task version",
    "preset": "preset",
    "mode": "mode",
    "n_shot": "n-shot",
    "data_sha256": "data sha256",
    "prompts_sha256": "prompt hash",
    "grader": "grader",
    "grader_params": "grader settings",
}
_SHA = re.compile(r"sha256:([0-9a-f]{64})")


@dataclass(frozen=True)
class TaskResult:
    """One task's headline number in a run folder.

    settings: what must match to compare (keys of CHECKED); repeat_sd: the run-to-run standard
    deviation of `value` measured by `--repeat`, or None where the run did not measure it.
    """

    task: str
    value: float
    stderr: float
    n: int
    metric: str
    settings: dict[str, Any]
    repeat_sd: float | None = None
    filter: str = ""
    n_shot: int | None = None


@dataclass(frozen=True)
class RunFolder:
    """A finished run folder. reproducible: results.json's `bitwise_reproducible`, None when the
    run does not say (runs written before it was recorded)."""

    path: Path
    name: str
    model: str
    tasks: dict[str, TaskResult]
    reproducible: bool | None = None
    samples: int = 1
    notes: list[str] = field(default_factory=list)


def data_sha256(source: str) -> str:
    """The data files' hashes in a `Task.source` string, sorted and joined ("" when none)."""
    return ",".join(sorted(_SHA.findall(source or "")))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BadRequest("run", f"{path} cannot be read as JSON ({exc})") from None
    if not isinstance(data, dict):
        raise BadRequest("run", f"{path} is not a galen results file (not a JSON object)")
    return data


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _repeat_sds(results: dict[str, Any]) -> dict[str, float]:
    """reproducibility.repeat.sd as {task: sd}, ignoring anything not shaped as expected."""
    block = results.get("reproducibility")
    repeat = block.get("repeat") if isinstance(block, dict) else None
    sds = repeat.get("sd") if isinstance(repeat, dict) else None
    if not isinstance(sds, dict):
        return {}
    return {str(k): v for k, value in sds.items() if (v := _number(value)) is not None and math.isfinite(v)}


def _reproducible(results: dict[str, Any]) -> bool | None:
    block = results.get("reproducibility")
    flag = block.get("bitwise_reproducible") if isinstance(block, dict) else None
    return flag if isinstance(flag, bool) else None


def _eval_tasks(path: Path, results: dict[str, Any]) -> dict[str, TaskResult]:
    config = results.get("config") or {}
    tasks = results.get("tasks")
    if not isinstance(tasks, dict):
        raise BadRequest("run", f"{path}: results.json has no `tasks` table")
    sds = _repeat_sds(results)
    out = {}
    for name, t in tasks.items():
        try:
            settings = {
                "version": t["version"],
                "preset": config.get("preset"),
                "mode": config.get("mode"),
                "n_shot": t["n_shot"],
                "data_sha256": data_sha256(t.get("source", "")),
                "prompts_sha256": t["prompts_sha256"],
            }
            out[name] = TaskResult(
                name, float(t["value"]), float(t["stderr"]), int(t["n"]), str(t["metric"]), settings,
                sds.get(name), str(t.get("filter", "")), int(t["n_shot"]),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise BadRequest("run", f"{path}: task {name!r} in results.json lacks {exc}") from None
    return out


def _healthbench_tasks(path: Path) -> dict[str, TaskResult]:
    out = {}
    for file in sorted(path.glob("healthbench_*.json")):
        data = _read_json(file)
        try:
            score, config = data["score"], data["config"]
            name = f"healthbench_{config['subset']}"
            settings = {
                "data_sha256": data["data"]["sha256"],
                "grader": (config.get("fingerprints", {}).get("grader") or {}).get("model")
                or config["grader"],
                "grader_params": config.get("grader_params"),
            }
            out[name] = TaskResult(
                name, float(score["overall"]), float(score["std"]), int(score["n"]), "score", settings
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadRequest("run", f"{file}: not a HealthBench result (no {exc})") from None
    return out


def read_run(path: Path, name: str | None = None) -> RunFolder:
    """The run folder at `path` (results.json and/or healthbench_*.json), or a one-line error."""
    path = Path(path)
    results_file = path / "results.json"
    if not path.is_dir() or not (results_file.exists() or any(path.glob("healthbench_*.json"))):
        raise BadRequest("run", f"{path} is not an eval run folder (no results.json or healthbench_*.json)")
    results = _read_json(results_file) if results_file.exists() else {}
    tasks = _eval_tasks(path, results) if results else {}
    tasks.update(_healthbench_tasks(path))
    config = results.get("config") or {}
    model = str(config.get("model_name") or config.get("model") or path.name)
    samples = int(config.get("samples") or 1)
    return RunFolder(path, name or path.resolve().name, model, tasks, _reproducible(results), samples)


def mismatches(a: TaskResult, b: TaskResult, skip: tuple[str, ...] = ()) -> list[str]:
    """What differs between two results of one task that should not: "preset galen vs lm-eval"."""
    out = []
    for key, label in CHECKED.items():
        if key in skip or key not in a.settings or key not in b.settings:
            continue
        x, y = a.settings[key], b.settings[key]
        if x != y:
            shown = (str(x)[:12], str(y)[:12]) if "sha256" in key else (x, y)
            extra = f" (n {a.n} vs {b.n})" if key == "prompts_sha256" and a.n != b.n else ""
            out.append(f"{label} {shown[0]} vs {shown[1]}{extra}")
    return out


def noise_sd(a: TaskResult, b: TaskResult) -> float | None:
    """The run-to-run sd of a difference between two runs' scores, from their `--repeat`
    measurements: sqrt(sd_a^2 + sd_b^2), a run that did not measure its sd taking the other's.
    None when neither did."""
    sa, sb = a.repeat_sd, b.repeat_sd
    if sa is None and sb is None:
        return None
    sa = sb if sa is None else sa
    sb = sa if sb is None else sb
    return math.hypot(sa, sb)


def reproducibility_notes(runs: list[RunFolder]) -> list[str]:
    """One note per run that says it is not bitwise reproducible."""
    return [
        f"{run.name} is not bitwise reproducible (its results.json says so): a rerun may differ"
        for run in runs
        if run.reproducible is False
    ]
