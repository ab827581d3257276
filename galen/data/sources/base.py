"""What every source adapter shares: finding a source's files, reading rows, building Records.

An adapter is one upstream format (`Adapter`): where its bundled sample is, its hub id and pinned
revision, which files of a folder or hub snapshot hold a split, and `convert(row, origin)`, which
returns a `Record` or raises `Skip(reason)` for a row that is not a training item (the build
counts skips by reason; nothing disappears silently).

The prompts are the ones galen eval scores with: a multiple-choice item's user message is
`galen_choice_prompt` (question, lettered options, the card's answer instruction), a yes/no/maybe
item's is PubMedQA's "galen" preset, so what a model is trained on is what it is scored on. The
gold answer is written the way that instruction asks for it: `{"answer": "C"}`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from galen.data.record import Message, Record, TaskKind
from galen.errors import BadRequest
from galen.evals.loading import read_records, resolve_data
from galen.evals.task import Sample
from galen.evals.tasks.common import galen_choice_prompt
from galen.evals.tasks.pubmedqa import prompt as pubmedqa_prompt
from galen.files import sha256_file

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


class Skip(Exception):
    """A row that is not a training item; `reason` is counted in the processing log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SourceFile:
    """One file read: its path, the name recorded for it, its sha256, and where it came from
    ("sample", "local" or the hub commit)."""

    path: Path
    shown: str
    sha256: str
    revision: str


@dataclass(frozen=True)
class Origin:
    """Where a row came from; `record()` stamps that onto the Record built from it."""

    source: str
    format: str
    split: str
    licence: str
    file: SourceFile
    row: int
    id_prefix: str
    columns: dict[str, str] = field(default_factory=dict)

    def record(self, source_id: Any, kind: TaskKind, messages: list[Message], **fields: Any) -> Record:
        return Record(
            id=f"{self.id_prefix}:{self.row}",
            source=self.source,
            format=self.format,
            revision=self.file.revision,
            file=self.file.shown,
            file_sha256=self.file.sha256,
            split=self.split,
            row=self.row,
            source_id=str(source_id if source_id not in (None, "") else self.row),
            licence=self.licence,
            kind=kind,
            messages=messages,
            **fields,
        )


Converter = Callable[[dict[str, Any], Origin], Record]


@dataclass(frozen=True)
class Mirror:
    """The galen eval task a source is the training side of: `splits` are the splits that task
    evaluates on (stage 0 removes them); `global_ids`: upstream ids are unique across splits
    (UUIDs, PubMed ids), so an id shared with a benchmark item is the same item."""

    task: str
    splits: tuple[str, ...]
    global_ids: bool = False


@dataclass(frozen=True)
class Adapter:
    """One upstream format (its module's docstring describes the rows).

    name: the recipe's `format`. convert: one row -> a Record. licence: the upstream licence,
    recorded on every record unless the recipe overrides it. sample: our bundled sample under
    data/samples/. hub: the Hugging Face dataset, "OWNER/NAME@COMMIT" with the pinned commit
    ("OWNER/NAME" alone: none is pinned, so the recipe must give hf://ID@COMMIT). files: glob
    patterns, tried in order, for a split's files in a folder or hub snapshot; "{split}" and
    "{subset}" are filled in. subset: the default for "{subset}". mirror: the eval task it mirrors.
    """

    name: str
    convert: Converter
    licence: str
    sample: str
    hub: str | None = None
    files: tuple[str, ...] = ("*{split}*.jsonl", "*{split}*.parquet", "*{split}*.json", "*{split}*.csv")
    subset: str | None = None
    read: Callable[[Path], list[dict[str, Any]]] = field(default=lambda path: read_rows(path))
    mirror: Mirror | None = None

    @property
    def hub_id(self) -> str | None:
        return self.hub.partition("@")[0] if self.hub else None

    @property
    def revision(self) -> str | None:
        return (self.hub.partition("@")[2] or None) if self.hub else None


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a .jsonl, .json (a list), .parquet or .csv file."""
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))
    return read_records(path)


def locate(
    adapter: Adapter, where: str | None, split: str, subset: str | None, base: Path
) -> list[SourceFile]:
    """The files a source reads: our sample (where=None), a local file or folder, or the hub
    ("hub" for the adapter's pinned revision, "hf://ID@COMMIT" for any)."""
    subset = subset or adapter.subset
    if where is None:
        return _files(SAMPLES / adapter.sample, adapter, split, subset, "sample")
    if where == "hub" or where.startswith("hf://"):
        hub_id = adapter.hub_id or ""
        patterns = [p.format(split=split, subset=subset) for p in adapter.files]
        location = resolve_data(where, "", hub_id, adapter.revision, task=adapter.name, hub_files=patterns)
        revision = location.ref.rsplit("@", 1)[-1]
        return _files(location.path, adapter, split, subset, revision)
    path = Path(where).expanduser()
    path = path if path.is_absolute() else base / path
    if not path.exists():
        raise BadRequest("path", f"no such file or folder: {path}")
    return _files(path, adapter, split, subset, "local")


def _files(path: Path, adapter: Adapter, split: str, subset: str | None, revision: str) -> list[SourceFile]:
    if path.is_file():
        return [SourceFile(path, path.name, sha256_file(path), revision)]
    for pattern in adapter.files:
        found = sorted(p for p in path.glob(pattern.format(split=split, subset=subset)) if p.is_file())
        if found:
            return [SourceFile(p, str(p.relative_to(path)), sha256_file(p), revision) for p in found]
    tried = ", ".join(p.format(split=split, subset=subset) for p in adapter.files)
    raise BadRequest("path", f"{path}: no {adapter.name} file for split {split!r} (looked for {tried})")


def answer_text(answer: str, explanation: str | None = None) -> str:
    """The gold answer as the card's instruction asks for it, after the explanation if any.

    >>> answer_text("C", "Iron stores are empty.")
    'Iron stores are empty.\\n\\n{"answer": "C"}'
    """
    line = json.dumps({"answer": answer})
    return f"{explanation.strip()}\n\n{line}" if explanation and explanation.strip() else line


def choice_record(
    at: Origin,
    source_id: Any,
    question: str,
    options: dict[str, str],
    answer: str,
    explanation: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Record:
    """A multiple-choice item, prompted as galen eval's "galen" preset prompts it."""
    sample = Sample(id=str(source_id), question=question, answer=answer, options=options)
    prompt = galen_choice_prompt(sample)[0]["content"]
    return _answered(at, source_id, "choice", prompt, explanation, sample, metadata, options=options)


def label_record(
    at: Origin,
    source_id: Any,
    question: str,
    context: str | None,
    answer: str,
    explanation: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Record:
    """A yes / no / maybe item about a passage, prompted as galen eval prompts PubMedQA."""
    sample = Sample(id=str(source_id), question=question, answer=answer, context=context)
    prompt = pubmedqa_prompt(sample, "galen")[0]["content"]
    return _answered(at, source_id, "label", prompt, explanation, sample, metadata, context=context)


def _answered(
    at: Origin,
    source_id: Any,
    kind: str,
    prompt: str,
    explanation: str | None,
    sample: Sample,
    metadata: dict[str, Any] | None,
    **fields: Any,
) -> Record:
    """A labelled record: the prompt, then the gold answer (after its explanation, if any)."""
    messages = [
        Message(role="user", content=prompt),
        Message(role="assistant", content=answer_text(sample.answer, explanation)),
    ]
    question, answer = sample.question, sample.answer
    return at.record(
        source_id, kind, messages, question=question, answer=answer, metadata=metadata or {}, **fields
    )


def open_record(
    at: Origin,
    source_id: Any,
    question: str,
    reply: str | None,
    metadata: dict[str, Any] | None = None,
) -> Record:
    """A free-text question, with its reference answer when the source has one."""
    messages = [Message(role="user", content=question)]
    if reply and reply.strip():
        messages.append(Message(role="assistant", content=reply.strip()))
    return at.record(source_id, "open", messages, question=question, metadata=metadata or {})


def text(row: dict[str, Any], key: str, at: Origin) -> str:
    """A required, non-empty text field of a row (renamed by the recipe's `columns`), or an error."""
    name = at.columns.get(key, key)
    value = row.get(name)
    if value is None or (isinstance(value, float) and value != value) or not str(value).strip():
        raise BadRequest("source", f"row {at.row}: missing or empty field {name!r}")
    return str(value)


def optional(row: dict[str, Any], key: str, at: Origin) -> Any:
    """An optional field (renamed by the recipe's `columns`); NaN and "" read as None."""
    value = row.get(at.columns.get(key, key))
    if value is None or (isinstance(value, float) and value != value) or value == "":
        return None
    return value
