"""The one record type of `galen data`: a training item, where it came from, and how it was made.

Every adapter in `data/sources/` turns an upstream row into a `Record`; every later stage (dedup,
decontamination, export, distillation) reads and writes `Record`s. A shard line is
`record.model_dump_json()`, so a record can always be traced back to a file, its sha256 and a row.

    {"id": "medqa-train:17", "source": "medqa-train", "format": "medqa",
     "revision": "local", "file": "train.jsonl", "file_sha256": "5f1c...", "split": "train",
     "row": 17, "source_id": "17", "licence": "MIT", "kind": "choice",
     "question": "A 24-year-old woman ...", "options": {"A": "...", "B": "..."}, "context": null,
     "answer": "C",
     "messages": [{"role": "user", "content": "A 24-year-old woman ...\\n\\nA. ...", "reasoning": null},
                  {"role": "assistant", "content": "{\\"answer\\": \\"C\\"}", "reasoning": null}],
     "generation": null, "metadata": {"meta_info": "step1"}}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

TaskKind = Literal["choice", "label", "open"]
LABELS = ("yes", "no", "maybe")


class Message(BaseModel):
    """One chat turn. reasoning: the thinking before an assistant answer, kept apart from it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str
    reasoning: str | None = None


class Generation(BaseModel):
    """How a generated answer or item was made (distill, synth), enough to make it again or audit it.

    teacher: the model id the endpoint reported; endpoint: the base URL that answered.
    prompt_sha256: sha256 of the JSON of the messages sent. sampling: every decoding setting.
    tries: the attempt that was kept (1 = first). finish_reason: the endpoint's, for that attempt.
    Synthetic items only: generator (guideline_qa, mcq, vignette), template_sha256 (the prompt
    file's), chunk_id (the guideline chunk it was made from), check (the verdict that accepted it),
    reply_format ("json_schema" when the reply was constrained to a schema, "text" when it was
    read from labelled lines) and schema_sha256 (that schema's, `galen.data.synth_schemas`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    teacher: str
    endpoint: str
    prompt_sha256: str
    sampling: dict[str, Any]
    tries: int = Field(ge=1)
    finish_reason: str
    generator: str | None = None
    template_sha256: str | None = None
    chunk_id: str | None = None
    check: dict[str, Any] | None = None
    reply_format: Literal["json_schema", "text"] | None = None
    schema_sha256: str | None = None


class Record(BaseModel):
    """A training item with its provenance (see the module docstring for a full example).

    id: unique in a corpus, "<source>:<row>". source: the recipe's name for the source; format:
    the adapter that read it. revision: the hub commit, "local" or "sample". file, file_sha256,
    split, row: the file read, its hash, the split it was read as and the 0-based row in it.
    source_id: the upstream id (or the row when the upstream has none). kind: "choice" (answer is
    an option letter), "label" (yes / no / maybe) or "open" (no gold label). question, options,
    context: the item as the source states it, when it is structured. answer: the gold letter or
    label; None for open items. messages: the chat as it would be trained on. generation: set on
    generated answers only.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    source: str
    format: str
    revision: str
    file: str
    file_sha256: str
    split: str
    row: int = Field(ge=0)
    source_id: str
    licence: str
    kind: TaskKind
    question: str | None = None
    options: dict[str, str] = Field(default_factory=dict)
    context: str | None = None
    answer: str | None = None
    messages: list[Message] = Field(min_length=1)
    generation: Generation | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Record:
        if not any(m.role == "user" for m in self.messages):
            raise ValueError("messages: needs at least one user message")
        if self.kind == "choice":
            if not self.options:
                raise ValueError("options: a choice item needs its options")
            if self.answer not in self.options:
                raise ValueError(
                    f"answer: {self.answer!r} is not one of the options {', '.join(self.options)}"
                )
        elif self.kind == "label" and self.answer not in LABELS:
            raise ValueError(f"answer: a label item's answer must be yes, no or maybe, not {self.answer!r}")
        elif self.kind == "open" and self.answer is not None:
            raise ValueError("answer: an open item has no gold label; its reference answer is a message")
        return self

    @property
    def labelled(self) -> bool:
        """Has a gold answer that an extracted answer can be checked against."""
        return self.kind in ("choice", "label")

    @property
    def choices(self) -> list[str]:
        """What an answer extractor may return: option letters, the labels, or nothing (open)."""
        if self.kind == "choice":
            return list(self.options)
        return list(LABELS) if self.kind == "label" else []

    def prompt(self) -> list[Message]:
        """The messages a model answers: all but a final assistant message."""
        return self.messages[:-1] if self.reply() else self.messages

    def reply(self) -> Message | None:
        """The final assistant message, if the chat ends with one."""
        last = self.messages[-1]
        return last if last.role == "assistant" else None
