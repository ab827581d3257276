"""`galen data synth`: the MeditronFO card's three synthetic components, from guidelines.

    guidelines (galen.data.guidelines) -> chunks -> for each generator and chunk: ask a teacher
    (galen.data.generators: prompt file, reply reader, check) -> kept / rejected shards

One item is made per chunk for each generator in the recipe's `synth.generators`. When the
teachers can fill a JSON Schema (`synth.structured`; auto: every teacher's /v1/models says so),
each reply is constrained to its generator's schema (`galen.data.synth_schemas`) and read as JSON;
otherwise it is labelled text. Either way the same check judges it. A reply that
fails its check is asked again with the next seed (`seed + try`), up to `tries` times; then the
item is rejected and listed with every try's reason. A chunk the teacher refuses as longer than
its window is rejected at once (`too_long`); a teacher that is down stops the run with one line.
Work goes to every teacher URL given (`galen.data.teachers.TeacherPool`).

The output folder (the recipe's `synth.output`, default `<recipe output>/synth`):

    guidelines/documents.jsonl, chunks.jsonl      every document with its provenance; every chunk
    shards/<generator>/kept-0000k.jsonl           the accepted items (`Record` JSON)
    shards/<generator>/rejected-0000k.jsonl       {id, generator, chunk, reason, tries}
    cache/calls.jsonl                             every teacher call, as it returns
    plan.json, manifest.json, processing_log.jsonl, provenance.json

Resuming is distill's (`galen.data.shards`): kill it, run the same command, and finished shards
are skipped and answered calls come from the cache. A recipe then reads the kept items as a
`format: synth` source, so they are deduplicated and decontaminated like any other.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from galen.data.distill import Teacher, endpoint_teacher
from galen.data.distill import params_for as distill_params
from galen.data.generators import (
    GENERATORS,
    PROMPTS,
    Draft,
    Rejected,
    Template,
    read_json_reply,
    read_reply,
    supported,
)
from galen.data.guidelines import Chunk, Ingest, ingest
from galen.data.manifest import MANIFEST, LogEntry, run_id, tracked_files, write_manifest
from galen.data.recipe import DistillConfig, Recipe, SynthConfig
from galen.data.record import Generation, Record
from galen.data.shards import Done, Shards, check_plan
from galen.data.sources.base import Origin, SourceFile, choice_record, open_record
from galen.data.synth_schemas import response_format, schema_sha256
from galen.data.teachers import TeacherPool
from galen.engine.endpoint import Answer, GenParams, PromptTooLong
from galen.errors import BadRequest
from galen.evals.cache import CallCache, cached_chat
from galen.files import sha256_file, sha256_json, write_atomic
from galen.provenance import FileRef, config_file, write_provenance

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Job:
    """One item to make: a generator and the chunk it grounds on."""

    generator: str
    chunk: Chunk

    @property
    def id(self) -> str:
        return f"{self.generator}:{self.chunk.id}"


@dataclass
class Context:
    """What every item of a run shares."""

    pool: TeacherPool
    cache: CallCache
    settings: SynthConfig
    templates: dict[str, Template]
    structured: bool = False  # replies constrained to each generator's JSON Schema


def use_schemas(settings: SynthConfig, pool: TeacherPool) -> bool:
    """`synth.structured`: on, off, or (auto) on when every teacher says it can fill a schema."""
    if settings.structured == "auto":
        return pool.json_schema is True
    return settings.structured == "on"


def load_templates(recipe: Recipe, structured: bool = False) -> dict[str, Template]:
    """Each generator's prompt file (the recipe's, else galen's: those asking for JSON under
    prompts/json/ when `structured`), and the verify prompt."""
    templates = {}
    for name in [*GENERATORS, "verify"]:
        given = recipe.synth.prompts.get(name)  # type: ignore[call-overload]
        folder = PROMPTS / "json" if structured and name != "verify" else PROMPTS
        path = recipe.resolve(given) if given else folder / f"{name}.md"
        if not path.is_file():
            raise BadRequest(f"synth.prompts.{name}", f"no such prompt file: {path}")
        templates[name] = Template.load(path)
    return templates


def params_for(settings: SynthConfig, attempt: int, schema_of: str | None = None) -> GenParams:
    """Try `attempt`'s settings (as distill does); with `schema_of`, the reply is constrained to
    that generator's schema."""
    params = distill_params(settings, attempt)
    return replace(params, response_format=response_format(schema_of)) if schema_of else params


def _reply_text(answer: Answer) -> str:
    if answer.unclosed_reasoning or not answer.content.strip():
        raise Rejected("malformed", f"no answer in the reply (finish_reason {answer.finish_reason})")
    return answer.content


async def _verify(job: Job, draft: Draft, ctx: Context, attempt: int) -> dict[str, Any]:
    """The optional second call: does the passage support the answer?"""
    messages = ctx.templates["verify"].messages(
        passage=job.chunk.text, question=draft.question, answer=draft.reply
    )

    settings = ctx.settings
    params = GenParams(
        max_tokens=min(64, settings.max_tokens), seed=settings.seed + attempt, thinking=settings.thinking
    )  # greedy: a verdict, not a sample
    answer = await cached_chat(ctx.pool, messages, params, ctx.cache)
    said = supported(answer.content)
    if said is not True:
        why = "the teacher said the passage does not support it" if said is False else "no yes/no verdict"
        raise Rejected("unsupported", why)
    return {**draft.check, "method": "quote+teacher", "teacher_verdict": "yes"}


def to_record(job: Job, draft: Draft, made: Generation) -> Record:
    """The accepted item as a Record whose provenance is its guideline document."""
    doc = job.chunk.document
    file = SourceFile(Path(doc.file), doc.file, doc.file_sha256, doc.revision)
    at = Origin("synth", "synth", "train", doc.licence, file, doc.row, job.id)
    metadata = {"guideline": doc.summary(), "chunk_id": job.chunk.id, "chunk_sha256": job.chunk.sha256}
    if draft.kind == "choice":
        record = choice_record(
            at, doc.id, draft.question, draft.options, draft.gold or "", draft.reply, metadata
        )
    else:
        record = open_record(at, doc.id, draft.prompt, draft.reply, metadata)
    return record.model_copy(update={"id": job.id, "context": draft.quote, "generation": made})


async def make_item(job: Job, ctx: Context) -> Done:
    """Ask until a reply passes its check, or `tries` run out (see the module docstring)."""
    template = ctx.templates[job.generator]
    messages = template.messages(passage=job.chunk.text)
    tries: list[dict[str, Any]] = []
    read = read_json_reply if ctx.structured else read_reply
    for attempt in range(ctx.settings.tries):
        params = params_for(ctx.settings, attempt, job.generator if ctx.structured else None)
        try:
            answer = await cached_chat(ctx.pool, messages, params, ctx.cache)
        except PromptTooLong as exc:
            tries.append({"kind": "too_long", "reason": exc.message})
            break
        try:
            draft = read(job.generator, _reply_text(answer), job.chunk.text, ctx.settings.min_quote_words)
            check = draft.check
            if job.generator == "guideline_qa" and ctx.settings.verify:
                check = await _verify(job, draft, ctx, attempt)
        except Rejected as rejected:
            tries.append(
                {"kind": rejected.kind, "reason": rejected.reason, "finish_reason": answer.finish_reason}
            )
            continue
        made = Generation(
            teacher=ctx.pool.model,
            endpoint=answer.endpoint,
            prompt_sha256=sha256_json(messages),
            sampling={k: v for k, v in params.settings().items() if k != "response_format"},
            tries=attempt + 1,
            finish_reason=answer.finish_reason,
            generator=job.generator,
            template_sha256=template.sha256,
            chunk_id=job.chunk.id,
            check=check,
            reply_format="json_schema" if ctx.structured else "text",
            schema_sha256=schema_sha256(job.generator) if ctx.structured else None,
        )
        return Done(kept=to_record(job, draft, made).model_dump_json())
    line = {
        "id": job.id,
        "generator": job.generator,
        "chunk": job.chunk.id,
        "reason": tries[-1]["kind"],
        "tries": tries,
    }
    return Done(rejected=json.dumps(line, ensure_ascii=False))


@dataclass
class SynthResult:
    out: Path
    documents: int
    chunks: int
    kept: dict[str, int]
    rejected: dict[str, dict[str, int]]
    skipped: dict[str, int]
    resumed_shards: int
    cached_calls: int
    asked_calls: int
    answered_by: dict[str, int] = field(default_factory=dict)
    reply_format: str = "text"  # json_schema: replies were constrained to each generator's schema


def endpoint_pool(urls: Sequence[str], settings: SynthConfig, api_key: str | None) -> TeacherPool:
    """Every teacher URL as one pool (a clear one-line error for one that cannot be used)."""
    as_distill = DistillConfig(model=settings.model, api_key_env=settings.api_key_env)
    teachers = [endpoint_teacher(url, as_distill, api_key) for url in urls]
    return TeacherPool(teachers, [t.weights_sha256 for t in teachers])


def write_guidelines(read: Ingest, out: Path) -> str:
    """documents.jsonl and chunks.jsonl; returns the chunks' sha256 (pinned by the plan)."""
    folder = out / "guidelines"
    docs = "".join(json.dumps(d.summary(), ensure_ascii=False) + "\n" for d in read.documents)
    chunks = "".join(json.dumps(c.row(), ensure_ascii=False) + "\n" for c in read.chunks)
    write_atomic(folder / "documents.jsonl", docs)
    write_atomic(folder / "chunks.jsonl", chunks)
    return sha256_file(folder / "chunks.jsonl")


async def make_all(chunks: list[Chunk], ctx: Context, out: Path, progress: Progress) -> int:
    """Every generator's shards, in one event loop; returns how many were finished before."""
    resumed = 0
    in_flight = ctx.settings.concurrency * len(ctx.pool.teachers)

    async def work(job: Job) -> Done:
        return await make_item(job, ctx)

    for name in ctx.settings.generators:
        shards = Shards([Job(name, c) for c in chunks], out / "shards" / name, ctx.settings.shard_size)
        shards.prepare()
        resumed += await shards.run(work, in_flight, lambda line, n=name: progress(f"{n} {line}"))
    return resumed


def run_synth(
    recipe: Recipe,
    teachers: Sequence[str],
    *,
    out: Path | None = None,
    recipe_path: Path | None = None,
    api_key: str | None = None,
    pool: TeacherPool | None = None,
    progress: Progress = lambda _: None,
) -> SynthResult:
    """Ingest the recipe's guidelines and make every generator's items (module docstring)."""
    settings = recipe.synth
    out = out or recipe.synth_dir
    g = settings.guidelines
    read = ingest(
        g.path, recipe.base, chunk_words=g.chunk_words, min_chunk_words=g.min_chunk_words,
        licence=g.licence, limit=g.limit, columns=g.columns,
    )  # fmt: skip
    chunks = read.chunks[: settings.limit] if settings.limit else read.chunks
    if not chunks:
        raise BadRequest("synth.guidelines", f"{read.where}: no chunk of at least {g.min_chunk_words} words")
    progress(f"guidelines: {len(read.documents)} documents, {len(chunks)} chunks from {read.where}")
    pool = pool or endpoint_pool(teachers, settings, api_key)
    structured = use_schemas(settings, pool)
    templates = load_templates(recipe, structured)
    progress("replies: " + ("JSON constrained to each generator's schema" if structured else "labelled text"))
    out.mkdir(parents=True, exist_ok=True)
    plan = {
        "inputs": {"chunks_sha256": sha256_json([c.row() for c in chunks])},
        "teacher": pool.fingerprint,
        "prompts": {name: t.sha256 for name, t in templates.items()},
        "settings": settings.model_dump(mode="json", exclude={"concurrency", "api_key_env", "output"}),
    }
    if structured:  # a text run's plan stays as it was, so its earlier output resumes
        plan["schemas"] = {name: schema_sha256(name) for name in settings.generators}
    check_plan(out, plan, "synthesis")
    write_guidelines(read, out)
    ctx = Context(pool, CallCache(out / "cache" / "calls.jsonl"), settings, templates, structured)
    resumed = asyncio.run(make_all(chunks, ctx, out, progress))
    return finish(recipe, recipe_path, out, read, chunks, pool, ctx, resumed)


def finish(
    recipe: Recipe,
    recipe_path: Path | None,
    out: Path,
    read: Ingest,
    chunks: list[Chunk],
    pool: TeacherPool,
    ctx: Context,
    resumed: int,
) -> SynthResult:
    """Count what the shards hold; write the manifest and provenance.json."""
    settings = recipe.synth
    kept: dict[str, int] = {}
    rejected: dict[str, dict[str, int]] = {}
    for name in settings.generators:
        shards = Shards([Job(name, c) for c in chunks], out / "shards" / name, settings.shard_size)
        kept[name] = len(shards.kept_lines())
        reasons = Counter(json.loads(line)["reason"] for line in shards.rejected_lines())
        rejected[name] = dict(sorted(reasons.items()))
    details = {
        "kept": kept,
        "rejected": rejected,
        "skipped_input": dict(read.skipped),
        "resumed_shards": resumed,
        "cached_calls": ctx.cache.hits,
        "asked_calls": ctx.cache.stored,
        "answered_by": pool.share(),
        "reply_format": "json_schema" if ctx.structured else "text",
    }
    inputs = [{"path": str(p), "sha256": sha, "revision": rev} for p, sha, rev in read.files]
    resolved = settings.model_dump(mode="json")
    entry = LogEntry(
        run_id(),
        "synth",
        inputs,
        resolved,
        len(chunks) * len(settings.generators),
        sum(kept.values()),
        details,
    )
    counts = {"documents": len(read.documents), "chunks": len(chunks), **details}
    write_manifest(
        out, {"name": recipe.name, "path": str(recipe_path) if recipe_path else None}, counts, [entry]
    )
    sources = [
        FileRef(
            role="source",
            path=str(p.resolve()),
            sha256=sha,
            ref=f"guidelines@{rev}",
            licence=_licence(read, sha),
        )
        for p, sha, rev in read.files
    ]
    prompts = [
        FileRef(role="prompt", path=str(t.path.resolve()), sha256=t.sha256, ref=n)
        for n, t in ctx.templates.items()
    ]
    teachers = [FileRef(role="teacher", ref=t.endpoint, fingerprint=pool.fingerprint) for t in pool.teachers]
    write_provenance(
        out,
        "data-synth",
        config=config_file(recipe_path, teachers=pool.endpoints),
        resolved=resolved,
        inputs=[*sources, *prompts, *teachers],
        output_files=[*tracked_files(out), out / MANIFEST],
    )
    return SynthResult(
        out, len(read.documents), len(chunks), kept, rejected, dict(read.skipped), resumed,
        ctx.cache.hits, ctx.cache.stored, pool.share(), details["reply_format"],
    )  # fmt: skip


def _licence(read: Ingest, sha256: str) -> str:
    licences = sorted({d.licence for d in read.documents if d.file_sha256 == sha256})
    return "; ".join(licences) or "unspecified"


__all__ = ["Job", "SynthResult", "Teacher", "make_item", "run_synth"]
