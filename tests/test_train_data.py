"""The shipped training corpus and the reading of `galen data` exports."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from galen.errors import BadRequest
from galen.models.profile import ThinkTags
from galen.train.data import grpo_dataset, load_training_data, locate, sample_folder, sft_dataset

SAMPLES = sample_folder()
EVAL_SAMPLES = Path(__file__).resolve().parents[1] / "galen" / "evals" / "samples"


def test_sample_corpus_is_a_data_build_folder():
    sft = load_training_data("sample", "sft")
    grpo = load_training_data("sample", "grpo")
    assert len(sft.rows) == len(grpo.rows) == 36
    assert sft.manifest == SAMPLES / "manifest.json" and sft.manifest_sha256
    manifest = json.loads(sft.manifest.read_text())
    assert manifest["files"]["export/sft.jsonl"]["sha256"] == sft.sha256
    for row in sft.rows:
        assistant = row["messages"][-1]["content"]
        assert re.fullmatch(r'<think>\n.+\n</think>\n\n\{"answer": "([A-D]|yes|no|maybe)"\}', assistant, re.S)
    kinds = {r["kind"] for r in grpo.rows}
    assert kinds == {"choice", "label"}
    letters = [r["answer"] for r in grpo.rows if r["kind"] == "choice"]
    assert {letters.count(x) for x in "ABCD"} == {6}  # no "always B" shortcut
    assert (SAMPLES / "export" / "sft.parquet").is_file() and (SAMPLES / "export" / "grpo.parquet").is_file()


def test_build_script_reproduces_the_corpus(tmp_path):
    script = Path(__file__).parent / "samples" / "build_train_sample.py"
    subprocess.run([sys.executable, str(script), str(tmp_path)], check=True, timeout=60)
    for name in ("export/sft.jsonl", "export/grpo.jsonl", "manifest.json"):
        assert (tmp_path / name).read_text() == (SAMPLES / name).read_text(), name


def _shingles(text: str, n: int = 8) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def test_training_items_do_not_repeat_eval_samples():
    train = set()
    for row in load_training_data("sample", "grpo").rows:
        train |= _shingles(row["prompt"][0]["content"].split("\n\n")[0])
    eval_text = " ".join(p.read_text() for p in EVAL_SAMPLES.rglob("*") if p.suffix in (".jsonl", ".json"))
    assert not train & _shingles(eval_text)


def test_files_and_formats(tmp_path):
    file, manifest = locate("sample", "grpo")
    assert file == SAMPLES / "export" / "grpo.jsonl" and manifest is not None
    parquet = load_training_data(str(SAMPLES / "export" / "sft.parquet"), "sft", limit=5)
    assert len(parquet.rows) == 5 and parquet.rows[0]["messages"][-1]["role"] == "assistant"
    assert parquet.manifest == SAMPLES / "manifest.json"  # a build's file finds the build's manifest
    dataset = sft_dataset(parquet)
    assert dataset[0]["prompt"][-1]["role"] == "user" and dataset[0]["completion"][0]["role"] == "assistant"
    bare = tmp_path / "sft.jsonl"
    bare.write_text(
        json.dumps(
            {"id": "b", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "A"}]}
        )
    )
    # a template that opens <think> in its prompt gets answers without reasoning behind an empty block
    assert sft_dataset(load_training_data(str(bare), "sft"), ThinkTags())[0]["completion"][0]["content"] == (
        "<think>\n\n</think>\n\nA"
    )
    thought = sft_dataset(parquet, ThinkTags())[0]["completion"][0]["content"]
    assert thought == parquet.rows[0]["messages"][-1]["content"]  # reasoning already there: unchanged
    prompts = grpo_dataset(load_training_data("sample", "grpo", limit=3))
    assert set(prompts.column_names) >= {"prompt", "answer", "kind", "choices"}


def test_bad_rows_are_named(tmp_path):
    bad = tmp_path / "grpo.jsonl"
    bad.write_text(
        json.dumps(
            {"id": "ok", "prompt": [{"role": "user", "content": "q"}], "answer": "A", "kind": "choice"}
        )
        + "\n"
        + json.dumps(
            {"id": "r2", "prompt": [{"role": "user", "content": "q"}], "answer": "A", "kind": "essay"}
        )
        + "\n"
    )
    with pytest.raises(BadRequest, match=r"row 2 \(r2\): kind: 'essay'"):
        load_training_data(str(bad), "grpo")
    with pytest.raises(BadRequest, match="row 1 .ok.: messages: must be a non-empty list"):
        load_training_data(str(bad), "sft")
    unanswered = tmp_path / "sft.jsonl"
    unanswered.write_text(json.dumps({"id": "u", "messages": [{"role": "user", "content": "q"}]}) + "\n")
    with pytest.raises(BadRequest, match="last message must be the assistant's"):
        load_training_data(str(unanswered), "sft")
    with pytest.raises(BadRequest, match="no export/sft.jsonl"):
        load_training_data(str(tmp_path / ".."), "sft")
    with pytest.raises(BadRequest, match="no such file"):
        load_training_data("nowhere/at/all", "sft")
