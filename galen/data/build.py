"""`galen data build`: a recipe in, an auditable corpus out.

    read (one adapter per source) -> dedup -> decontaminate -> shards + exports -> manifest

The output folder:

    records/records-00000-of-00001.jsonl   the kept records (`Record` JSON), `shard_size` per file
    export/sft.jsonl, grpo.jsonl (+ .parquet)   for galen train (format: data/export.py)
    dedup/duplicates.jsonl                 dropped duplicates and the record each one repeats
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
from galen.data.dedup import deduplicate
from galen.data.export import think_tags, write_exports, write_jsonl
from galen.data.manifest import MANIFEST, TRACKED, LogEntry, run_id, tracked_files, write_manifest
from galen.data.recipe import Recipe, SourceConfig
from galen.data.record import Record
from galen.data.sources import Origin, Skip, SourceFile, get_adapter, locate
from galen.errors import BadRequest, GalenError
from galen.files import sha256_file
from galen.provenance import FileRef, config_file, write_provenance

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
    """Remove the files a previous build wrote (only galen's own folders)."""
    for folder in TRACKED:
        if (out / folder).is_dir():
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


def build(
    recipe: Recipe, recipe_path: Path | None = None, progress: Progress = lambda _: None
) -> BuildResult:
    """Run the whole pipeline for `recipe` (see the module docstring). Everything is computed
    before the output folder is touched, so a failed build leaves the last good one in place."""
    run = run_id()
    records, per_source, entries, inputs = read_all(recipe, run, progress)

    kept, duplicates = deduplicate(records) if recipe.dedup.enabled else (records, [])
    duplicated = Counter(d.source for d in duplicates)
    entries.append(
        LogEntry(
            run,
            "dedup",
            [],
            recipe.dedup.model_dump(),
            len(records),
            len(kept),
            {"by_source": dict(duplicated)},
        )
    )
    progress(f"dedup: {len(duplicates)} duplicates dropped")

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

    out = recipe.output_dir
    out.mkdir(parents=True, exist_ok=True)
    _clean(out)
    write_jsonl([asdict(d) for d in duplicates], out / "dedup" / "duplicates.jsonl")
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
    write_provenance(
        out,
        "data-build",
        config=config_file(recipe_path),
        resolved=recipe_info["settings"],
        inputs=[*inputs, *benchmarks],
        output_files=[*tracked_files(out), out / MANIFEST],
    )
    progress(f"wrote {len(final)} records to {out}")
    return BuildResult(out, counts, manifest)
