"""`galen data distill`: chain-of-thought answers from a teacher, kept only when they are right.

For every labelled record of a build (multiple choice or yes / no / maybe), in build order:

1. ask the teacher the record's prompt, thinking on, through any OpenAI-compatible endpoint;
2. read the answer out of the reply with galen eval's extractors (`extract_choice`,
   `extract_label`); a reply cut off while still thinking has no answer;
3. keep the first reply whose answer is the gold label: a new record with the same id and
   provenance, the reply as its assistant message (reasoning apart), and `generation` saying
   which teacher, prompt hash, sampling, try and finish reason made it;
4. after `tries` wrong or unreadable replies (default 8) the item is rejected, and listed with
   what each try answered.

Resuming (`galen.data.shards`, shared with `galen data synth`). Items are cut into shards of
`shard_size`; shard k is done when `shards/kept-0000k.jsonl` exists (written under a temporary
name, then renamed, after its `rejected-` twin). Every teacher call is stored in
`cache/calls.jsonl` as soon as it returns (galen eval's call cache), keyed by teacher, messages and
sampling (a try's seed is `seed + try`). Killed and run again with the same command, distill skips
finished shards and asks nothing it already has an answer to.

The teacher is reached through galen's one client (`galen.engine.endpoint.EndpointClient`: its
key from `--api-key` or the environment variable the recipe names in `distill.api_key_env`, never
from the recipe itself, so no key reaches the output folder). A `Teacher` is a plain async
function `(messages, params) -> Answer`, so the keep/reject loop is tested with a fixed fake
teacher (a scripted stand-in, said so in the tests) and the whole command against a real
`galen serve`.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from galen.data.export import think_tags, write_exports
from galen.data.manifest import MANIFEST, LogEntry, run_id, tracked_files, write_manifest
from galen.data.recipe import DistillConfig, SynthConfig
from galen.data.record import Generation, Message, Record
from galen.data.shards import Done, Shards, check_plan
from galen.engine.endpoint import Answer, EndpointClient, GenParams, PromptTooLong
from galen.errors import BadRequest, GalenError
from galen.evals.cache import CallCache, cached_chat
from galen.evals.extract import NOTHING, Extraction, extract_answer
from galen.files import sha256_file, sha256_json
from galen.models.profile import ThinkTags
from galen.provenance import FileRef, config_file, file_input, write_provenance

Ask = Callable[[list[dict[str, Any]], GenParams], Awaitable[Answer]]


@dataclass(frozen=True)
class Teacher:
    """Who answers: `ask` plus what is recorded about it."""

    ask: Ask
    model: str
    endpoint: str
    weights_sha256: str | None = None  # what the server says it serves, when it says (galen serve)
    json_schema: bool | None = None  # can it fill a JSON Schema (response_format)? None: not said

    @property
    def fingerprint(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "model": self.model}

    async def chat(self, messages: list[dict[str, Any]], params: GenParams) -> Answer:
        return await self.ask(messages, params)


@dataclass
class Outcome:
    """One item's result: the kept record, or None and what each try answered."""

    record: Record
    kept: Record | None
    attempts: list[dict[str, Any]] = field(default_factory=list)


def params_for(settings: DistillConfig | SynthConfig, attempt: int) -> GenParams:
    """Try `attempt`'s sampling: each retry moves the seed on by one (distill and synth alike)."""
    return GenParams(
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        top_p=settings.top_p,
        top_k=settings.top_k,
        seed=settings.seed + attempt,
        thinking=settings.thinking,
    )


def prompt_messages(record: Record) -> list[dict[str, Any]]:
    return [{"role": m.role, "content": m.content} for m in record.prompt()]


def prompt_sha256(messages: list[dict[str, Any]]) -> str:
    return sha256_json(messages)


def extract(record: Record, answer: Answer) -> Extraction:
    """The answer a reply gives, read as galen eval reads it (none if it never stopped thinking)."""
    if answer.unclosed_reasoning:
        return NOTHING
    return extract_answer(answer.content, record.kind, record.choices)


async def distill_item(record: Record, teacher: Teacher, settings: DistillConfig) -> Outcome:
    """Ask up to `settings.tries` times; keep the first reply whose answer is the gold label."""
    messages = prompt_messages(record)
    outcome = Outcome(record, None)
    for attempt in range(settings.tries):
        params = params_for(settings, attempt)
        answer = await teacher.ask(messages, params)
        got = extract(record, answer)
        outcome.attempts.append(
            {"answer": got.answer, "method": got.method, "finish_reason": answer.finish_reason}
        )
        if got.answer is not None and got.answer == record.answer:
            generation = Generation(
                teacher=teacher.model,
                endpoint=teacher.endpoint,
                prompt_sha256=prompt_sha256(messages),
                sampling=params.settings(),
                tries=attempt + 1,
                finish_reason=answer.finish_reason,
            )
            reply = Message(role="assistant", content=answer.content, reasoning=answer.reasoning or None)
            outcome.kept = record.model_copy(
                update={"messages": [*record.prompt(), reply], "generation": generation}
            )
            return outcome
    return outcome


def cached(teacher: Teacher, cache: CallCache) -> Teacher:
    """The teacher through the call cache: an answered call is never asked again."""

    async def ask_once(messages: list[dict[str, Any]], params: GenParams) -> Answer:
        return await cached_chat(teacher, messages, params, cache)

    return Teacher(ask_once, teacher.model, teacher.endpoint)


def _done(outcome: Outcome) -> Done:
    if outcome.kept is not None:
        return Done(kept=outcome.kept.model_dump_json())
    rejected = {"id": outcome.record.id, "gold": outcome.record.answer, "tries": outcome.attempts}
    return Done(rejected=json.dumps(rejected, ensure_ascii=False))


def read_records(path: Path) -> list[Record]:
    return [
        Record.model_validate_json(line) for line in path.read_text(encoding="utf-8").splitlines() if line
    ]


@dataclass
class DistillResult:
    out: Path
    items: int
    kept: int
    rejected: int
    resumed_shards: int
    cached_calls: int
    asked_calls: int


def endpoint_teacher(url: str, settings: DistillConfig, api_key: str | None) -> Teacher:
    """A Teacher for an OpenAI-compatible server; a clear one-line error when it cannot be used."""
    try:
        client = EndpointClient(url, settings.model, api_key, api_key_env=settings.api_key_env)
    except GalenError as exc:
        raise BadRequest("teacher", exc.message) from None

    async def ask(messages: list[dict[str, Any]], params: GenParams) -> Answer:
        try:
            return await client.chat(messages, params)
        except PromptTooLong:
            raise  # this prompt, not the teacher, is at fault: a batch job counts it and goes on
        except GalenError as exc:
            raise BadRequest("teacher", exc.message) from None

    weights = client.fingerprint.get("weights_sha256")
    return Teacher(ask, client.model, client.base_url, weights, client.json_schema)


def run_distill(
    build_dir: Path,
    out: Path,
    teacher_url: str,
    settings: DistillConfig,
    api_key: str | None = None,
    progress: Callable[[str], None] = lambda _: None,
    teacher: Teacher | None = None,
    tags: ThinkTags | None = None,
) -> DistillResult:
    """Distil every labelled record of `build_dir` into `out` (see the module docstring)."""
    shards_in = sorted((build_dir / "records").glob("*.jsonl"))
    if not shards_in:
        raise BadRequest("recipe", f"{build_dir} has no records/: run `galen data build` first")
    items = [r for path in shards_in for r in read_records(path) if r.labelled]
    items = items[: settings.limit] if settings.limit else items
    teacher = teacher or endpoint_teacher(teacher_url, settings, api_key)
    shards = Shards(items, out / "shards", settings.shard_size)
    shards.prepare()
    check_plan(out, plan_of(shards_in, settings, teacher), "distillation")
    cache = CallCache(out / "cache" / "calls.jsonl")
    asker = cached(teacher, cache)

    async def work(record: Record) -> Done:
        return _done(await distill_item(record, asker, settings))

    resumed = asyncio.run(shards.run(work, settings.concurrency, progress))
    kept_records = [Record.model_validate_json(line) for line in shards.kept_lines()]
    rejected_total = len(shards.rejected_lines())
    tries = Counter(r.generation.tries for r in kept_records if r.generation)
    entry = LogEntry(
        run_id(),
        "distill",
        [{"path": str(p), "sha256": sha256_file(p)} for p in shards_in],
        {**settings.model_dump(), "teacher": teacher.endpoint, "teacher_model": teacher.model},
        len(items),
        len(kept_records),
        {
            "rejected": rejected_total,
            "kept_at_try": dict(sorted(tries.items())),
            "resumed_shards": resumed,
            "cached_calls": cache.hits,
            "asked_calls": cache.stored,
        },
    )
    exported = write_exports(kept_records, out, tags or think_tags(), parquet=True)
    counts = {"items": len(items), "kept": len(kept_records), "rejected": rejected_total, "exports": exported}
    write_manifest(out, {"name": "distill", "build": str(build_dir)}, counts, [entry])
    records = [file_input("records", p, folder=str(build_dir.resolve())) for p in shards_in]
    teacher_ref = FileRef(role="teacher", ref=teacher.endpoint, fingerprint=teacher.fingerprint)
    write_provenance(
        out,
        "data-distill",
        config=config_file(None, build=str(build_dir), teacher=teacher.endpoint),
        resolved=settings.model_dump(mode="json"),
        inputs=[*records, teacher_ref],
        output_files=[*tracked_files(out), out / MANIFEST],
    )
    return DistillResult(
        out, len(items), len(kept_records), rejected_total, resumed, cache.hits, cache.stored
    )


def plan_of(shards_in: list[Path], settings: DistillConfig, teacher: Teacher) -> dict[str, Any]:
    """What a distillation is made of (`galen.data.shards.check_plan` compares it on resume)."""
    return {
        "inputs": {p.name: sha256_file(p) for p in shards_in},
        "teacher": {"endpoint": teacher.endpoint, "model": teacher.model},
        "settings": settings.model_dump(exclude={"concurrency", "api_key_env"}),  # neither changes an answer
    }
