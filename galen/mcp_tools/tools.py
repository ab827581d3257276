"""What `galen mcp` offers an agent, as plain functions that return JSON-ready dicts.

- `list_benchmarks`: the benchmarks galen knows, and where each one's items come from;
- `benchmark_item`: one item of a benchmark (question, options, gold answer), by id or position;
- `search_benchmark`: items whose question contains some words;
- `eval_summary`: the scores of an eval run folder (results.json), with their intervals;
- `eval_answer`: what the model answered to one item of an eval run (samples_<task>.jsonl).

Benchmarks are read from the files `--data TASK=PATH` names, else from the small made-up samples
galen ships. Eval run folders are read only under the folders given as `runs`, so an agent
cannot make the server read other files. Errors are `ToolInputError`, whose message says what
to change; the MCP server returns it to the agent as a tool error.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from galen import RESEARCH_NOTICE
from galen.errors import GalenError
from galen.evals.task import TASKS, Sample, Task

MAX_RESULTS = 20  # items a search returns at most: an agent's context is small


class ToolInputError(ValueError):
    """The agent asked for something that does not exist; the message says what does."""


@dataclass(frozen=True)
class Toolbox:
    """Where the tools read from: benchmark files by task, and the folders eval runs may be in."""

    data: dict[str, str] = field(default_factory=dict)
    runs: tuple[Path, ...] = (Path("."),)

    def task(self, name: str) -> Task:
        if name not in TASKS:
            raise ToolInputError(f"unknown benchmark {name!r}; known: {', '.join(sorted(TASKS))}")
        return _load(name, self.data.get(name))

    def run_folder(self, folder: str) -> Path:
        """`folder` resolved inside one of `runs` (relative paths are taken from the first)."""
        path = Path(folder).expanduser()
        path = (path if path.is_absolute() else self.runs[0] / path).resolve()
        roots = [r.resolve() for r in self.runs]
        if not any(path == root or path.is_relative_to(root) for root in roots):
            shown = ", ".join(str(r) for r in roots)
            raise ToolInputError(f"{folder!r} is outside the run folders this server reads ({shown})")
        if not (path / "results.json").is_file():
            raise ToolInputError(f"{folder!r} is not an eval run folder (it has no results.json)")
        return path


@cache
def _load(name: str, source: str | None) -> Task:
    # Tasks import lazily: loading one reads its file once per server.
    from galen.evals.tasks import get_task

    try:
        return get_task(name, source=source)
    except GalenError as exc:
        raise ToolInputError(f"cannot read benchmark {name!r}: {exc.message}") from None


def _item(task: Task, sample: Sample, index: int) -> dict[str, Any]:
    return {
        "benchmark": task.name,
        "index": index,
        "id": sample.id,
        "question": sample.question,
        "options": sample.options,
        "context": sample.context,
        "answer": sample.answer,
        "metadata": sample.metadata,
    }


def list_benchmarks(box: Toolbox) -> dict[str, Any]:
    """Every benchmark with its item count and source (the bundled sample unless --data names one)."""
    rows = []
    for name in sorted(TASKS):
        try:
            task = box.task(name)
        except ToolInputError as exc:
            rows.append({"name": name, "error": str(exc)})
            continue
        rows.append({"name": name, "items": len(task.samples), "source": task.source.split(" [")[0]})
    return {"benchmarks": rows, "notice": RESEARCH_NOTICE}


def benchmark_item(box: Toolbox, benchmark: str, item: str) -> dict[str, Any]:
    """One item, by its id or by its 0-based position in the file."""
    task = box.task(benchmark)
    for index, sample in enumerate(task.samples):
        if sample.id == item:
            return _item(task, sample, index)
    if item.strip().isdigit() and int(item) < len(task.samples):
        return _item(task, task.samples[int(item)], int(item))
    raise ToolInputError(
        f"{benchmark} has no item {item!r}: give an id or a position from 0 to {len(task.samples) - 1}"
    )


def search_benchmark(box: Toolbox, benchmark: str, words: str, limit: int = 5) -> dict[str, Any]:
    """Items whose question (or options) contain every one of `words`, case-insensitively."""
    wanted = words.lower().split()
    if not wanted:
        raise ToolInputError("give at least one word to search for")
    task = box.task(benchmark)
    hits = []
    for index, sample in enumerate(task.samples):
        text = " ".join([sample.question, *sample.options.values()]).lower()
        if all(w in text for w in wanted):
            hits.append(_item(task, sample, index))
            if len(hits) >= max(1, min(limit, MAX_RESULTS)):
                break
    return {"benchmark": benchmark, "words": words, "items": hits}


def eval_summary(box: Toolbox, folder: str) -> dict[str, Any]:
    """The model, settings and scores of one eval run, as results.json records them."""
    path = box.run_folder(folder)
    results = _read_json(path / "results.json")
    config = results.get("config", {})
    tasks = {
        name: {key: score.get(key) for key in _SCORE_KEYS if key in score}
        for name, score in results.get("tasks", {}).items()
    }
    return {
        "folder": str(path),
        "model": config.get("model"),
        "fingerprint": {k: v for k, v in (results.get("model") or {}).items() if k in _MODEL_KEYS},
        "preset": config.get("preset"),
        "mode": config.get("mode"),
        "thinking": config.get("thinking"),
        "created": results.get("created"),
        "galen_version": results.get("galen_version"),
        "tasks": tasks,
        "notice": RESEARCH_NOTICE,
    }


_MODEL_KEYS = ("model", "kind", "family", "weights_sha256", "endpoint")
_SCORE_KEYS = (
    "metric", "value", "stderr", "ci_low", "ci_high", "n", "unparsed_rate", "truncation_rate", "extra",
    "subgroups", "filter", "n_shot",
)  # fmt: skip


def eval_answer(box: Toolbox, folder: str, benchmark: str, item: str) -> dict[str, Any]:
    """What the model answered to one item (every sample of it), and whether it was right."""
    path = box.run_folder(folder)
    samples = path / f"samples_{benchmark}.jsonl"
    if not samples.is_file():
        ran = sorted(p.stem.removeprefix("samples_") for p in path.glob("samples_*.jsonl"))
        raise ToolInputError(f"this run has no {benchmark!r} answers; it ran: {', '.join(ran) or 'nothing'}")
    answers = [row for row in _read_jsonl(samples) if str(row.get("id")) == item]
    if not answers:
        raise ToolInputError(f"item {item!r} is not in this run's {benchmark} answers")
    keep = ("k", "content", "reasoning", "extracted", "method", "gold", "correct", "finish_reason")
    return {
        "benchmark": benchmark,
        "id": item,
        "answers": [{k: row.get(k) for k in keep} for row in answers],
        "notice": RESEARCH_NOTICE,
    }


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ToolInputError(f"cannot read {path.name}: {exc}") from None
    if not isinstance(data, dict):
        raise ToolInputError(f"{path.name} is not a JSON object")
    return data


def _read_jsonl(path: Path) -> Sequence[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            raise ToolInputError(f"{path.name}:{number} is not valid JSON") from None
    return rows
