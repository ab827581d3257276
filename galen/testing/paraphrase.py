"""Paraphrased copies and look-alikes that mean something else, for near-dedup tests and benchmark.

`paraphrase()` makes the copy a careless corpus holds of an item it already has: a few phrases
swapped for synonyms, two sentences of the question in the other order, the options shuffled,
the case and spacing changed. `variant()` makes a different item that looks the same: one number
changed ("type 1" -> "type 2", an age, a lab value) or one single letter ("hepatitis B" -> "C").
Near dedup must drop the first and keep the second. Every phrase here was written for galen.

`as_records()` turns `galen.testing.synthetic` items into `Record`s as the jsonl adapter reads
them, so that dedup sees what a build sees.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from galen.data.record import Record
from galen.data.sources.base import Origin, SourceFile
from galen.data.sources.jsonl import convert

SYNONYMS = [
    ("comes to the physician", "visits her doctor"),
    ("is brought to the emergency department", "is taken to the emergency room"),
    ("is seen in the outpatient clinic", "attends the outpatient clinic"),
    ("presents to urgent care", "attends urgent care"),
    ("because of", "with"),
    ("history of", "story of"),
    ("Which of the following is the most likely", "What is the most probable"),
    ("Which of the following is the most appropriate", "What is the best"),
    ("Examination shows", "On examination there are"),
    ("There is no relevant family history.", "Family history is unremarkable."),
    ("Auscultation reveals", "On auscultation there are"),
    ("which finding best supports", "what finding most strongly suggests"),
    ("In a patient with", "For someone who has"),
    ("Is it safe to take", "Can I safely take"),
    ("How long does", "For how long does"),
    ("usually last", "typically last"),
    ("When should I see a doctor about", "At what point should I get medical help for"),
    ("What foods should I avoid", "Which foods are best avoided"),
    ("compared with usual care", "relative to usual care"),
    ("We enrolled", "The study enrolled"),
    ("The primary outcome was", "The main outcome measured was"),
    ("better than the other choices", "more closely than the other options"),
]
NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")
LETTER = re.compile(r"\b([B-DF-HJ-NP-TV-Z])\b")  # a capital consonant standing alone ("hepatitis B")


def _swap_sentences(text: str, rng: random.Random) -> str:
    sentences = re.split(r"(?<=\.)\s+", text)
    if len(sentences) < 4:
        return text
    k = rng.randrange(1, len(sentences) - 2)  # keep the opening sentence and the question stem
    sentences[k], sentences[k + 1] = sentences[k + 1], sentences[k]
    return " ".join(sentences)


def paraphrase(item: dict[str, Any], rng: random.Random, changes: int = 2) -> dict[str, Any]:
    """A paraphrase-level copy of a synthetic item (same answer, same numbers and letters)."""
    question = _swap_sentences(item["question"], rng)
    found = [(a, b) for a, b in SYNONYMS if a in question]
    for a, b in rng.sample(found, min(changes, len(found))):
        question = question.replace(a, b, 1)
    if rng.random() < 0.5:
        question = question.lower()
    options = dict(item["options"])
    answer = item["answer"]
    if options:
        texts = list(options.items())
        rng.shuffle(texts)
        letters = list(options)
        options = {letters[k]: text for k, (_, text) in enumerate(texts)}
        answer = letters[[old for old, _ in texts].index(item["answer"])]
    return {**item, "question": "  ".join(question.split()), "options": options, "answer": answer}


def variant(item: dict[str, Any], rng: random.Random) -> dict[str, Any] | None:
    """The item with one number (or else one standalone letter) changed; None if it has neither."""
    question = item["question"]
    numbers = list(NUMBER.finditer(question))
    if numbers:
        m = rng.choice(numbers)
        value = m.group(0)
        changed = str(int(value) + 1) if value.isdigit() else f"{float(value) + 0.5:g}"
        return {**item, "question": question[: m.start()] + changed + question[m.end() :]}
    letters = list(LETTER.finditer(question))
    if letters:
        m = rng.choice(letters)
        other = "C" if m.group(1) != "C" else "D"
        return {**item, "question": question[: m.start()] + other + question[m.end() :]}
    return None


def as_records(items: Iterable[dict[str, Any]], source: str = "synthetic") -> list[Record]:
    """Synthetic items as the jsonl adapter would read them from a file named `source`.jsonl."""
    file = SourceFile(Path(f"{source}.jsonl"), f"{source}.jsonl", "0" * 64, "local")
    records = []
    for row, item in enumerate(items):
        at = Origin(source, "jsonl", "train", "synthetic", file, row, source)
        records.append(convert({k: v for k, v in item.items() if v is not None}, at))
    return records
