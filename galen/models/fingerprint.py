"""A model's fingerprint: which weights, which chat template, which family.

The one description of "the model" that the eval call cache keys on, that results.json and
`galen train export` record, and that `galen serve` publishes in `/v1/models`:

    {"model": "export", "kind": "hf", "location": "/runs/sft/export", "family": "chatml-think",
     "weights_sha256": "<galen.files.weights_sha256 of the weight files>",
     "template_sha256": "<sha256 of the chat template text in use>"}

A model with a default thinking budget (the embedded SmolLM2: `models.embedded`) adds
`"thinking_budget": N`, since the budget changes its answers.

Re-exporting a different model into the same folder changes `weights_sha256`, so a cached answer
of the old model is never reused. Weight hashes are cached by path, size and modification time,
so only the first use of a file reads it (a later call costs a `stat`). A remote model has no
weights here: its fingerprint is the endpoint and the served model id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from galen.files import sha256_bytes, weights_sha256
from galen.models.source import ModelSource
from galen.provenance import PROVENANCE, FileRef


def template_sha256(template: str | None) -> str | None:
    return sha256_bytes(template.encode()) if template else None


def fingerprint(source: ModelSource) -> dict[str, Any]:
    """The source's fingerprint (see the module docstring)."""
    if source.kind == "remote":
        return {"model": source.model_id, "kind": "remote", "endpoint": source.location}
    found = {
        "model": source.model_id,
        "kind": source.kind,
        "location": source.location,
        "family": source.profile.family,
        "weights_sha256": weights_sha256(Path(source.location)),
        "template_sha256": template_sha256(source.chat_template),
    }
    if source.thinking_budget is not None:
        found["thinking_budget"] = source.thinking_budget
    return found


def model_input(fp: dict[str, Any], role: str = "model") -> FileRef:
    """A run's input entry for a model, from its fingerprint: the weights hash as its sha256, and
    the folder it was exported to (when that folder is a galen run folder) as the link to follow;
    for a single file (a GGUF of `galen train export --gguf`), the folder holding it."""
    where = fp.get("location")
    home = Path(where) if where and Path(where).is_dir() else Path(where).parent if where else None
    folder = str(home) if home and (home / PROVENANCE).is_file() else None
    return FileRef(
        role=role,
        path=where,
        sha256=fp.get("weights_sha256"),
        ref=fp.get("endpoint"),
        folder=folder,
        fingerprint=fp,
    )
