"""`galen data build`: a recipe in, an auditable corpus out.

    read (one adapter per source) -> review verdicts -> dedup (exact, then MinHash near dedup)
    -> decontaminate -> hold back records awaiting review -> shards + exports -> manifest

The output folder:

    records/records-00000-of-00001.jsonl   the kept records (`Record` JSON), `shard_size` per file
    export/sft.jsonl, grpo.jsonl (+ .parquet)   for galen train (format: data/export.py)
    dedup/duplicates.jsonl                 dropped duplicates and the record each one repeats
    dedup/near_duplicates.jsonl, clusters.jsonl   near duplicates (MinHash), and per kept record its cluster
    held/pending.jsonl, rejected.jsonl     records awaiting review; records reviewers rejected
    review/verdicts.jsonl                  the reviewers' verdicts (`galen data review import`)
    decontam/removed.jsonl, report.json    removed records with their matches; the report
    manifest.json, processing_log.jsonl    hashes of all of the above; every run's stages
    provenance.json                        the run-folder contract (galen.provenance): the recipe,
                                           every source file with its sha256 and licence, outputs

Every stage appends a log entry (inputs with sha256, settings, rows in and out, tool version,
time). Nothing in the output files depends on the time or the machine, so the same recipe on
the same inputs gives byte-identical files.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from galen.data.decontam import DecontamResult, decontaminate, load_benchmarks, matches_json
from galen.data.dedup import Duplicate, deduplicate
from galen.data.export import think_tags, write_exports, write_jsonl
from galen.data.manifest import MANIFEST, TRACKED, LogEntry, run_id, tracked_files, write_manifest
from galen.data.near_dedup import NearDedupResult, near_deduplicate
from galen.data.recipe import Recipe, SourceConfig
from galen.data.record import Record
from galen.data.review import STORE, apply_verdicts, hold_pending, read_store, review_counts
from galen.data.review_sample import PENDING
from galen.data.sources import Origin, Skip, SourceFile, get_adapter, locate
from galen.errors import BadRequest, GalenError
from galen.files import sha256_file
from galen.provenance import FileRef, config_file, file_input, write_provenance

Progress = Callable[[str], None]


@dataclass
class SourceRead:
    records: list[Record]
    files: list[SourceFile]
    rows: int
    skipped: Counter[str]
    licence: str


def _problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        return str(error["msg"]).removeprefix("Value error, ")
    message = exc.message if isinstance(exc, GalenError) else str(exc)
    return message.removeprefix("source: ")


def read_source(k: int, source: SourceConfig, recipe: Recipe) -> SourceRead:
    """All records of one source; an error names the recipe entry, the file and the row."""
    adapter = get_adapter(source.format)
    field = f"sources[{k}]"
    where = source.path
    if source.format == "synth" and where is None:  # the items `galen data synth` made for this recipe
        where = str(recipe.synth_dir)
        if not recipe.synth_dir.is_dir():
            raise BadRequest(f"{field}.path", f"{where} does not exist: run `galen data synth` first")
    try:
        files = locate(adapter, where, source.split, source.subset, recipe.base)
    except GalenError as exc:
        raise BadRequest(f"{field}.path", _problem(exc).removeprefix("path: ")) from None
    records, rows, skipped = [], 0, Counter()
    for file in files:
        try:
            table = adapter.read(file.path)
        except GalenError as exc:
            raise BadRequest(field, f"{file.shown}: {_problem(exc)}") from None
        prefix = source.source_name if len(files) == 1 else f"{source.source_name}:{file.shown}"
        for row_number, row in enumerate(table):
            if source.limit is not None and rows >= source.limit:
                break
            rows += 1
            at = Origin(
                source.source_name,
                adapter.name,
                source.split,
                source.licence or adapter.licence,
                file,
                row_number,
                prefix,
                source.columns,
            )
            try:
                records.append(adapter.convert(row, at))
            except Skip as skip:
                skipped[skip.reason] += 1
            except (GalenError, ValidationError, KeyError, TypeError, ValueError, AttributeError) as exc:
                raise BadRequest(field, f"{file.shown} row {row_number}: {_problem(exc)}") from None
    return SourceRead(records, files, rows, skipped, source.licence or adapter.licence)


def _inputs(files: list[SourceFile]) -> list[dict[str, str]]:
    return [{"path": str(f.path), "sha256": f.sha256, "revision": f.revision} for f in files]


def _clean(out: Path) -> None:
    """Remove the files a previous build wrote (only galen's own folders). review/ holds the
    reviewers' verdicts, an input of the next build, and stays."""
    for folder in TRACKED:
        if folder != "review" and (out / folder).is_dir():
            shutil.rmtree(out / folder)


def write_shards(records: list[Record], out: Path, size: int) -> list[Path]:
    folder = out / "records"
    folder.mkdir(parents=True, exist_ok=True)
    count = max(1, -(-len(records) // size))
    paths = []
    for k in range(count):
        path = folder / f"records-{k:05d}-of-{count:05d}.jsonl"
        with path.open("w", encoding="utf-8") as f:
            for record in records[k * size : (k + 1) * size]:
                f.write(record.model_dump_json() + "\n")
        paths.append(path)
    return paths


@dataclass
class BuildResult:
    out: Path
    counts: dict[str, Any]
    manifest: dict[str, Any]


def source_inputs(name: str, read: SourceRead, synth: bool = False) -> list[FileRef]:
    """provenance.json's entries for one source's files: path, sha256, licence, revision; a synth
    source's also name the `galen data synth` folder they came out of (lineage follows it)."""
    return [
        FileRef(
            role="source",
            path=str(f.path.resolve()),
            sha256=f.sha256,
            ref=f"{name}@{f.revision}",
            licence=read.licence,
            folder=str(f.path.resolve().parents[2]) if synth else None,  # <synth>/shards/<generator>/
        )
        for f in read.files
    ]


def read_all(
    recipe: Recipe, run: str, progress: Progress
) -> tuple[list[Record], dict, list[LogEntry], list[FileRef]]:
    """Every source's records, counts per source, one log entry per source, and its files."""
    records: list[Record] = []
    per_source: dict[str, dict[str, Any]] = {}
    entries, inputs = [], []
    for k, source in enumerate(recipe.sources):
        read = read_source(k, source, recipe)
        name = source.source_name
        progress(f"read {name}: {len(read.records)} records from {read.rows} rows")
        per_source[name] = {"rows": read.rows, "read": len(read.records), "skipped": dict(read.skipped)}
        details = {"source": name, "format": source.format, "skipped": dict(sorted(read.skipped.items()))}
        entries.append(
            LogEntry(
                run, "read", _inputs(read.files), source.model_dump(), read.rows, len(read.records), details
            )
        )
        records += read.records
        inputs += source_inputs(name, read, synth=source.format == "synth")
    return records, per_source, entries, inputs


def decontamination(records: list[Record], recipe: Recipe, run: str) -> tuple[DecontamResult, LogEntry]:
    settings = recipe.decontamination
    benchmarks = load_benchmarks(recipe)
    result = decontaminate(records, benchmarks, settings)
    by_id = {r.id: r.source for r in records}
    removed_by_source = Counter(by_id[rid] for rid in result.removed)
    inputs = [{"task": task, "source": source} for task, source in benchmarks.sources.items()]
    details = {**result.counts, "by_source": dict(removed_by_source)}
    entry = LogEntry(
        run, "decontaminate", inputs, settings.model_dump(), len(records), len(result.kept), details
    )
    return result, entry


def write_decontamination(result: DecontamResult, records: list[Record], recipe: Recipe, out: Path) -> None:
    by_id = {r.id: r for r in records}
    removed = [
        {"record": json.loads(by_id[rid].model_dump_json()), "matches": matches_json(matches)}
        for rid, matches in result.removed.items()
    ]
    write_jsonl(removed, out / "decontam" / "removed.jsonl")
    report = result.report(recipe.decontamination)
    (out / "decontam" / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


@dataclass
class Deduped:
    kept: list[Record]
    duplicates: list[Duplicate]
    near: NearDedupResult | None


def dedup_stage(
    records: list[Record], recipe: Recipe, run: str, progress: Progress
) -> tuple[Deduped, LogEntry]:
    """Exact dedup, then (when the recipe asks) near dedup with MinHash LSH."""
    kept, duplicates = deduplicate(records) if recipe.dedup.enabled else (records, [])
    details: dict[str, Any] = {"by_source": dict(Counter(d.source for d in duplicates))}
    near = None
    settings = recipe.dedup.minhash
    if recipe.dedup.enabled and settings.enabled:
        near = near_deduplicate(kept, **settings.model_dump(exclude={"enabled"}), progress=progress)
        kept = near.kept
        details["near"] = {**near.counts, "by_source": dict(Counter(d.source for d in near.dropped))}
        progress(f"near dedup: {len(near.dropped)} near duplicates in {len(near.clusters)} clusters")
    entry = LogEntry(run, "dedup", [], recipe.dedup.model_dump(), len(records), len(kept), details)
    progress(f"dedup: {len(duplicates)} duplicates dropped")
    return Deduped(kept, duplicates, near), entry


@dataclass
class Reviewed:
    """The review stage: verdicts applied after read; pending records held back after cleaning."""

    store: Path
    rejected: list[Record]
    unused: int


def review_stage(
    records: list[Record], recipe: Recipe, run: str
) -> tuple[list[Record], Reviewed | None, LogEntry | None]:
    """Apply the build's verdict store (review/verdicts.jsonl), if it has one or the recipe asks
    for review; None when review plays no part in this build."""
    store = recipe.output_dir / STORE
    verdicts = read_store(store)
    if not verdicts and not recipe.review.required:
        return records, None, None
    applied = apply_verdicts(records, verdicts)
    inputs = [{"path": str(store.resolve()), "sha256": sha256_file(store)}] if store.is_file() else []
    details = {
        "verdicts": len(verdicts),
        "rejected": len(applied.rejected),
        "unused_verdicts": applied.unused,
    }
    entry = LogEntry(
        run, "review", inputs, recipe.review.model_dump(), len(records), len(applied.kept), details
    )
    return applied.kept, Reviewed(store, applied.rejected, applied.unused), entry


def write_curation(out: Path, deduped: Deduped, review: Reviewed | None, pending: list[Record]) -> None:
    """dedup/ and held/: what dedup dropped, clusters, records awaiting review and rejected."""
    write_jsonl([asdict(d) for d in deduped.duplicates], out / "dedup" / "duplicates.jsonl")
    if deduped.near:
        write_jsonl([asdict(d) for d in deduped.near.dropped], out / "dedup" / "near_duplicates.jsonl")
        write_jsonl([c.as_json() for c in deduped.near.clusters], out / "dedup" / "clusters.jsonl")
    if review:
        write_jsonl([json.loads(r.model_dump_json()) for r in pending], out / PENDING)
        write_jsonl(
            [json.loads(r.model_dump_json()) for r in review.rejected], out / "held" / "rejected.jsonl"
        )


def curation_counts(
    per_source: dict[str, dict[str, Any]],
    deduped: Deduped,
    review: Reviewed | None,
    final: list[Record],
    pending: list[Record],
) -> None:
    """Per source, when those stages ran: near duplicates dropped; accepted, edited, rejected, pending."""
    near = Counter(d.source for d in deduped.near.dropped) if deduped.near else None
    reviews = review_counts(final, pending, review.rejected) if review else {}
    for name, counts in per_source.items():
        if near is not None:
            counts["near_duplicates"] = near[name]
        if review:
            counts["review"] = reviews.get(name, {"accepted": 0, "edited": 0, "rejected": 0, "pending": 0})


def build(
    recipe: Recipe, recipe_path: Path | None = None, progress: Progress = lambda _: None
) -> BuildResult:
    """Run the whole pipeline for `recipe` (see the module docstring). Everything is computed
    before the output folder is touched, so a failed build leaves the last good one in place."""
    run = run_id()
    records, per_source, entries, inputs = read_all(recipe, run, progress)
    records, review, entry = review_stage(records, recipe, run)
    if entry:
        entries.append(entry)

    deduped, entry = dedup_stage(records, recipe, run, progress)
    entries.append(entry)
    kept, duplicates = deduped.kept, deduped.duplicates
    duplicated = Counter(d.source for d in duplicates)

    result, bench_sources = None, {}
    if recipe.decontamination.enabled:
        result, entry = decontamination(kept, recipe, run)
        entries.append(entry)
        bench_sources = {i["task"]: i["source"] for i in entry.inputs}
        c = entry.details
        progress(
            f"decontamination: {len(result.removed)} records removed ({c['stage0_split']} by split, "
            f"{c['stage0_id']} by id, {c['stage0_exact']} exact, {c['stage2_removed']} by overlap)"
        )
    final = result.kept if result else kept
    final, pending = hold_pending(final, set(recipe.review.required)) if review else (final, [])

    out = recipe.output_dir
    out.mkdir(parents=True, exist_ok=True)
    _clean(out)
    write_curation(out, deduped, review, pending)
    if result:
        write_decontamination(result, kept, recipe, out)
    shards = write_shards(final, out, recipe.shard_size)
    tags = think_tags(recipe.export.think_open, recipe.export.think_close, recipe.export.family)
    exported = write_exports(final, out, tags, recipe.export.parquet)
    settings = {"shard_size": recipe.shard_size, **recipe.export.model_dump()}
    details = {"shards": [str(p.relative_to(out)) for p in shards], "exports": exported}
    entries.append(LogEntry(run, "write", [], settings, len(final), len(final), details))

    removed = Counter(r.source for r in kept if result and r.id in result.removed)
    left = Counter(r.source for r in final)
    for name, counts in per_source.items():
        counts.update(duplicates=duplicated[name], decontaminated=removed[name], kept=left[name])
    curation_counts(per_source, deduped, review, final, pending)
    counts = {"records": len(final), "by_source": per_source, "exports": exported}
    recipe_info = {
        "name": recipe.name,
        "path": str(recipe_path) if recipe_path else None,
        "sha256": sha256_file(recipe_path) if recipe_path else None,
        "settings": json.loads(recipe.model_dump_json()),
    }
    manifest = write_manifest(out, recipe_info, counts, entries)
    benchmarks = [
        FileRef(role="benchmark", ref=f"{task}: {source}") for task, source in bench_sources.items()
    ]
    verdicts = [file_input("review", review.store)] if review and review.store.is_file() else []
    write_provenance(
        out,
        "data-build",
        config=config_file(recipe_path),
        resolved=recipe_info["settings"],
        inputs=[*inputs, *benchmarks, *verdicts],
        output_files=[*tracked_files(out), out / MANIFEST],
    )
    progress(f"wrote {len(final)} records to {out}")
    return BuildResult(out, counts, manifest)
