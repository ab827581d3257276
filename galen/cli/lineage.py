"""`galen lineage PATH`: from a result back to the files it was made from, every link checked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from galen.cli.output import console, fail


def _tree(node: Any) -> dict[str, Any]:
    """A Node as plain data, for --json."""
    return {
        "folder": str(node.folder),
        "kind": node.kind,
        "note": node.note,
        "provenance": node.provenance.model_dump(mode="json", exclude={"inputs", "outputs"})
        if node.provenance
        else None,
        "inputs": [
            {
                **link.ref.model_dump(mode="json", exclude_none=True),
                "status": link.status,
                "sha256_now": link.now,
                "from": _tree(link.node) if link.node else None,
            }
            for link in node.links
        ],
    }


def lineage(
    path: Annotated[
        Path, typer.Argument(metavar="PATH", help="A run folder: eval, export, train run or data build.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the chain as JSON.")] = False,
) -> None:
    """Follow a run folder back to its source files; exit 1 if a file's hash no longer matches."""
    from galen.lineage import broken, is_run_folder, lines, trace

    folder = path.parent if path.is_file() else path
    if not folder.is_dir():
        raise fail(f"no such folder: {path}")
    if not is_run_folder(folder):
        raise fail(f"{folder} is not a galen run folder (no provenance.json, results.json, run.json, ...)")
    root = trace(folder)
    bad = broken(root)
    if as_json:
        print(json.dumps({**_tree(root), "broken": [b.ref.path for b in bad]}, indent=1))
    else:
        for depth, text, status in lines(root):
            style = "red" if status in ("changed", "missing") else ("dim" if status == "unchecked" else None)
            console.print("  " * depth + text, style=style, soft_wrap=True, highlight=False, markup=False)
        summary = f"{len(bad)} broken link(s)" if bad else "every recorded hash matches"
        console.print(summary, style="red" if bad else "green", highlight=False)
    if bad:
        raise typer.Exit(1)
