"""The run-folder contract: every folder a galen job writes holds `provenance.json`.

Eval runs, judged evals, data builds, distillations, training runs and exports all record the
same things the same way, so `galen lineage` can follow any result back to its source files:

    {"contract": "galen-run/1", "kind": "eval" | "healthbench" | "pairwise" | "data-build" |
                                        "data-distill" | "train" | "export",
     "galen_version": "0.1.0", "git_commit": "59c04f6..." | null, "created": "2026-12-02T07:48:00+00:00",
     "config":   what the user gave (a config file's path and sha256, flags, overrides),
     "resolved": every setting the job ran with, defaults filled in,
     "inputs":   [{"role": "model", "path": ".../export", "sha256": "<weights hash>",
                   "fingerprint": {...}, "folder": ".../export"}, ...],
     "outputs":  [{"role": "output", "path": "results.json", "sha256": "...", "bytes": 1234}, ...],
     "self_sha256": sha256 of this file's text written without this field}

An input's `folder` names the galen run folder it came out of (a data build for a training
file, a training run for an export, an export for a model); that is the link lineage follows.
Input paths are absolute; output paths are relative to the run folder. `self_sha256` makes the
file tamper-evident (a changed date or setting is caught, not only a changed output), and
`check_provenance` recomputes it and every output's hash. Secrets (API keys) are
never part of a config or a setting, so they never reach this file.

The job's own files (results.json, manifest.json, run.json, galen_export.json) keep their
formats; their version, commit and time come from `stamp()`, the same as here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from galen import __version__
from galen.files import sha256_file, write_atomic

CONTRACT = "galen-run/1"
PROVENANCE = "provenance.json"


def now() -> str:
    """The time stamp every run folder uses: UTC, to the second, ISO 8601."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def git_commit() -> str | None:
    """The commit of the galen checkout that is running, or None for an installed package."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=Path(__file__).parent
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def stamp() -> dict[str, Any]:
    """galen version, git commit and time: the header every run-folder file starts with."""
    return {"galen_version": __version__, "git_commit": git_commit(), "created": now()}


class FileRef(BaseModel):
    """One input or output of a run.

    role: what it is to the run (model, data, manifest, recipe, source, benchmark, run, teacher,
        config, output). path: the file or folder (inputs absolute, outputs relative to the run
        folder). sha256: its content hash (a model's: `galen.files.weights_sha256`). ref: where it
        came from when that is not a local path (hf://ID@REV, an endpoint URL). folder: the galen
        run folder it came out of. licence, rows, bytes: when known. fingerprint: a model's
        (`galen.models.fingerprint`).
    """

    model_config = ConfigDict(extra="allow")

    role: str
    path: str | None = None
    sha256: str | None = None
    ref: str | None = None
    folder: str | None = None
    licence: str | None = None
    rows: int | None = None
    bytes: int | None = None
    fingerprint: dict[str, Any] | None = None


class Provenance(BaseModel):
    model_config = ConfigDict(extra="allow")

    contract: str = CONTRACT
    kind: str
    galen_version: str
    git_commit: str | None = None
    created: str
    config: dict[str, Any] = Field(default_factory=dict)
    resolved: dict[str, Any] = Field(default_factory=dict)
    inputs: list[FileRef] = Field(default_factory=list)
    outputs: list[FileRef] = Field(default_factory=list)
    self_sha256: str | None = None


def _text(record: Provenance) -> str:
    data = record.model_dump(mode="json", exclude_none=True, exclude={"self_sha256"})
    return json.dumps(data, indent=1, ensure_ascii=False)


def _self_hash(record: Provenance) -> str:
    return hashlib.sha256(_text(record).encode("utf-8")).hexdigest()


def file_input(role: str, path: str | Path, **extra: Any) -> FileRef:
    """An input file with its sha256 (computed now), by absolute path."""
    path = Path(path).resolve()
    return FileRef(role=role, path=str(path), sha256=sha256_file(path), **extra)


def config_file(path: Path | None, **given: Any) -> dict[str, Any]:
    """The `config` block: the config file (path, sha256) if there is one, and what else was given."""
    head = {"file": str(Path(path).resolve()), "sha256": sha256_file(path)} if path else {}
    return {**head, **{k: v for k, v in given.items() if v not in (None, [], {})}}


def outputs(folder: Path, files: Iterable[Path]) -> list[FileRef]:
    """Output entries for `files` inside `folder`: relative path, sha256 and size."""
    return [
        FileRef(
            role="output",
            path=str(Path(f).relative_to(folder)),
            sha256=sha256_file(f),
            bytes=Path(f).stat().st_size,
        )
        for f in sorted(files)
    ]


def write_provenance(
    folder: Path,
    kind: str,
    *,
    config: dict[str, Any],
    resolved: dict[str, Any],
    inputs: list[FileRef],
    output_files: Iterable[Path],
    header: dict[str, Any] | None = None,
) -> Provenance:
    """Write `folder/provenance.json` (atomically) and return it. `header`: a `stamp()` already
    written into the job's own files, so both name the same time and commit."""
    record = Provenance(
        kind=kind,
        **(header or stamp()),
        config=config,
        resolved=resolved,
        inputs=inputs,
        outputs=outputs(folder, output_files),
    )
    record.self_sha256 = _self_hash(record)
    text = json.dumps(record.model_dump(mode="json", exclude_none=True), indent=1, ensure_ascii=False)
    write_atomic(folder / PROVENANCE, text + "\n")
    return record


def check_provenance(folder: Path) -> list[str]:
    """What no longer matches the folder's provenance.json: the file itself (its `self_sha256`,
    or not readable) and every output it lists. An empty list when all holds or there is none."""
    path = Path(folder) / PROVENANCE
    if not path.is_file():
        return []
    try:
        record = read_provenance(folder)
    except ValueError as exc:
        return [f"{PROVENANCE}: not a valid run record ({str(exc).splitlines()[0]})"]
    problems = []
    if record.self_sha256 is not None and _self_hash(record) != record.self_sha256:
        problems.append(f"{PROVENANCE}: changed since it was written (its own sha256 does not match)")
    for ref in record.outputs:
        out = Path(folder) / (ref.path or "")
        if not out.is_file():
            problems.append(f"{PROVENANCE}: lists {ref.path}, which is missing")
        elif ref.sha256 and sha256_file(out) != ref.sha256:
            problems.append(f"{PROVENANCE}: {ref.path} changed since it was written")
    return problems


def read_provenance(folder: Path) -> Provenance | None:
    """The folder's provenance.json, or None when it has none (written by an older galen)."""
    path = Path(folder) / PROVENANCE
    if not path.is_file():
        return None
    return Provenance.model_validate_json(path.read_text(encoding="utf-8"))
