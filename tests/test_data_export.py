"""Exports for galen train: the fixed SFT and GRPO row formats, JSONL and Parquet alike."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from galen.data.export import grpo_row, sft_row, think_tags, write_exports
from galen.data.record import Message, Record
from galen.errors import BadRequest

BASE = dict(
    source="s",
    format="jsonl",
    revision="local",
    file="f.jsonl",
    file_sha256="0" * 64,
    split="train",
    row=0,
    licence="MIT",
)


def record(kind="choice", reasoning=None, reply='Explanation.\n\n{"answer": "B"}', **fields) -> Record:
    messages = [Message(role="system", content="Be brief."), Message(role="user", content="Q?\n\nA. x\nB. y")]
    if reply is not None:
        messages.append(Message(role="assistant", content=reply, reasoning=reasoning))
    defaults = {
        "choice": {"options": {"A": "x", "B": "y"}, "answer": "B"},
        "label": {"answer": "maybe"},
        "open": {},
    }
    return Record(
        id=f"s:{kind}", source_id="1", kind=kind, messages=messages, **BASE, **{**defaults[kind], **fields}
    )


def test_sft_row_puts_reasoning_in_think_tags():
    row = sft_row(record(reasoning="Compare x and y."), think_tags())
    assert row == {
        "id": "s:choice",
        "source": "s",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Q?\n\nA. x\nB. y"},
            {
                "role": "assistant",
                "content": '<think>\nCompare x and y.\n</think>\n\nExplanation.\n\n{"answer": "B"}',
            },
        ],
    }
    custom = sft_row(record(reasoning="r"), think_tags("<reasoning>", "</reasoning>"))
    assert custom["messages"][-1]["content"].startswith("<reasoning>\nr\n</reasoning>\n\n")
    assert sft_row(record(reasoning=None), think_tags())["messages"][-1]["content"].startswith("Explanation.")
    assert sft_row(record(reply=None), think_tags()) is None


def test_think_tags_from_a_model_family():
    assert think_tags(family="qwen3.6").open == "<think>"
    with pytest.raises(BadRequest, match="export.family"):
        think_tags(family="chatml")


def test_grpo_rows_per_kind():
    row = grpo_row(record())
    assert row == {
        "id": "s:choice",
        "source": "s",
        "prompt": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Q?\n\nA. x\nB. y"},
        ],
        "answer": "B",
        "kind": "choice",
        "choices": ["A", "B"],
    }
    label = grpo_row(record("label"))
    assert (label["answer"], label["kind"], label["choices"]) == ("maybe", "label", ["yes", "no", "maybe"])
    opened = grpo_row(record("open", reply="Rest and fluids."))
    assert (opened["answer"], opened["choices"]) == ("Rest and fluids.", [])
    assert grpo_row(record("open", reply=None)) is None


def test_jsonl_and_parquet_hold_the_same_rows(tmp_path):
    records = [record(), record("label", reasoning="why"), record("open", reply=None)]
    counts = write_exports(records, tmp_path, think_tags())
    assert counts == {
        "export/sft.jsonl": 3 - 1,
        "export/sft.parquet": 2,
        "export/grpo.jsonl": 2,
        "export/grpo.parquet": 2,
    }
    for kind in ("sft", "grpo"):
        jsonl = [
            json.loads(line) for line in (tmp_path / "export" / f"{kind}.jsonl").read_text().splitlines()
        ]
        assert pq.read_table(tmp_path / "export" / f"{kind}.parquet").to_pylist() == jsonl
