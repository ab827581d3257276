"""Exact deduplication: one record per (normalised prompt, normalised answer, gold label).

Text is normalised by `tokens`: lower case, punctuation and spacing ignored, but every word kept,
single letters and digits included, so "type 1 diabetes" and "type 2 diabetes", or "hepatitis B"
and "hepatitis C", stay two records. (Decontamination reads text as `ngrams.words`, which drops
one-character words so that option labels never hide a leak; for dedup that would merge items
that differ in meaning.) A structured item's options are compared as a set
(`texts.item_text`), so the same question with its options shuffled is a duplicate. The first
record, in recipe and file order, is kept; each dropped one is listed with the id of the record it
duplicates. Near duplicates (paraphrases) are `near_dedup`'s job.

>>> tokens("Type 1 diabetes, (B) HbA1c 7.5%")
['type', '1', 'diabetes', 'b', 'hba1c', '7', '5']
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from galen.data.record import Record
from galen.data.texts import answer_text, prompt_text

TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class Duplicate:
    id: str
    source: str
    duplicate_of: str


def tokens(text: str) -> list[str]:
    """The words of `text` as dedup compares them: lower case, every run of letters or digits."""
    return TOKEN.findall(text.lower())


def dedup_key(record: Record) -> str:
    blob = json.dumps([tokens(prompt_text(record)), tokens(answer_text(record)), record.answer])
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
