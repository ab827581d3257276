"""Run tasks against a model: prompts out, answers back (cached), extracted and scored.

Calls run `concurrency` at a time so the engine stays busy; every finished call is cached
before it is scored, so a killed run loses nothing (see `evals.cache`). Each task reads its own
answers (`Task.extract`), so nothing here depends on which benchmark runs.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from galen.evals.cache import CallCache, cached_chat
from galen.evals.clients import ModelClient
from galen.evals.config import EvalConfig
from galen.evals.loglik import run_loglik_task
from galen.evals.report import write_run
from galen.evals.results import EvalRun, Job, SampleResult, TaskRun
from galen.evals.scoring import score_task
from galen.evals.task import Sample, Task

__all__ = ["EvalConfig", "EvalRun", "evaluate", "open_cache", "run_task"]


async def run_task(task: Task, job: Job) -> list[SampleResult]:
    """Answer every (sample, k) with at most `concurrency` calls in flight."""
    config = job.config
    gate = asyncio.Semaphore(config.concurrency)

    async def one(sample: Sample, k: int) -> SampleResult:
        messages = task.prompt(sample, config.preset) if task.prompt else []
        async with gate:
            answer = await cached_chat(job.client, messages, config.params(k), job.cache, job.repeat)
        job.progress()
        got = task.extract(answer, sample, config.preset)
        return SampleResult(
            sample.id,
            k,
            messages,
            answer.content,
            answer.reasoning,
            got.answer,
            got.method,
            sample.answer,
            got.answer == sample.answer,
            answer.finish_reason,
            answer.prompt_tokens,
            answer.completion_tokens,
            answer.reasoning_tokens,
            sample.metadata,
        )

    jobs = [one(sample, k) for sample in task.samples for k in range(config.samples)]
    return list(await asyncio.gather(*jobs))


def cache_path(output: Path) -> Path:
    return output / "cache" / "calls.jsonl"


def open_cache(output: Path) -> CallCache:
    return CallCache(cache_path(output))


def reproducibility(config: EvalConfig, scores: dict[str, list[float]]) -> dict[str, Any]:
    """results.json's `reproducibility`: whether the run is bitwise reproducible and, with
    `--repeat N` (N > 1), each task's N scores and their sample standard deviation, the noise
    `galen eval compare` and `galen eval table` hold a difference against."""
    out: dict[str, Any] = {
        "deterministic": config.deterministic,
        "bitwise_reproducible": config.bitwise_reproducible,
    }
    if config.repeat > 1:
        out["repeat"] = {
            "n": config.repeat,
            "scores": scores,
            "sd": {task: statistics.stdev(values) for task, values in scores.items()},
        }
    return out


def evaluate(
    config: EvalConfig,
    tasks: list[Task],
    client: ModelClient,
    output: Path,
    on_task: Callable[[Task], Callable[[], None]] = lambda task: lambda: None,
    given: dict | None = None,
) -> EvalRun:
    """Run every task in one event loop, score it, and write the run folder. `given`: the config
    as the user gave it (file and flags), for provenance.json. With `config.repeat` N > 1 each
    task runs N times (each run its own cache entries, so it resumes too); the folder reports
    the first run, and results.json the N scores."""
    cache = open_cache(output)
    run = run_loglik_task if config.mode == "loglik" else run_task
    scores: dict[str, list[float]] = {}

    async def all_tasks() -> list[TaskRun]:
        runs = []
        for task in tasks:
            progress = on_task(task)
            for repeat in range(config.repeat):
                job = Job(client, config, cache, progress, repeat)
                results = await run(task, job)
                score = score_task(task, results)
                scores.setdefault(task.name, []).append(score.value)
                if repeat == 0:
                    runs.append((task, score, results))
        return runs

    runs = asyncio.run(all_tasks())
    reproduced = reproducibility(config, scores)
    write_run(output, config, client.fingerprint, runs, given, reproduced)
    return EvalRun(config, client.fingerprint, runs, cache.hits, reproduced)
