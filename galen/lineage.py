"""`galen lineage`: follow any run folder back to the files it was made from.

Every galen job writes `provenance.json` (`galen.provenance`); an input that came out of another
galen run names that run's folder. Starting from an eval result, lineage walks

    eval result -> model export -> training run -> data build -> source files (sha256, licence)

and checks every link on the way: each input's sha256 is computed again (a model's with the
cached weights hash) and compared with the one recorded. A file that changed or went missing
is a broken link: the result can no longer be traced to what it claims to come from.

Folders written before provenance.json existed are read from their own files (results.json,
galen_export.json, run.json, manifest.json) as far as those go; lineage says so, and running the
same command again on the folder writes its provenance.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from galen.files import sha256_file, weights_sha256
from galen.provenance import PROVENANCE, FileRef, Provenance, read_provenance

Status = Literal["ok", "changed", "missing", "unchecked"]


@dataclass
class Link:
    """One input of a run, checked now: `status`, the sha256 found now, and the run it came from."""

    ref: FileRef
    status: Status
    now: str | None = None
    node: Node | None = None


@dataclass
class Node:
    """A run folder, what it records about itself, and its inputs."""

    folder: Path
    provenance: Provenance | None
    links: list[Link] = field(default_factory=list)
    note: str | None = None

    @property
    def kind(self) -> str:
        return self.provenance.kind if self.provenance else "unknown"


# Inputs whose sha256 is a weights hash (`galen.files.weights_sha256`); a run's is its final weights'.
WEIGHTS = ("model", "base", "run")


def check(ref: FileRef) -> Link:
    """Compare an input with what is on disk now."""
    if ref.sha256 is None or ref.path is None:
        return Link(ref, "unchecked")
    path = Path(ref.path)
    if not path.exists():
        return Link(ref, "missing")
    if ref.role == "run":
        now = weights_sha256(path / "final")
    elif ref.role in WEIGHTS:
        now = weights_sha256(path)
    else:
        now = sha256_file(path)
    return Link(ref, "ok" if now == ref.sha256 else "changed", now)


def origin(ref: FileRef) -> Path | None:
    """The run folder an input came out of: the one it names; else a manifest's own folder, or a
    model's (an older galen named no folder)."""
    if ref.folder:
        return Path(ref.folder).resolve()
    if ref.path and ref.role == "manifest":
        return Path(ref.path).resolve().parent
    if ref.path and ref.role in WEIGHTS and Path(ref.path).is_dir():
        return Path(ref.path).resolve()
    return None


def trace(folder: Path, seen: set[Path] | None = None) -> Node:
    """The tree of runs behind `folder`, every input checked."""
    folder = folder.resolve()
    seen = set() if seen is None else seen
    seen.add(folder)
    record = read_provenance(folder)
    node = Node(folder, record)
    if record is None:
        record = legacy_provenance(folder)
        node.provenance = record
        node.note = (
            "no provenance.json (written by an older galen, or not a galen run folder); read from its "
            "own files. Run the same command again on this folder to write one."
            if record
            else "not a galen run folder (no provenance.json)"
        )
    for ref in record.inputs if record else []:
        link = check(ref)
        child = origin(ref)
        if child and child not in seen and is_run_folder(child):
            link.node = trace(child, seen)
        node.links.append(link)
    return node


def broken(node: Node) -> list[Link]:
    """Every link in the tree whose file changed or is missing."""
    found = [link for link in node.links if link.status in ("changed", "missing")]
    for link in node.links:
        if link.node:
            found += broken(link.node)
    return found


def describe(ref: FileRef) -> str:
    """One line for an input: role, where it is, its sha256, and what else is known."""
    parts = [ref.role, ref.path or ref.ref or "?"]
    if ref.path and ref.ref:
        parts.append(f"({ref.ref})")
    if ref.sha256:
        parts.append(f"sha256 {ref.sha256}")
    if ref.licence:
        parts.append(f"licence {ref.licence}")
    if ref.rows is not None:
        parts.append(f"{ref.rows} rows")
    return " ".join(parts)


def lines(node: Node, depth: int = 0) -> list[tuple[int, str, Status | None]]:
    """(indent, text, status) rows for printing the tree, depth first."""
    record = node.provenance
    head = f"{node.kind}: {node.folder}"
    if record:
        head += f" (galen {record.galen_version}, {record.created})"
    rows: list[tuple[int, str, Status | None]] = [(depth, head, None)]
    if node.note:
        rows.append((depth + 1, node.note, None))
    for link in node.links:
        text = describe(link.ref)
        if link.status == "changed":
            text += f" -- BROKEN: sha256 is now {link.now}"
        elif link.status == "missing":
            text += " -- BROKEN: missing"
        rows.append((depth + 1, text, link.status))
        if link.node:
            rows += lines(link.node, depth + 2)
    return rows


# -- folders written before provenance.json ----------------------------------------------------


def _json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, json.JSONDecodeError):
        return None


def _old(kind: str, record: dict[str, Any], inputs: list[FileRef]) -> Provenance:
    created = str(record.get("created") or record.get("finished") or record.get("started") or "unknown")
    version = str(record.get("galen_version") or (record.get("versions") or {}).get("galen") or "?")
    return Provenance(kind=kind, galen_version=version, created=created, inputs=inputs)


def _data_refs(data: dict[str, Any]) -> list[FileRef]:
    refs = []
    if data.get("file"):
        refs.append(FileRef(role="data", path=data["file"], sha256=data.get("sha256")))
    if data.get("manifest"):
        refs.append(FileRef(role="manifest", path=data["manifest"], sha256=data.get("manifest_sha256")))
    return refs


def legacy_provenance(folder: Path) -> Provenance | None:
    """What an older galen's files say about their inputs, as a Provenance (or None)."""
    if results := _json(folder / "results.json"):
        model = results.get("model") or {}
        where = model.get("location")
        weights = model.get("weights_sha256")
        return _old("eval", results, [FileRef(role="model", path=where, sha256=weights, fingerprint=model)])
    if stamp := _json(folder / "galen_export.json"):
        source = stamp.get("source")
        refs = [FileRef(role="run", path=source, folder=source)] if stamp.get("stage") else []
        return _old("export", stamp, refs + _data_refs(stamp.get("data") or {})[1:])
    if info := _json(folder / "run.json"):
        base = info.get("base") or {}
        refs = _data_refs(info.get("data") or {})
        refs.append(FileRef(role="base", path=base.get("folder"), fingerprint=base))
        return _old("train", info, refs)
    if manifest := _json(folder / "manifest.json"):
        return _old("data", manifest, _manifest_sources(manifest))
    return None


def _manifest_sources(manifest: dict[str, Any]) -> list[FileRef]:
    """Source files from a data manifest's read log, or the sources a sample corpus declares."""
    refs = [
        FileRef(role="source", path=i.get("path"), sha256=i.get("sha256"), ref=i.get("revision"))
        for entry in manifest.get("log", [])
        if entry.get("stage") == "read"
        for i in entry.get("inputs", [])
    ]
    for name, info in (manifest.get("sources") or {}).items():  # galen/train/samples/manifest.json
        licence = info.get("license") or info.get("licence")
        refs.append(FileRef(role="source", ref=name, licence=licence, rows=info.get("rows")))
    return refs


def is_run_folder(path: Path) -> bool:
    return (path / PROVENANCE).is_file() or legacy_provenance(path) is not None
