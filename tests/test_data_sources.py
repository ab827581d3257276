"""Source adapters: each reads our sample in its upstream format into valid records, prompts
the way galen eval scores, and names the file and row of a bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from galen.data.build import read_source
from galen.data.recipe import parse_recipe
from galen.data.sources import ADAPTERS
from galen.data.sources.base import SAMPLES
from galen.errors import BadRequest
from galen.evals.task import Sample
from galen.evals.tasks.common import galen_choice_prompt
from galen.evals.tasks.pubmedqa import prompt as pubmedqa_prompt


def read(tmp_path: Path, **source):
    recipe = parse_recipe({"name": "t", "sources": [source]}, tmp_path)
    return read_source(0, recipe.sources[0], recipe)


@pytest.mark.parametrize("name", sorted(set(ADAPTERS) - {"synth"}))  # synth: tests/test_data_synth.py
def test_every_adapter_reads_its_sample(tmp_path, name):
    result = read(tmp_path, format=name)
    assert result.records and result.rows == len(result.records) + sum(result.skipped.values())
    for record in result.records:
        assert record.format == name and record.revision == "sample" and len(record.file_sha256) == 64
        assert record.licence == ADAPTERS[name].licence and record.split == "train"
        assert record.id == f"{name}:{record.row}"


def test_choice_prompt_is_the_eval_prompt_and_the_answer_is_in_the_cards_format(tmp_path):
    record = read(tmp_path, format="medqa").records[0]
    sample = Sample(id="x", question=record.question, answer=record.answer, options=record.options)
    assert record.messages[0].content == galen_choice_prompt(sample)[0]["content"]
    assert record.messages[-1].content == '{"answer": "B"}' and record.kind == "choice"


def test_medmcqa_writes_its_explanation_before_the_answer(tmp_path):
    record = read(tmp_path, format="medmcqa").records[0]
    assert record.answer == "B" and record.source_id == "10000000-5b2c-4d1e-9a00-000000000000"
    assert record.messages[-1].content.endswith('\n\n{"answer": "B"}')
    assert record.messages[-1].content.startswith("Most gastrointestinal carcinoids")


def test_pubmedqa_reads_the_pmid_map_with_the_eval_prompt(tmp_path):
    record = read(tmp_path, format="pubmedqa").records[0]
    sample = Sample(id="x", question=record.question, answer=record.answer, context=record.context)
    assert record.kind == "label" and record.answer == "yes" and record.source_id == "91000001"
    assert record.messages[0].content == pubmedqa_prompt(sample, "galen")[0]["content"]


def test_medexpqa_letters_the_numbered_options_and_drops_empty_ones(tmp_path):
    records = read(tmp_path, format="medexpqa").records
    assert list(records[0].options) == ["A", "B", "C", "D"]  # "5": null
    assert records[0].answer == "B" and records[0].options["B"].startswith("Admit")
    assert list(records[1].options) == ["A", "B", "C", "D", "E"]


def test_afrimedqa_choice_open_and_skipped_rows(tmp_path):
    result = read(tmp_path, format="afrimedqa")
    assert dict(result.skipped) == {"multiple correct answers": 1}
    kinds = [r.kind for r in result.records]
    assert kinds == ["choice", "choice", "open", "open"]
    assert result.records[0].options == {
        "A": "Blood film for malaria parasites and blood glucose",
        "B": "Stool microscopy",
        "C": "Chest x-ray",
        "D": "Urine culture",
    }
    assert result.records[3].reply().content.startswith("Use packaged ORS")


def test_healthsearchqa_questions_have_no_answer(tmp_path):
    record = read(tmp_path, format="healthsearchqa").records[0]
    assert record.kind == "open" and record.reply() is None and record.source_id == "1"


def test_liveqa_reads_the_hub_parquet_layout(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [json.loads(line) for line in (SAMPLES / "liveqa.jsonl").open()]
    (tmp_path / "liveqa" / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "liveqa" / "data" / "train-00000.parquet")
    result = read(tmp_path, format="liveqa", path="liveqa")
    assert len(result.records) == 3 and result.files[0].shown == "data/train-00000.parquet"
    assert result.records[0].messages[0].content.startswith("How long")  # the subject says nothing more
    assert (
        result.records[2].messages[0].content == "gout and diet\nwhich foods make gout attacks more likely?"
    )
    assert result.records[0].revision == "local"


def test_chat_formats_keep_reasoning_apart(tmp_path):
    records = read(tmp_path, format="messages").records
    assert records[0].messages[0].role == "system"
    assert records[0].reply().reasoning.startswith("LDL clearance")
    assert (
        records[1].reply().reasoning.startswith("Guidelines list")
        and "<think>" not in records[1].reply().content
    )
    assert records[2].kind == "choice" and records[2].answer == "B"
    shared = read(tmp_path, format="sharegpt").records
    assert [m.role for m in shared[1].messages] == ["system", "user", "assistant"]


def test_generic_rows_with_renamed_columns(tmp_path):
    rows = [
        {"prompt": "Is sleep duration linked to blood pressure?", "label": "maybe", "passage": "A cohort."}
    ]
    (tmp_path / "mine.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    columns = {"question": "prompt", "answer": "label", "context": "passage"}
    record = read(tmp_path, format="jsonl", path="mine.jsonl", columns=columns).records[0]
    assert record.kind == "label" and record.answer == "maybe" and record.context == "A cohort."


def test_a_bad_row_names_the_source_file_and_row(tmp_path):
    (tmp_path / "bad.jsonl").write_text(
        json.dumps({"question": "q?", "options": {"A": "x", "B": "y"}, "answer_idx": "A"})
        + "\n"
        + json.dumps({"question": "q?", "answer_idx": "A"})
        + "\n"
    )
    with pytest.raises(BadRequest) as caught:
        read(tmp_path, format="medqa", path="bad.jsonl")
    assert caught.value.param == "sources[0]"
    assert "bad.jsonl row 1" in caught.value.message and "options" in caught.value.message


def test_a_gold_answer_outside_the_options_is_named(tmp_path):
    (tmp_path / "bad.jsonl").write_text(json.dumps({"question": "q", "options": ["x", "y"], "answer": "C"}))
    with pytest.raises(BadRequest, match=r"bad.jsonl row 0: .*'C'"):
        read(tmp_path, format="jsonl", path="bad.jsonl")


def test_a_bad_chat_turn_is_named(tmp_path):
    (tmp_path / "chat.jsonl").write_text(json.dumps({"messages": [{"role": "doctor", "content": "hi"}]}))
    with pytest.raises(BadRequest, match=r"messages\[0\]\.role 'doctor'"):
        read(tmp_path, format="messages", path="chat.jsonl")


def test_missing_file_and_unpinned_hub_revision_are_clear(tmp_path):
    with pytest.raises(BadRequest) as caught:
        read(tmp_path, format="medqa", path="nowhere.jsonl")
    assert caught.value.param == "sources[0].path" and "nowhere.jsonl" in caught.value.message
    with pytest.raises(BadRequest, match=r"hf://intronhealth/afrimedqa_v2@<commit>"):
        read(tmp_path, format="afrimedqa", path="hub")


def test_limit_reads_the_first_rows(tmp_path):
    result = read(tmp_path, format="medqa", limit=2)
    assert [r.row for r in result.records] == [0, 1]
