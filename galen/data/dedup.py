"""Exact deduplication: one record per (normalised prompt, normalised answer, gold label).

Text is normalised as decontamination reads it (`ngrams.words`: case, spacing and punctuation do
not count) and a structured item's options are compared as a set (`texts.item_text`), so the same
question with its options shuffled is a duplicate. The first record, in recipe and file order,
is kept; each dropped one is listed with the id of the record it duplicates.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from galen.data.ngrams import words
from galen.data.record import Record
from galen.data.texts import answer_text, prompt_text


@dataclass(frozen=True)
class Duplicate:
    id: str
    source: str
    duplicate_of: str


def dedup_key(record: Record) -> str:
    blob = json.dumps([words(prompt_text(record)), words(answer_text(record)), record.answer])
    return hashlib.sha256(blob.encode()).hexdigest()


def deduplicate(records: list[Record]) -> tuple[list[Record], list[Duplicate]]:
    """The records without later copies, and what was dropped."""
    first: dict[str, str] = {}
    kept, dropped = [], []
    for record in records:
        key = dedup_key(record)
        if key in first:
            dropped.append(Duplicate(record.id, record.source, first[key]))
        else:
            first[key] = record.id
            kept.append(record)
    return kept, dropped
