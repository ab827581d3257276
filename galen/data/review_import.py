"""`galen data review import`: reviewers' verdicts into a build's verdict store, then a rebuild.

Every row of the given files is checked against the build's records (`review.check_rows`); the
good ones are added to `review/verdicts.jsonl` (written atomically, after all rows are checked),
and the build is run again with its recipe (the one the manifest names, or `--recipe`), so the
verdicts reach the records, the exports, the manifest (per source: accepted, edited, rejected,
pending; a `review` log entry) and provenance.json (the verdict store as an input) in one
consistent step. The rebuild applies the
verdicts before dedup and decontamination, so edited text is checked like any other.

What was not applied is counted by reason and listed with file, line and id in
`review/import_report.json` (rewritten by each import; the verdict store keeps every verdict).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from galen.data.build import BuildResult, Progress, build
from galen.data.manifest import read_manifest
from galen.data.recipe import load_recipe
from galen.data.record import Record
from galen.data.review import STORE, Checked, check_rows, read_store
from galen.data.review_sample import build_records
from galen.errors import BadRequest
from galen.files import write_atomic

REPORT = Path("review") / "import_report.json"


@dataclass
class ImportResult:
    checked: Checked
    verdicts: int  # in the store after this import
    build: BuildResult


def _all_records(out: Path) -> dict[str, Record]:
    """Every record a verdict may name: kept, pending and already rejected ones."""
    records = build_records(out)
    rejected = out / "held" / "rejected.jsonl"
    if rejected.is_file():
        records += [
            Record.model_validate_json(line) for line in rejected.read_text().splitlines() if line.strip()
        ]
    return {r.id: r for r in records}


def _recipe_path(out: Path, given: Path | None) -> Path:
    if given:
        return given
    recorded = read_manifest(out).get("recipe", {}).get("path")
    if not recorded or not Path(recorded).is_file():
        raise BadRequest(
            "recipe", f"the recipe this build was made with ({recorded}) is not there; give it with --recipe"
        )
    return Path(recorded)


def import_reviews(
    out: Path, files: list[Path], recipe_path: Path | None = None, progress: Progress = lambda _: None
) -> ImportResult:
    """Check `files` against the build in `out`, store the good verdicts and rebuild."""
    path = _recipe_path(out, recipe_path)
    recipe = load_recipe(path).model_copy(update={"output": str(out.resolve())})
    store = read_store(out / STORE)
    checked = check_rows(files, _all_records(out), store, {f: f.name for f in files})
    report = {
        "files": [str(f.resolve()) for f in files],
        "rows": checked.rows,
        "applied": len(checked.verdicts),
        "by_verdict": {
            v: sum(x.verdict == v for x in checked.verdicts) for v in ("accept", "reject", "edit")
        },
        "not_applied": checked.by_reason(),
        "problems": [p.__dict__ for p in checked.problems],
    }
    if checked.verdicts:
        lines = [v.model_dump_json() for v in [*store.values(), *checked.verdicts]]
        write_atomic(out / STORE, "\n".join(lines) + "\n")
    write_atomic(out / REPORT, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    # Always rebuilt, so the manifest lists the new report and store with their hashes.
    result = build(recipe, path, progress)
    return ImportResult(checked, len(store) + len(checked.verdicts), result)
