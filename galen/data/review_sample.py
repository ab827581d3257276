"""`galen data review export`: a stratified sample of a build for clinician reviewers.

The records of a build (the kept ones in records/ and those held back for review in
held/pending.jsonl) are grouped by stratum, (source, generator), where generator names the
synthetic generator that made a record ("-" for upstream rows). From every stratum `per_stratum`
records are drawn at random (`random.Random(seed)`, so the same command gives the same sample);
records that already have a verdict are left out. Rows are written in record order as CSV (for a
spreadsheet) or JSONL, one per record:

    id, record_sha256, source, generator, kind, prompt, reasoning, answer, gold,
    verdict, reviewer, note, edited_prompt, edited_answer

The first nine are the record as the model would be trained on it; reviewers fill in the last
five (see `review` for what each verdict does). `record_sha256` lets import notice a record that
changed after the sample was drawn.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from galen.data.record import Record
from galen.data.review import STORE, generator_of, read_store, record_sha256
from galen.errors import BadRequest
from galen.files import write_atomic

COLUMNS = [
    "id",
    "record_sha256",
    "source",
    "generator",
    "kind",
    "prompt",
    "reasoning",
    "answer",
    "gold",
    "verdict",
    "reviewer",
    "note",
    "edited_prompt",
    "edited_answer",
]
PENDING = Path("held") / "pending.jsonl"


@dataclass
class Sample:
    rows: list[dict[str, Any]]
    strata: dict[str, int]  # "source / generator" -> rows drawn
    available: dict[str, int]  # "source / generator" -> records not yet reviewed


def build_records(out: Path) -> list[Record]:
    """Every record of a build a reviewer may see: the kept shards, then those held back."""
    if not (out / "records").is_dir():
        raise BadRequest("dir", f"{out} has no records/; is it the output folder of `galen data build`?")
    files = [*sorted((out / "records").glob("*.jsonl")), out / PENDING]
    return [
        Record.model_validate_json(line)
        for f in files
        if f.is_file()
        for line in f.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def row_of(record: Record) -> dict[str, Any]:
    reply = record.reply()
    return {
        "id": record.id,
        "record_sha256": record_sha256(record),
        "source": record.source,
        "generator": generator_of(record),
        "kind": record.kind,
        "prompt": "\n\n".join(f"[{m.role}] {m.content}" for m in record.prompt()),
        "reasoning": (reply.reasoning or "") if reply else "",
        "answer": reply.content if reply else "",
        "gold": record.answer or "",
        **{k: "" for k in COLUMNS[9:]},
    }


def draw(
    records: list[Record], per_stratum: int, seed: int, sources: list[str] | None, skip: set[str]
) -> Sample:
    """Up to `per_stratum` unreviewed records from every (source, generator), in record order."""
    strata: dict[tuple[str, str], list[int]] = defaultdict(list)
    for k, record in enumerate(records):
        if record.id not in skip and (not sources or record.source in sources):
            strata[(record.source, generator_of(record))].append(k)
    rng = random.Random(seed)
    chosen: list[int] = []
    drawn = {}
    for key in sorted(strata):
        members = strata[key]
        picked = rng.sample(members, min(per_stratum, len(members)))
        chosen += picked
        drawn[" / ".join(key)] = len(picked)
    available = {" / ".join(key): len(members) for key, members in sorted(strata.items())}
    return Sample([row_of(records[k]) for k in sorted(chosen)], drawn, available)


def render(rows: list[dict[str, Any]], suffix: str) -> str:
    if suffix == ".jsonl":
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def export_sample(
    out: Path,
    target: Path,
    per_stratum: int = 20,
    seed: int = 0,
    sources: list[str] | None = None,
) -> Sample:
    """Write a stratified sample of the build in `out` to `target` (.csv or .jsonl)."""
    if target.suffix not in (".csv", ".jsonl"):
        raise BadRequest("output", f"{target}: write the sample as .csv or .jsonl")
    records = build_records(out)
    known = {r.source for r in records}
    unknown = [s for s in sources or [] if s not in known]
    if unknown:
        raise BadRequest(
            "source", f"no records of {', '.join(unknown)} in {out}; it has {', '.join(sorted(known))}"
        )
    sample = draw(records, per_stratum, seed, sources, set(read_store(out / STORE)))
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, render(sample.rows, target.suffix))
    return sample
