"""Exports for `galen train`: TRL-ready JSONL, and Parquet twins, under <out>/export/.

FORMAT (fixed: galen train reads it; change it only together with galen train)

`sft.jsonl` / `sft.parquet`, one row per record whose chat ends with an assistant answer:

    {"id": str, "source": str,
     "messages": [{"role": "system", "content": str},       # only when the record has one
                  {"role": "user", "content": str},
                  {"role": "assistant", "content": str}]}

  An assistant message with reasoning is written "<think>\\n{reasoning}\\n</think>\\n\\n{answer}";
  the tags come from the recipe (`export.think_open` / `think_close`, or `export.family`, a model
  family in galen/models); the default is <think> / </think>.

`grpo.jsonl` / `grpo.parquet`, one row per record with something to reward against:

    {"id": str, "source": str,
     "prompt": [{"role": "user", "content": str}],          # a system message first, if any
     "answer": str, "kind": "choice" | "label" | "open", "choices": [str, ...]}

  choice: answer is the gold letter and choices the option letters ("A", "B", ...);
  label: answer is "yes", "no" or "maybe" and choices those three;
  open: answer is the reference answer text and choices is empty (open items without one are left
  out). A reward reads a completion with galen.evals.extract_choice(text, choices) or
  extract_label(text, choices), the same extractors galen eval scores with.

A multiple-choice user message is galen eval's "galen" preset prompt (galen_choice_prompt), so a
model is trained on the prompt it is scored on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from galen.data.record import Message, Record
from galen.models.profile import ThinkTags

SFT = "sft"
GRPO = "grpo"


def think_tags(
    open_tag: str = "<think>", close_tag: str = "</think>", family: str | None = None
) -> ThinkTags:
    """The tags around reasoning: a model family's (galen/models/families.py) or the given ones."""
    if family:
        from galen.models.families import get_family

        tags = get_family(family).think
        if tags is None:
            from galen.errors import BadRequest

            raise BadRequest("export.family", f"model family {family!r} has no think tags")
        return tags
    return ThinkTags(open=open_tag, close=close_tag)


def chat_content(message: Message, tags: ThinkTags) -> str:
    """An assistant message as trained on: its reasoning in think tags, then the answer."""
    if message.role == "assistant" and message.reasoning:
        return f"{tags.open}\n{message.reasoning.strip()}\n{tags.close}\n\n{message.content}"
    return message.content


def sft_row(record: Record, tags: ThinkTags) -> dict[str, Any] | None:
    if record.reply() is None:
        return None
    messages = [{"role": m.role, "content": chat_content(m, tags)} for m in record.messages]
    return {"id": record.id, "source": record.source, "messages": messages}


def grpo_row(record: Record) -> dict[str, Any] | None:
    prompt = [{"role": m.role, "content": m.content} for m in record.prompt()]
    if record.labelled:
        answer = record.answer
    else:
        reply = record.reply()
        if reply is None or not reply.content.strip():
            return None
        answer = reply.content
    return {
        "id": record.id,
        "source": record.source,
        "prompt": prompt,
        "answer": answer,
        "kind": record.kind,
        "choices": record.choices,
    }


def _parquet(rows: list[dict[str, Any]], path: Path, kind: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    chat = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
    fields = [("id", pa.string()), ("source", pa.string())]
    if kind == SFT:
        fields.append(("messages", chat))
    else:
        fields += [
            ("prompt", chat),
            ("answer", pa.string()),
            ("kind", pa.string()),
            ("choices", pa.list_(pa.string())),
        ]
    table = pa.Table.from_pylist(rows, schema=pa.schema(fields))
    pq.write_table(table, path, compression="zstd")


def write_jsonl(rows: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_exports(records: list[Record], out: Path, tags: ThinkTags, parquet: bool = True) -> dict[str, int]:
    """Write <out>/export/{sft,grpo}.jsonl (and .parquet); returns the rows written per file."""
    folder = out / "export"
    folder.mkdir(parents=True, exist_ok=True)
    tables = {
        SFT: [row for r in records if (row := sft_row(r, tags))],
        GRPO: [row for r in records if (row := grpo_row(r))],
    }
    counts = {}
    for kind, rows in tables.items():
        write_jsonl(rows, folder / f"{kind}.jsonl")
        counts[f"export/{kind}.jsonl"] = len(rows)
        if parquet:
            _parquet(rows, folder / f"{kind}.parquet", kind)
            counts[f"export/{kind}.parquet"] = len(rows)
    return counts
