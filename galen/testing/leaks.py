"""Planted leaks: benchmark items changed as a careless corpus would change them.

Case and spacing, options reordered, a sentence added, or a few words changed: the kinds of copy
that decontamination must still catch (tests/test_data_decontam.py, benchmarks/decontam.py).
"""

from __future__ import annotations

import random

from galen.data.texts import item_text
from galen.evals.task import Sample

ADDED = [
    "The patient was reviewed again by the ward team the next morning.",
    "Answer as you would in an examination.",
    "She is otherwise well and takes no regular medicines.",
]
REPLACEMENTS = ["quorpal", "mivelant", "zantic", "brellow", "toskary"]
KINDS = ("case", "reorder", "sentence", "words")


def perturb(sample: Sample, kind: str, rng: random.Random) -> str:
    """A leaked copy of `sample`, changed in one way, as the comparable text of a training item."""
    question, options, context = sample.question, dict(sample.options), sample.context
    if kind == "case":
        question = "  ".join(question.upper().split())
        options = {k: f" {v.lower()} " for k, v in options.items()}
    elif kind == "reorder":
        texts = list(options.values())
        rng.shuffle(texts)
        options = dict(zip(options, texts, strict=True))
    elif kind == "sentence":
        added = rng.choice(ADDED)
        question = f"{added} {question}" if rng.random() < 0.5 else f"{question} {added}"
    elif kind == "words":  # about one word in 25, at least one
        tokens = question.split()
        for _ in range(max(1, round(len(tokens) / 25))):
            tokens[rng.randrange(len(tokens))] = rng.choice(REPLACEMENTS)
        question = " ".join(tokens)
    return item_text(question, options, context)
