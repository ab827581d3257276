"""Run tasks against a model: prompts out, answers back (cached), extracted and scored.

Calls run `concurrency` at a time so the engine stays busy; every finished call is cached
before it is scored, so a killed run loses nothing (see `evals.cache`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from galen.evals.cache import CallCache, cache_key
from galen.evals.clients import Answer, GenParams, ModelClient
from galen.evals.extract import Extraction, extract_choice, extract_label, extract_mmlu_pro
from galen.evals.task import Sample, Task


@dataclass
class EvalConfig:
    """Everything that decides the numbers; written into results.json."""

    model: str
    tasks: list[str]
    preset: str = "galen"
    mode: str = "generate"
    limit: int | None = None
    samples: int = 1  # k answers per item: mean accuracy over k and maj@k
    concurrency: int = 8
    max_tokens: int = 2048
    temperature: float | None = None  # None: 0 (greedy) for k=1, else 0.6
    thinking: bool | None = None
    seed: int = 0
    engine: str = "auto"
    data: dict[str, str] = field(default_factory=dict)  # task -> local file/folder or hub source

    def params(self, k: int) -> GenParams:
        temperature = (
            self.temperature if self.temperature is not None else (0.0 if self.samples == 1 else 0.6)
        )
        return GenParams(
            self.max_tokens,
            temperature,
            1.0 if temperature == 0 else 0.95,
            0 if temperature == 0 else 20,
            self.seed + k,
            self.thinking,
        )


@dataclass
class SampleResult:
    """One scored answer: what samples_<task>.jsonl holds, one per line."""

    id: str
    k: int
    messages: list[dict[str, Any]]
    content: str
    reasoning: str | None
    extracted: str | None
    method: str
    gold: str
    correct: bool
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    metadata: dict[str, Any]
    logliks: list[float] | None = None  # --mode loglik: one per choice
    correct_norm: bool | None = None  # --mode loglik: acc_norm's verdict


def extract(task: Task, sample: Sample, answer: Answer, preset: str) -> Extraction:
    """Reasoning is already split off; a think block cut by max_tokens yields no answer."""
    if answer.unclosed_reasoning:
        return Extraction(None, "none", None)
    if task.kind == "label":
        return extract_label(answer.content, task.labels)
    if preset == "lm-eval" and task.name.startswith("mmlu_prox"):
        return _extract_prox(answer.content, task.choices_for(sample), sample.metadata.get("language", "en"))
    if preset == "lm-eval" and task.name.startswith("mmlu_pro"):
        return extract_mmlu_pro(answer.content, task.choices_for(sample))
    return extract_choice(answer.content, task.choices_for(sample))


def _extract_prox(text: str, letters: tuple[str, ...], language: str) -> Extraction:
    """lm-eval's per-language custom-extract for MMLU-ProX: its regex, first match wins."""
    from galen.evals.tasks.mmlu_prox import answer_pattern

    match = answer_pattern(language).search(text)
    if match is None or match.group(1) not in letters:
        return Extraction(None, "none", None)
    return Extraction(match.group(1), "custom_extract", match.span(1))


async def _answer(
    client: ModelClient, cache: CallCache, messages: list[dict[str, Any]], params: GenParams
) -> Answer:
    key = cache_key({"model": client.fingerprint, "messages": messages, "params": asdict(params)})
    if (hit := cache.get(key)) is not None:
        return Answer(**hit)
    answer = await client.chat(messages, params)
    cache.put(key, asdict(answer))
    return answer


async def run_task(
    task: Task,
    client: ModelClient,
    config: EvalConfig,
    cache: CallCache,
    progress: Callable[[], None] = lambda: None,
) -> list[SampleResult]:
    """Answer every (sample, k) with at most `config.concurrency` calls in flight."""
    gate = asyncio.Semaphore(config.concurrency)

    async def one(sample: Sample, k: int) -> SampleResult:
        messages = task.prompt(sample, config.preset) if task.prompt else []
        async with gate:
            answer = await _answer(client, cache, messages, config.params(k))
        progress()
        got = extract(task, sample, answer, config.preset)
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


@dataclass
class EvalRun:
    config: EvalConfig
    fingerprint: dict[str, Any]
    tasks: list[tuple[Task, Any, list[SampleResult]]]  # (task, TaskScore, results)
    resumed_calls: int


def evaluate(
    config: EvalConfig,
    tasks: list[Task],
    client: ModelClient,
    output: Path,
    on_task: Callable[[Task], Callable[[], None]] = lambda task: lambda: None,
) -> EvalRun:
    """Run every task in one event loop, score it, and write the run folder."""
    from galen.evals.report import write_run
    from galen.evals.scoring import score_task

    cache = open_cache(output)
    resumed = len(cache)

    async def all_tasks() -> list[tuple[Task, Any, list[SampleResult]]]:
        from galen.evals.loglik import run_loglik_task

        run = run_loglik_task if config.mode == "loglik" else run_task
        runs = []
        for task in tasks:
            results = await run(task, client, config, cache, on_task(task))
            runs.append((task, score_task(task, results), results))
        return runs

    runs = asyncio.run(all_tasks())
    write_run(output, config, client.fingerprint, runs)
    return EvalRun(config, client.fingerprint, runs, resumed)
