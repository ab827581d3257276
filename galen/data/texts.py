"""The text of a record (or benchmark item) that dedup and decontamination compare.

A structured item is compared as `item_text(question, options, context)`: the passage, the
question, then the option texts sorted, so reordering the options changes nothing. A chat without
a structured question is compared as the text of its prompt messages. The answer side is every
assistant message with its reasoning.

>>> item_text("Which drug?", {"A": "Metformin", "B": "Insulin"}, None)
'Which drug?\\nInsulin\\nMetformin'
"""

from __future__ import annotations

from galen.data.ngrams import words
from galen.data.record import Record


def item_text(question: str, options: dict[str, str], context: str | None) -> str:
    ordered = sorted(options.values(), key=lambda text: words(text))
    return "\n".join(part for part in (context, question, *ordered) if part)


def prompt_text(record: Record) -> str:
    if record.question is not None:
        return item_text(record.question, record.options, record.context)
    return "\n".join(m.content for m in record.prompt())


def answer_text(record: Record) -> str:
    parts = []
    for message in record.messages:
        if message.role == "assistant":
            parts += [message.reasoning or "", message.content]
    return "\n".join(part for part in parts if part)
