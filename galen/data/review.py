"""Clinician review verdicts: reading reviewers' files, checking them, applying them to records.

A reviewer fills in a sample that `galen data review export` wrote (`review_sample`): per row a
`verdict` (accept, reject or edit), their `reviewer` id and an optional `note`; an edit gives the
new text in `edited_answer` (the final answer) and / or `edited_prompt` (the last user turn).
`galen data review import` checks every row against the build (`review_import`) and keeps the
good ones in the build's verdict store, `review/verdicts.jsonl`, which every later build of the
recipe applies right after reading the sources (before dedup and decontamination, so an edit is
checked like any text):

- reject: the record is dropped, and listed in `held/rejected.jsonl`;
- edit: the record's messages are the edited ones; the original messages are kept in
  `metadata.review.original`, so both versions stay in the corpus's files;
- accept: the record is kept as it was;
- every reviewed record carries `metadata.review` = {verdict, reviewer, note, file, line}.

A recipe's `review.required` lists sources (synthetic ones, typically) whose records are held
back, in `held/pending.jsonl`, until a reviewer accepts or edits them.

Bad rows are not applied; each is counted and listed with its reason: an unknown id, a second
verdict for an id (in the same files or already in the store), an unknown verdict, no reviewer, an
edit without edited text, a record that changed since the sample was exported. A row with no
verdict is a row the reviewer did not get to, counted as `not reviewed`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from galen.data.record import Message, Record
from galen.errors import BadRequest

VERDICTS = ("accept", "reject", "edit")
STORE = Path("review") / "verdicts.jsonl"
REQUIRED_COLUMNS = ("id", "verdict", "reviewer")


class Verdict(BaseModel):
    """One reviewer's verdict on one record, and the row of the file it came from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    verdict: Literal["accept", "reject", "edit"]
    reviewer: str
    note: str = ""
    edited_prompt: str | None = None
    edited_answer: str | None = None
    file: str
    line: int


@dataclass(frozen=True)
class Problem:
    """A row that was not applied, and why."""

    file: str
    line: int
    id: str
    reason: str


def record_sha256(record: Record) -> str:
    """The hash an exported row carries, to tell whether the record changed before import."""
    return hashlib.sha256(record.model_dump_json().encode()).hexdigest()


def generator_of(record: Record) -> str:
    """The synthetic generator that made a record ("-" for upstream rows). Read defensively, since
    the synth stage may put it on the generation record, in the metadata (or its `synth` part) or
    on a field of its own: the first `generator` found in any of these."""
    places: list[Any] = [record.metadata, record.metadata.get("synth")]
    places += [getattr(record, name, None) for name in type(record).model_fields]
    for place in places:
        found = place.get("generator") if isinstance(place, dict) else getattr(place, "generator", None)
        if found and isinstance(found, str | int):
            return str(found)
    return "-"


def read_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line, row) of a reviewer's .csv or .jsonl file. An unreadable file or a CSV without the
    needed columns is an error; a JSONL line that is not an object becomes a row with `_error`."""
    if not path.is_file():
        raise BadRequest("file", f"no review file at {path}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadRequest("file", f"cannot read {path}: {exc}") from None
    if path.suffix == ".csv":
        return _csv_rows(path, text)
    if path.suffix == ".jsonl":
        rows = []
        for k, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                row = {"_error": f"not valid JSON ({exc.msg})"}
            rows.append((k, row if isinstance(row, dict) else {"_error": "not a JSON object"}))
        return rows
    raise BadRequest("file", f"{path}: a review file is .csv or .jsonl")


def _csv_rows(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    """Rows with the line each starts on (a quoted field may span lines, as spreadsheets write)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise BadRequest("file", f"{path}: no {', '.join(missing)} column (see an exported sample)")
    rows, start = [], reader.line_num + 1
    try:
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise BadRequest("file", f"{path}:{reader.line_num}: not valid CSV ({exc})") from None
    return rows


def _text(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    return "" if value is None else str(value).strip()


@dataclass
class Checked:
    """The rows of reviewers' files, sorted into new verdicts and problems."""

    verdicts: list[Verdict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    not_reviewed: int = 0
    rows: int = 0

    def by_reason(self) -> dict[str, int]:
        counts = Counter(p.reason.split(" (")[0] for p in self.problems)
        if self.not_reviewed:
            counts["not reviewed"] = self.not_reviewed
        return dict(sorted(counts.items()))


def check_rows(
    files: list[Path], records: dict[str, Record], store: dict[str, Verdict], shown: dict[Path, str]
) -> Checked:
    """Every row of `files` checked against the build's records and the verdicts it already has."""
    checked = Checked()
    first: dict[str, str] = {v.id: f"{v.file}:{v.line}" for v in store.values()}
    for path in files:
        name = shown.get(path, path.name)
        for line, row in read_rows(path):
            checked.rows += 1
            record_id = _text(row, "id")
            problem = _problem(row, record_id, records, first)
            if problem == "":
                checked.not_reviewed += 1
            elif problem:
                checked.problems.append(Problem(name, line, record_id, problem))
            else:
                verdict = _verdict(row, record_id, name, line)
                checked.verdicts.append(verdict)
                first[record_id] = f"{name}:{line}"
    return checked


def _problem(
    row: dict[str, Any], record_id: str, records: dict[str, Record], first: dict[str, str]
) -> str | None:
    """Why a row cannot be applied; "" for a row left blank; None when it is good."""
    verdict = _text(row, "verdict").lower()
    if "_error" in row:
        return row["_error"]
    if not verdict:
        return ""
    if not record_id:
        return "no id"
    if record_id not in records:
        return "unknown id (not a record of this build)"
    if record_id in first:
        return f"duplicate verdict (first at {first[record_id]})"
    if verdict not in VERDICTS:
        return f"unknown verdict ({verdict!r}; use accept, reject or edit)"
    if not _text(row, "reviewer"):
        return "no reviewer"
    if verdict == "edit" and not (_text(row, "edited_prompt") or _text(row, "edited_answer")):
        return "edit without edited text (fill edited_answer or edited_prompt)"
    exported = _text(row, "record_sha256")
    if exported and exported != record_sha256(records[record_id]):
        return "record changed since export (export a new sample)"
    return None


def _verdict(row: dict[str, Any], record_id: str, name: str, line: int) -> Verdict:
    verdict = _text(row, "verdict").lower()
    edit = verdict == "edit"
    return Verdict(
        id=record_id,
        verdict=verdict,  # type: ignore[arg-type]
        reviewer=_text(row, "reviewer"),
        note=_text(row, "note"),
        edited_prompt=(_text(row, "edited_prompt") or None) if edit else None,
        edited_answer=(_text(row, "edited_answer") or None) if edit else None,
        file=name,
        line=line,
    )


def read_store(path: Path) -> dict[str, Verdict]:
    """The verdicts a build folder holds (id -> verdict); none when there is no store."""
    if not path.is_file():
        return {}
    try:
        found = [Verdict.model_validate_json(line) for line in path.read_text().splitlines() if line.strip()]
    except ValueError as exc:
        raise BadRequest("review", f"{path} is damaged: {str(exc).splitlines()[0]}") from None
    return {v.id: v for v in found}


def edited(record: Record, verdict: Verdict) -> Record:
    """The record with the reviewer's text in place of its last user turn and / or its answer."""
    messages = list(record.messages)
    if verdict.edited_prompt is not None:
        last_user = max(k for k, m in enumerate(messages) if m.role == "user")
        messages[last_user] = messages[last_user].model_copy(update={"content": verdict.edited_prompt})
    if verdict.edited_answer is not None:
        if record.reply() is None:
            messages.append(Message(role="assistant", content=verdict.edited_answer))
        else:
            messages[-1] = messages[-1].model_copy(update={"content": verdict.edited_answer})
    return record.model_copy(update={"messages": messages})


def reviewed(record: Record, verdict: Verdict) -> Record:
    """The record as the verdict leaves it, with `metadata.review` saying who decided what."""
    note = {k: getattr(verdict, k) for k in ("verdict", "reviewer", "note", "file", "line")}
    if verdict.verdict == "edit":
        note["original"] = [m.model_dump() for m in record.messages]
        record = edited(record, verdict)
    return record.model_copy(update={"metadata": {**record.metadata, "review": note}})


@dataclass
class Applied:
    """Records after review: kept (accepted, edited or not under review), rejected."""

    kept: list[Record]
    rejected: list[Record]
    unused: int  # verdicts for ids this build did not read


def apply_verdicts(records: list[Record], verdicts: dict[str, Verdict]) -> Applied:
    kept, rejected = [], []
    for record in records:
        verdict = verdicts.get(record.id)
        if verdict is None:
            kept.append(record)
        elif verdict.verdict == "reject":
            rejected.append(reviewed(record, verdict))
        else:
            kept.append(reviewed(record, verdict))
    unused = len(set(verdicts) - {r.id for r in records})
    return Applied(kept, rejected, unused)


def is_reviewed(record: Record) -> bool:
    return isinstance(record.metadata.get("review"), dict)


def hold_pending(records: list[Record], required: set[str]) -> tuple[list[Record], list[Record]]:
    """(kept, pending): records of a source that requires review wait until they have a verdict."""
    kept, pending = [], []
    for record in records:
        (pending if record.source in required and not is_reviewed(record) else kept).append(record)
    return kept, pending


def review_counts(
    kept: list[Record], pending: list[Record], rejected: list[Record]
) -> dict[str, dict[str, int]]:
    """Per source: accepted, edited, rejected and pending records."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for record in kept:
        if is_reviewed(record):
            counts[record.source][
                "edited" if record.metadata["review"]["verdict"] == "edit" else "accepted"
            ] += 1
    for record in rejected:
        counts[record.source]["rejected"] += 1
    for record in pending:
        counts[record.source]["pending"] += 1
    keys = ("accepted", "edited", "rejected", "pending")
    return {source: {k: c[k] for k in keys} for source, c in sorted(counts.items())}
