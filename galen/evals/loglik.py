"""`--mode loglik`: score each item by the log-likelihood of its choices, as lm-eval does.

A task gives each sample as a `ChoiceQuery` (context, choices, gold). The model scores
log P(" " + choice | context) for every choice; the prediction is the most likely choice (acc)
or the most likely per character of the choice (acc_norm), lm-eval's two multiple-choice
metrics. Questions go to the engine in chunks, so it can share work inside a chunk (one forward
pass per context, few-shot prefixes computed once), and each chunk is cached before the next
starts, so a killed run resumes where it stopped.
"""

from __future__ import annotations

from galen.engine.base import LoglikRequest
from galen.errors import BadRequest
from galen.evals.cache import cache_key
from galen.evals.clients import ModelClient
from galen.evals.results import Job, SampleResult
from galen.evals.task import ChoiceQuery, Sample, Task

CHUNK = 32  # questions per engine call: the unit of work a kill can lose


def argmax(values: list[float]) -> int:
    """Index of the largest value; the first one on ties (numpy's argmax, as lm-eval uses)."""
    return max(range(len(values)), key=lambda i: (values[i], -i))


def loglik_result(sample: Sample, query: ChoiceQuery, scores: list[list]) -> SampleResult:
    logliks = [float(lp) for lp, _ in scores]
    pred = argmax(logliks)
    pred_norm = argmax([lp / len(choice) for lp, choice in zip(logliks, query.choices, strict=True)])
    answer = query.choices[pred]
    return SampleResult(
        id=sample.id,
        k=0,
        messages=[{"role": "user", "content": query.context}],  # raw text: no chat template
        content=query.delimiter + answer,
        reasoning=None,
        extracted=answer,
        method="loglik",
        gold=sample.answer,
        correct=pred == query.gold,
        finish_reason="stop",
        prompt_tokens=0,
        completion_tokens=0,
        reasoning_tokens=0,
        metadata=sample.metadata,
        logliks=logliks,
        correct_norm=pred_norm == query.gold,
    )


def _key(client: ModelClient, query: ChoiceQuery, repeat: int = 0) -> str:
    payload = {"model": client.fingerprint, "context": query.context, "continuations": query.continuations}
    return cache_key({**payload, "repeat": repeat} if repeat else payload)


async def run_loglik_task(task: Task, job: Job) -> list[SampleResult]:
    """Score every sample by its choices' log-likelihoods, `CHUNK` questions per engine call."""
    client, cache, progress = job.client, job.cache, job.progress
    if task.loglik is None:
        raise BadRequest("mode", f"{task.name} has no log-likelihood format; run it with --mode generate")
    queries = [(sample, task.loglik(sample)) for sample in task.samples]
    scores: dict[str, list] = {}
    todo = []
    for sample, query in queries:
        if (hit := cache.get(_key(client, query, job.repeat))) is not None:
            scores[sample.id] = hit
            progress()
        else:
            todo.append((sample, query))
    for start in range(0, len(todo), CHUNK):
        chunk = todo[start : start + CHUNK]
        requests = [LoglikRequest(q.context, c) for _, q in chunk for c in q.continuations]
        got = iter(await client.loglikelihoods(requests))
        for sample, query in chunk:
            value = [[r.logprob, r.greedy] for _, r in zip(query.choices, got, strict=False)]
            cache.put(_key(client, query, job.repeat), value)
            scores[sample.id] = value
            progress()
    return [loglik_result(sample, query, scores[sample.id]) for sample, query in queries]
