"""The audit trail of an output folder: what was written, with hashes, and how it was made.

- `<out>/processing_log.jsonl`: one line per stage of every run, appended and never rewritten:
  `{"run", "stage", "inputs": [{"path", "sha256"}], "settings", "rows_in", "rows_out",
  "details", "tool", "time"}`.
- `<out>/manifest.json`: the latest run: the recipe (path and sha256), the tool version and git
  commit, every output file with its sha256, rows and bytes, the counts, and that run's log
  entries.
- `<out>/provenance.json` (written by build and distill): the run-folder contract every galen job
  shares (`galen.provenance`), which `galen lineage` follows.

`verify(out)` recomputes every hash and row count listed in the manifest and lists what changed,
what is missing and which files the manifest does not know. The manifest also holds the log's
sha256 and its own (`manifest_sha256`, over its text without that field), and provenance.json holds
its own (`galen.provenance.check_provenance`), so that one flipped byte in any file of the folder
is caught. Output files carry no time stamps, so
running the same recipe on the same inputs writes byte-identical files; only the log and the
manifest record when.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from galen import __version__
from galen.errors import BadRequest
from galen.files import sha256_file
from galen.provenance import check_provenance, now, stamp

TOOL = f"galen {__version__}"
MANIFEST = "manifest.json"
LOG = "processing_log.jsonl"
# Folders whose files the manifest lists (review/ is the verdict store, kept across builds).
TRACKED = ("records", "export", "decontam", "dedup", "shards", "guidelines", "held", "review")


def run_id() -> str:
    """Names one run in the log: its start time, to the microsecond."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")


@dataclass
class LogEntry:
    """One stage of one run."""

    run: str
    stage: str
    inputs: list[dict[str, str]]
    settings: dict[str, Any]
    rows_in: int
    rows_out: int
    details: dict[str, Any] = field(default_factory=dict)
    tool: str = TOOL
    time: str = field(default_factory=now)


def count_rows(path: Path) -> int | None:
    """Rows of a .jsonl (lines) or .parquet file; None for other files."""
    if path.suffix == ".jsonl":
        with path.open("rb") as f:
            return sum(1 for line in f if line.strip())
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    return None


def describe(out: Path, path: Path) -> dict[str, Any]:
    return {
        "path": str(path.relative_to(out)),
        "sha256": sha256_file(path),
        "rows": count_rows(path),
        "bytes": path.stat().st_size,
    }


def tracked_files(out: Path) -> list[Path]:
    return sorted(
        p for folder in TRACKED if (out / folder).is_dir() for p in (out / folder).rglob("*") if p.is_file()
    )


def append_log(out: Path, entries: list[LogEntry]) -> None:
    with (out / LOG).open("a", encoding="utf-8") as f:
        for entry in entries:
            f.write(json.dumps(asdict(entry), ensure_ascii=False) + "\n")


def write_manifest(
    out: Path, recipe: dict[str, Any], counts: dict[str, Any], entries: list[LogEntry]
) -> dict:
    """Append this run's entries to the log and write the manifest listing every output file."""
    append_log(out, entries)
    manifest = {
        "tool": TOOL,
        **stamp(),
        "recipe": recipe,
        "outputs": [describe(out, p) for p in tracked_files(out)],
        "counts": counts,
        "log": [asdict(e) for e in entries],
        "log_sha256": sha256_file(out / LOG),
    }
    manifest["manifest_sha256"] = _self_hash(manifest)
    (out / MANIFEST).write_text(_manifest_text(manifest), encoding="utf-8")
    return manifest


def _manifest_text(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"


def _self_hash(manifest: dict[str, Any]) -> str:
    """sha256 of the manifest's text without its own hash field."""
    rest = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return hashlib.sha256(_manifest_text(rest).encode("utf-8")).hexdigest()


def read_manifest(out: Path) -> dict[str, Any]:
    path = out / MANIFEST
    if not path.is_file():
        raise BadRequest("dir", f"{out} has no {MANIFEST}; is it the output folder of `galen data build`?")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BadRequest("dir", f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None


@dataclass
class Verification:
    checked: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(out: Path) -> Verification:
    """Recompute every listed hash and row count; report changed, missing and unlisted files."""
    manifest = read_manifest(out)
    problems = []
    listed = set()
    for entry in manifest.get("outputs", []):
        path = out / entry["path"]
        listed.add(entry["path"])
        if not path.is_file():
            problems.append(f"{entry['path']}: missing")
            continue
        digest = sha256_file(path)
        if digest != entry["sha256"]:
            problems.append(
                f"{entry['path']}: sha256 changed (manifest {entry['sha256'][:12]}, now {digest[:12]})"
            )
        rows = count_rows(path)
        if rows != entry.get("rows"):
            problems.append(f"{entry['path']}: {rows} rows, the manifest says {entry.get('rows')}")
    for path in tracked_files(out):
        name = str(path.relative_to(out))
        if name not in listed:
            problems.append(f"{name}: not in the manifest")
    if "manifest_sha256" in manifest and _self_hash(manifest) != manifest["manifest_sha256"]:
        problems.append(f"{MANIFEST}: changed since it was written (its own sha256 does not match)")
    log = out / LOG
    if log.is_file() and "log_sha256" in manifest and sha256_file(log) != manifest["log_sha256"]:
        problems.append(f"{LOG}: sha256 changed since the last run wrote the manifest")
    if log.is_file():
        for number, line in enumerate(log.read_text(encoding="utf-8").splitlines(), 1):
            try:
                json.loads(line)
            except json.JSONDecodeError:
                problems.append(f"{LOG}:{number}: not valid JSON")
    else:
        problems.append(f"{LOG}: missing")
    problems += check_provenance(out)
    return Verification(len(listed), problems)
