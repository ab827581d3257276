"""`galen data build`: a recipe in, an auditable corpus out.

    read (one adapter per source) -> dedup -> decontaminate -> shards + exports -> manifest

The output folder:

    records/records-00000-of-00001.jsonl   the kept records (`Record` JSON), `shard_size` per file
    export/sft.jsonl, grpo.jsonl (+ .parquet)   for galen train (format: data/export.py)
    dedup/duplicates.jsonl                 dropped duplicates and the record each one repeats
    decontam/removed.jsonl, report.json    removed records with their matches; the report
    manifest.json, processing_log.jsonl    hashes of all of the above; every run's stages

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

from galen.data.decontam import decontaminate, load_benchmarks, matches_json
from galen.data.dedup import deduplicate
from galen.data.export import think_tags, write_exports, write_jsonl
from galen.data.manifest import TRACKED, LogEntry, run_id, write_manifest
from galen.data.recipe import Recipe, SourceConfig
from galen.data.record import Record
from galen.data.sources import Origin, Skip, SourceFile, get_adapter, locate
from galen.errors import BadRequest, GalenError
from galen.evals.loading import sha256_file

Progress = Callable[[str], None]


@dataclass
class SourceRead:
    records: list[Record]
    files: list[SourceFile]
    rows: int
    skipped: Counter[str]


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
    try:
        files = locate(adapter, source.path, source.split, source.subset, recipe.base)
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
    return SourceRead(records, files, rows, skipped)


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


def build(
    recipe: Recipe, recipe_path: Path | None = None, progress: Progress = lambda _: None
) -> BuildResult:
    """Run the whole pipeline for `recipe` (see the module docstring)."""
    run = run_id()
    entries: list[LogEntry] = []
    records: list[Record] = []
    per_source: dict[str, dict[str, Any]] = {}
    for k, source in enumerate(recipe.sources):
        read = read_source(k, source, recipe)
        name = source.source_name
        progress(f"read {name}: {len(read.records)} records from {read.rows} rows")
        per_source[name] = {"rows": read.rows, "read": len(read.records), "skipped": dict(read.skipped)}
        entries.append(
            LogEntry(
                run,
                "read",
                _inputs(read.files),
                source.model_dump(),
                read.rows,
                len(read.records),
                {"source": name, "format": source.format, "skipped": dict(sorted(read.skipped.items()))},
            )
        )
        records += read.records

    kept, duplicates = records, []
    if recipe.dedup.enabled:
        kept, duplicates = deduplicate(records)
    by_source = Counter(d.source for d in duplicates)
    for name in per_source:
        per_source[name]["duplicates"] = by_source[name]
    entries.append(
        LogEntry(
            run,
            "dedup",
            [],
            recipe.dedup.model_dump(),
            len(records),
            len(kept),
            {"by_source": dict(by_source)},
        )
    )
    progress(f"dedup: {len(duplicates)} duplicates dropped")

    out = recipe.output_dir
    out.mkdir(parents=True, exist_ok=True)
    _clean(out)
    write_jsonl([asdict(d) for d in duplicates], out / "dedup" / "duplicates.jsonl")

    settings = recipe.decontamination
    if settings.enabled:
        benchmarks = load_benchmarks(recipe)
        progress(
            f"decontamination: {len(benchmarks.items)} benchmark items from {len(benchmarks.sources)} tasks"
        )
        result = decontaminate(kept, benchmarks, settings)
        by_id = {r.id: r for r in kept}
        removed = [
            {"record": json.loads(by_id[rid].model_dump_json()), "matches": matches_json(matches)}
            for rid, matches in result.removed.items()
        ]
        removed_by_source = Counter(by_id[rid].source for rid in result.removed)
        for name in per_source:
            per_source[name]["decontaminated"] = removed_by_source[name]
        write_jsonl(removed, out / "decontam" / "removed.jsonl")
        report = result.report(settings)
        (out / "decontam" / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        inputs = [{"task": task, "source": source} for task, source in benchmarks.sources.items()]
        entries.append(
            LogEntry(
                run,
                "decontaminate",
                inputs,
                settings.model_dump(),
                len(kept),
                len(result.kept),
                {**result.counts, "by_source": dict(removed_by_source)},
            )
        )
        progress(f"decontamination: {len(result.removed)} records removed")
        kept = result.kept

    kept_by_source = Counter(r.source for r in kept)
    for name in per_source:
        per_source[name]["kept"] = kept_by_source[name]
    shards = write_shards(kept, out, recipe.shard_size)
    tags = think_tags(recipe.export.think_open, recipe.export.think_close, recipe.export.family)
    exported = write_exports(kept, out, tags, recipe.export.parquet)
    entries.append(
        LogEntry(
            run,
            "write",
            [],
            {"shard_size": recipe.shard_size, **recipe.export.model_dump()},
            len(kept),
            len(kept),
            {"shards": [str(p.relative_to(out)) for p in shards], "exports": exported},
        )
    )
    counts = {"records": len(kept), "by_source": per_source, "exports": exported}
    recipe_info = {
        "name": recipe.name,
        "path": str(recipe_path) if recipe_path else None,
        "sha256": sha256_file(recipe_path) if recipe_path else None,
        "settings": json.loads(recipe.model_dump_json()),
    }
    manifest = write_manifest(out, recipe_info, counts, entries)
    progress(f"wrote {len(kept)} records to {out}")
    return BuildResult(out, counts, manifest)
