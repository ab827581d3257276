"""Training rows: `galen data`'s TRL-ready exports, read and checked before any model loads.

SFT row:  {"id", "source", "messages": [{"role": "user", ...}, {"role": "assistant",
           "content": "<think>\\n...\\n</think>\\n\\nanswer"}]}
GRPO row: {"id", "source", "prompt": [{"role": "user", ...}], "answer": "C" or "yes",
           "kind": "choice" | "label" | "open", "choices": [...]}

`data.path` in a recipe is `sample` (the corpus shipped in `galen/train/samples/`), a .jsonl or
.parquet file, or a `galen data build` folder holding `export/sft.jsonl`, `export/grpo.jsonl`
(or their .parquet twins) and `manifest.json`. The file's sha256 and the manifest's go into the
run folder, so a run names exactly what it was trained on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from galen.errors import BadRequest
from galen.files import sha256_file
from galen.models.profile import ThinkTags

SAMPLE = "sample"
KINDS = ("choice", "label", "open")


@dataclass(frozen=True)
class TrainingData:
    """Rows for one stage, and where they came from."""

    rows: list[dict[str, Any]]
    file: Path
    sha256: str
    manifest: Path | None
    manifest_sha256: str | None

    def describe(self) -> dict[str, Any]:
        return {
            "file": str(self.file),
            "rows": len(self.rows),
            "sha256": self.sha256,
            "manifest": str(self.manifest) if self.manifest else None,
            "manifest_sha256": self.manifest_sha256,
        }


def sample_folder() -> Path:
    return Path(str(resources.files("galen.train").joinpath("samples")))


def locate(path: str, stage: str) -> tuple[Path, Path | None]:
    """(the rows file for `stage`, the manifest or None) for a recipe's `data.path`."""
    folder = sample_folder() if path == SAMPLE else Path(path).expanduser()
    if folder.is_file():  # a build's export/sft.jsonl has its manifest one folder up
        manifests = [p / "manifest.json" for p in (folder.parent, folder.parent.parent)]
        return folder, next((m for m in manifests if m.is_file()), None)
    if folder.is_dir():
        for candidate in (
            f"export/{stage}.jsonl",
            f"export/{stage}.parquet",
            f"{stage}.jsonl",
            f"{stage}.parquet",
        ):
            if (folder / candidate).is_file():
                manifest = folder / "manifest.json"
                return folder / candidate, manifest if manifest.is_file() else None
        raise BadRequest("data.path", f"{folder} has no export/{stage}.jsonl (run `galen data build` first?)")
    raise BadRequest(
        "data.path", f"{path}: no such file or folder (use `sample`, a .jsonl/.parquet or a data build)"
    )


def read_rows(file: Path) -> list[dict[str, Any]]:
    if file.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(file).to_pylist()
    rows = []
    for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise BadRequest("data.path", f"{file}:{n}: not JSON ({exc.msg})") from None
    return rows


def _messages_problem(messages: Any, last_role: str) -> str | None:
    if not isinstance(messages, list) or not messages:
        return "must be a non-empty list of {role, content} messages"
    for m in messages:
        if (
            not isinstance(m, dict)
            or not isinstance(m.get("role"), str)
            or not isinstance(m.get("content"), str)
        ):
            return "every message needs a string role and content"
    if messages[-1]["role"] != last_role:
        return f"the last message must be the {last_role}'s"
    return None


def row_problem(row: Any, stage: str) -> str | None:
    """Why a row cannot be trained on, or None."""
    if not isinstance(row, dict):
        return "is not a JSON object"
    if stage == "sft":
        problem = _messages_problem(row.get("messages"), "assistant")
        return f"messages: {problem}" if problem else None
    problem = _messages_problem(row.get("prompt"), "user")
    if problem:
        return f"prompt: {problem}"
    if row.get("kind") not in KINDS:
        return f"kind: {row.get('kind')!r} is not one of {', '.join(KINDS)}"
    if row["kind"] != "open" and not isinstance(row.get("answer"), str):
        return "answer: a choice or label row needs the gold answer as a string"
    return None


def load_training_data(path: str, stage: str, limit: int | None = None) -> TrainingData:
    """Read and check the rows of a stage ("sft" or "grpo"); errors name the file and row."""
    file, manifest = locate(path, stage)
    rows = read_rows(file)[:limit] if limit else read_rows(file)
    if not rows:
        raise BadRequest("data.path", f"{file} has no rows")
    for n, row in enumerate(rows, 1):
        problem = row_problem(row, stage)
        if problem:
            raise BadRequest("data.path", f"{file}: row {n} ({row.get('id', '?')}): {problem}")
    return TrainingData(rows, file, sha256_file(file), manifest, sha256_file(manifest) if manifest else None)


def sft_dataset(data: TrainingData, think: ThinkTags | None = None) -> Any:
    """Conversational prompt-completion rows: TRL computes the loss on the last assistant turn only.

    `think`: the tags of a template whose generation prompt opens a think block (chatml_think,
    Qwen3.6). An answer without reasoning is then trained behind an empty block, as such
    templates write a thinking-off turn, so the prompt the model sees in training is the one it
    is served with.
    """
    from datasets import Dataset

    rows = []
    for i, r in enumerate(data.rows):
        answer = dict(r["messages"][-1])
        if think is not None and not answer["content"].lstrip().startswith(think.open):
            answer["content"] = f"{think.open}\n\n{think.close}\n\n{answer['content']}"
        rows.append({"id": str(r.get("id", i)), "prompt": r["messages"][:-1], "completion": [answer]})
    return Dataset.from_list(rows)


def grpo_dataset(data: TrainingData) -> Any:
    """Prompts plus the columns the rewards read (answer, kind, choices, and rubrics when present)."""
    from datasets import Dataset

    keep = ("prompt", "answer", "kind", "choices", "rubrics")
    rows = []
    for i, r in enumerate(data.rows):
        row = {"id": str(r.get("id", i)), **{k: r[k] for k in keep if k in r}}
        row.setdefault("answer", "")
        row.setdefault("choices", [])
        rows.append(row)
    return Dataset.from_list(rows)
