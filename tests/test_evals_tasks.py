"""Benchmark tasks: every task loads from its bundled sample, prompts under both presets, and reads
the real benchmark files (when ../shared/benchmarks is present) with their published row counts.

No model is loaded here; these tests only read files.
"""

from __future__ import annotations

import importlib
import json
from collections import Counter
from pathlib import Path

import pytest

from galen.errors import BadRequest
from galen.evals import tasks
from galen.evals.loading import SAMPLES, check_count, read_records, resolve_data
from galen.evals.task import TASKS, Sample, Task
from galen.evals.tasks import get_task
from galen.evals.tasks.common import CHOICE_INSTRUCTION
from galen.evals.tasks.mmlu import SUBJECTS

BENCHMARKS = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks"
needs_benchmarks = pytest.mark.skipif(
    not BENCHMARKS.is_dir(), reason=f"real benchmark files not present at {BENCHMARKS}"
)
EXPECTED = {
    "medqa",
    "medmcqa",
    "pubmedqa",
    "mmlu_pro_biology",
    "mmlu_pro_health",
    "mmlu_prox_biology",
    "medxpertqa",
    "mmlu_anatomy",
    "mmlu_clinical_knowledge",
    "mmlu_college_biology",
    "mmlu_college_medicine",
    "mmlu_medical_genetics",
    "mmlu_professional_medicine",
}
NO_PIN = {"mmlu_prox_biology"} | {f"mmlu_{subject}" for subject in SUBJECTS}  # no checked commit yet
COT_LEAD = "Answer: Let's think step by step."


def module(name: str):
    """The task module itself (the package re-exports a function under the same name)."""
    return importlib.import_module(f"galen.evals.tasks.{name}")


def assert_messages(messages: list[dict]) -> None:
    assert messages and messages[-1]["role"] == "user"
    for m in messages:
        assert m["role"] in ("system", "user") and isinstance(m["content"], str) and m["content"].strip()


# ------------------------------------------------------------------------------------- registry


def test_every_task_is_registered_and_exported() -> None:
    assert EXPECTED <= set(TASKS)
    assert set(tasks.__all__) == EXPECTED | {"get_task", "load_tasks", "custom_task", "GROUPS"}
    for name in EXPECTED:
        assert getattr(tasks, name) is TASKS[name]
        assert (TASKS[name].__doc__ or "").strip(), f"{name} needs a docstring for `galen eval tasks`"


def test_unknown_task_names_the_known_ones() -> None:
    with pytest.raises(BadRequest, match="medqa"):
        get_task("medqa_5options")


# --------------------------------------------------------------------------- bundled samples


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_task_loads_from_its_bundled_sample(name: str) -> None:
    task = get_task(name)
    assert isinstance(task, Task) and task.samples
    assert task.source.startswith("sample:") and "sha256:" in task.source
    assert len({s.id for s in task.samples}) == len(task.samples), "ids must be unique"
    for s in task.samples:
        assert s.question.strip()
        assert s.answer in task.choices_for(s)
        if task.kind == "choice":
            assert len(s.options) >= 2 and all(text.strip() for text in s.options.values())
            assert list(s.options) == list("ABCDEFGHIJ"[: len(s.options)])
        else:
            assert s.context and not s.options
    for key in task.subgroups:
        assert any(key in s.metadata for s in task.samples), f"subgroup {key} never set"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_prompts_render_for_both_presets(name: str) -> None:
    task = get_task(name)
    for sample in task.samples:
        galen = task.prompt(sample, "galen")
        assert_messages(galen)
        assert sample.question in galen[-1]["content"]
        if task.kind == "choice":
            assert galen[-1]["content"].endswith(CHOICE_INSTRUCTION)
            assert all(f"{k}. {v}" in galen[-1]["content"] for k, v in sample.options.items())
        assert_messages(task.prompt(sample, "lm-eval"))
    with pytest.raises(BadRequest) as err:
        task.prompt(task.samples[0], "openai-simple-evals")
    assert err.value.param == "preset"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_limit_takes_the_first_items_in_file_order(name: str) -> None:
    full, first = get_task(name), get_task(name, limit=2)
    assert [s.id for s in first.samples] == [s.id for s in full.samples[:2]]
    assert [s.id for s in get_task(name, seed=7).samples] == [s.id for s in full.samples]
    with pytest.raises(BadRequest) as err:
        get_task(name, limit=0)
    assert err.value.param == "limit"


def test_galen_prompt_shape() -> None:
    sample = get_task("medqa").samples[0]
    text = module("medqa").prompt(sample, "galen")[0]["content"]
    options = "\n".join(f"{k}. {v}" for k, v in sample.options.items())
    assert text == f"{sample.question}\n\n{options}\n\n{CHOICE_INSTRUCTION}"
    assert CHOICE_INSTRUCTION == (
        'Please show your choice in the answer field with only the choice letter, e.g., "answer": "C".'
    )


def test_lm_eval_wordings() -> None:
    medqa = get_task("medqa").samples[0]
    text = module("medqa").prompt(medqa, "lm-eval")[0]["content"]
    assert text.startswith(f"Question: {medqa.question}\nA. ") and text.endswith("\nAnswer:")
    medmcqa = get_task("medmcqa").samples[0]
    text = module("medmcqa").prompt(medmcqa, "lm-eval")[0]["content"]
    assert text.startswith(f"Question: {medmcqa.question}\nChoices:\nA. ") and text.endswith("\nAnswer:")
    pub = get_task("pubmedqa").samples[0]
    assert module("pubmedqa").prompt(pub, "lm-eval")[0]["content"] == (
        f"Abstract: {pub.context}\nQuestion: {pub.question}\nAnswer:"
    )


def test_pubmedqa_reads_the_official_test_ids_only() -> None:
    task = get_task("pubmedqa")
    truth = json.loads((SAMPLES / "pubmedqa" / "test_ground_truth.json").read_text())
    assert [s.id for s in task.samples] == list(truth)
    assert {s.answer for s in task.samples} == {"yes", "no", "maybe"}
    assert task.kind == "label" and task.labels == ("yes", "no", "maybe")
    assert task.metrics == ("accuracy", "macro_f1")
    text = task.prompt(task.samples[0], "galen")[0]["content"]
    assert text.startswith(task.samples[0].context)
    assert text.endswith('Answer with yes, no or maybe, e.g., "answer": "yes".')


def test_pubmedqa_folder_without_ground_truth_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "ori_pqal.json").write_text((SAMPLES / "pubmedqa" / "ori_pqal.json").read_text())
    with pytest.raises(BadRequest, match="test_ground_truth.json"):
        get_task("pubmedqa", source=str(tmp_path))


def test_pubmedqa_reads_a_flat_jsonl(tmp_path: Path) -> None:
    items = json.loads((SAMPLES / "pubmedqa" / "ori_pqal.json").read_text())
    file = tmp_path / "pqal.jsonl"
    file.write_text("".join(json.dumps({"pmid": k, **v}) + "\n" for k, v in items.items()))
    task = get_task("pubmedqa", source=str(file))
    assert [s.id for s in task.samples] == list(items)
    assert all(s.answer == items[s.id]["final_decision"] for s in task.samples)


@pytest.mark.parametrize("name", ["mmlu_pro_biology", "mmlu_pro_health"])
def test_mmlu_pro_lm_eval_prompt_is_five_shot_cot(name: str) -> None:
    task = get_task(name)
    category = name.removeprefix("mmlu_pro_")
    assert len(task.fewshot) == 5
    assert all(s.metadata["category"] == category and s.metadata["cot_content"] for s in task.fewshot)
    assert all(s.metadata["category"] == category for s in task.samples)
    [message] = task.prompt(task.samples[0], "lm-eval")
    text = message["content"]
    assert text.startswith(f"The following are multiple choice questions (with answers) about {category}.")
    assert 'finish your answer with "the answer is (X)"' in text
    assert text.count("Question:\n") == 6 and text.count(COT_LEAD) == 6
    assert "A: Let's think step by step." not in text
    assert text.endswith(f"J. {task.samples[0].options['J']}\n{COT_LEAD}")
    for shot in task.fewshot:
        assert shot.question in text and f"The answer is ({shot.answer})." in text


def test_mmlu_pro_without_validation_cannot_prompt_lm_eval(tmp_path: Path) -> None:
    test = tmp_path / "test-00000-of-00001.parquet"
    test.write_bytes((SAMPLES / "mmlu_pro" / "test-00000-of-00001.parquet").read_bytes())
    task = get_task("mmlu_pro_biology", source=str(test))
    assert task.fewshot == [] and len(task.samples) == 4
    assert_messages(task.prompt(task.samples[0], "galen"))
    with pytest.raises(BadRequest, match="5-shot") as err:
        task.prompt(task.samples[0], "lm-eval")
    assert err.value.param == "preset"


def test_mmlu_pro_subgroup_and_variable_option_count() -> None:
    task = get_task("mmlu_pro_biology")
    assert task.subgroups == ("src",)
    assert {len(s.options) for s in task.samples} == {8, 10}


@pytest.mark.parametrize(
    ("language", "question_label", "cue"),
    [
        ("en", "Question:", "the answer is (X)"),
        ("de", "Frage:", "Die Antwort ist (X)"),
        ("ja", "質問：", "答えは (X) です"),
    ],
)
def test_mmlu_prox_languages_from_the_sample(language: str, question_label: str, cue: str) -> None:
    task = get_task("mmlu_prox_biology", language=language)
    assert task.name == f"mmlu_prox_{language}_biology"
    assert len(task.fewshot) == 5 and all(s.metadata["language"] == language for s in task.samples)
    [message] = task.prompt(task.samples[0], "lm-eval")
    text = message["content"]
    assert cue in text.split("\n")[0]
    lead = module("mmlu_prox").LANG_LIBS[language][2]
    assert text.count(f"{question_label}\n") == 6 and text.count(lead) == 6 and text.endswith(lead)


def test_mmlu_prox_reads_one_language_folder() -> None:
    task = get_task("mmlu_prox_biology", source=str(SAMPLES / "mmlu_prox" / "de"), language="de")
    assert task.name == "mmlu_prox_de_biology" and len(task.samples) == 2 and len(task.fewshot) == 5


def test_mmlu_prox_knows_the_cards_languages() -> None:
    prox = module("mmlu_prox")
    for language, cue, reply, letter in [
        ("en", "the answer is (X)", "So, the answer is (B).", "B"),
        ("de", "Die Antwort ist (X)", "Also: Die Antwort ist (D).", "D"),
        ("es", "La respuesta es (X)", "La respuesta es (A).", "A"),
        ("fr", "La réponse est (X)", "Donc La réponse est (J).", "J"),
        ("ja", "答えは (X) です", "よって答えは (C) です。", "C"),
        ("zh", "答案是 (X)", "所以答案是 (E)。", "E"),
        ("sw", "Jibu ni (X)", "Kwa hiyo Jibu ni (F).", "F"),
    ]:
        assert cue in prox.description(language)
        assert prox.BIOLOGY[language] in prox.description(language)
        assert prox.answer_pattern(language).search(reply).group(1) == letter


def test_mmlu_prox_language_errors() -> None:
    with pytest.raises(BadRequest) as err:
        get_task("mmlu_prox_biology", language="xx")
    assert err.value.param == "language"
    with pytest.raises(BadRequest, match="no sw/ folder") as err:
        get_task("mmlu_prox_biology", language="sw")  # the bundled sample has en, de, ja only
    assert err.value.param == "language"


def test_medxpertqa_drops_the_embedded_answer_choices() -> None:
    task = get_task("medxpertqa")
    assert set(task.subgroups) == {"question_type", "body_system"}
    assert {s.metadata["question_type"] for s in task.samples} == {"Reasoning", "Understanding"}
    for s in task.samples:
        assert "Answer Choices" not in s.question and len(s.options) == 10
        assert task.prompt(s, "galen")[0]["content"].count(s.options["A"]) == 1
        system, user = task.prompt(s, "lm-eval")
        assert system["role"] == "system"
        assert user["content"].endswith("A: Among A through J, the answer is")


# --------------------------------------------------------------------------- other formats


def test_medmcqa_reads_the_derived_format(tmp_path: Path) -> None:
    file = tmp_path / "dev.jsonl"
    rows = [
        {
            "question": "Q one?",
            "options": {"A": "a", "B": "b", "C": "c", "D": "d"},
            "answer_idx": "C",
            "answer": "c",
            "realidx": "uuid-1",
        },
        {
            "question": "Q two?",
            "options": {"A": "a", "B": "b", "C": "c", "D": "d"},
            "answer_idx": "A",
            "answer": "a",
            "realidx": "uuid-2",
        },
    ]
    file.write_text("".join(json.dumps(r) + "\n" for r in rows))
    task = get_task("medmcqa", source=str(file))
    assert [(s.id, s.answer) for s in task.samples] == [("uuid-1", "C"), ("uuid-2", "A")]


def test_medmcqa_upstream_answer_index_is_zero_based() -> None:
    rows = read_records(SAMPLES / "medmcqa.jsonl")
    task = get_task("medmcqa")
    for row, sample in zip(rows, task.samples, strict=True):
        assert sample.options[sample.answer] == row["opa opb opc opd".split()[row["cop"]]]
        assert sample.metadata["subject_name"] == row["subject_name"]


def test_medmcqa_rejects_one_based_cop(tmp_path: Path) -> None:
    row = read_records(SAMPLES / "medmcqa.jsonl")[0] | {"cop": 4}
    file = tmp_path / "dev.jsonl"
    file.write_text(json.dumps(row) + "\n")
    with pytest.raises(BadRequest, match="cop must be 0-3"):
        get_task("medmcqa", source=str(file))


def test_medqa_reads_the_hf_format(tmp_path: Path) -> None:
    file = tmp_path / "test.json"
    row = {
        "id": "x1",
        "sent1": "Which?",
        "ending0": "w",
        "ending1": "x",
        "ending2": "y",
        "ending3": "z",
        "label": 3,
    }
    file.write_text(json.dumps([row]))
    [sample] = get_task("medqa", source=str(file)).samples
    assert (sample.id, sample.answer, sample.options["D"]) == ("x1", "D", "z")


def test_a_gold_letter_outside_the_options_names_the_row(tmp_path: Path) -> None:
    file = tmp_path / "medqa.jsonl"
    row = read_records(SAMPLES / "medqa.jsonl")[0] | {"answer_idx": "E"}
    file.write_text(json.dumps(row) + "\n")
    with pytest.raises(BadRequest, match=r"row 900000: answer 'E' is not one of A, B, C, D"):
        get_task("medqa", source=str(file))


# ------------------------------------------------------------------------------- loading


def test_missing_local_source_names_the_task(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="medqa: no such file") as err:
        get_task("medqa", source=str(tmp_path / "nope.jsonl"))
    assert err.value.param == "source"


def test_check_count() -> None:
    check_count("medqa", list(range(1273)), 1273)
    with pytest.raises(BadRequest, match="medqa: the pinned split should have 1273 rows but 1272"):
        check_count("medqa", list(range(1272)), 1273)


@pytest.fixture
def offline_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No network and an empty cache, whatever this machine has downloaded before."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))


@pytest.mark.parametrize("name", ["medqa", "medmcqa", "pubmedqa", "mmlu_pro_biology", "medxpertqa"])
def test_hub_source_offline_says_to_pass_a_local_path(name: str, offline_hub: None) -> None:
    with pytest.raises(BadRequest) as err:
        get_task(name, source="hub")
    assert err.value.param == "source"
    assert f"{name}: could not get" in err.value.message and "local path" in err.value.message
    assert f"--data {name}=PATH" in err.value.message


def test_explicit_hub_revision_offline(offline_hub: None) -> None:
    with pytest.raises(BadRequest, match=r"could not get galen-tests/absent@000000000000"):
        get_task("medqa", source="hf://galen-tests/absent@" + "0" * 40)


def test_hub_without_a_pinned_revision_asks_for_one(offline_hub: None) -> None:
    with pytest.raises(BadRequest, match=r"hf://li-lab/MMLU-ProX@<commit>"):
        get_task("mmlu_prox_biology", source="hub")
    with pytest.raises(BadRequest, match="no pinned revision"):
        resolve_data("hf://someone/else", "medqa.jsonl", "GBaker/MedQA-USMLE-4-options", "abc", task="medqa")


@pytest.mark.parametrize("name", sorted(EXPECTED - NO_PIN))
def test_every_hub_pin_is_a_full_commit(name: str) -> None:
    mod = module(TASKS[name].__module__.rsplit(".", 1)[-1])
    assert len(mod.REVISION) == 40 and int(mod.REVISION, 16) >= 0


# ------------------------------------------------------------------------------ real data


@needs_benchmarks
@pytest.mark.shared
def test_real_medqa() -> None:
    task = get_task("medqa", source=str(BENCHMARKS / "medqa" / "test.jsonl"))
    assert len(task.samples) == 1273
    assert {s.answer for s in task.samples} == set("ABCD")
    assert all(list(s.options) == list("ABCD") for s in task.samples)
    assert Counter(s.metadata["meta_info"] for s in task.samples).keys() == {"step1", "step2&3"}
    assert "sha256:b0536be0ff396be91eb0cf61a42056b0abef06a23e7e8be491d62fd959b77b72" in task.source
    check_count("medqa", task.samples, module("medqa").TEST_ROWS)


@needs_benchmarks
@pytest.mark.shared
def test_real_medmcqa() -> None:
    task = get_task("medmcqa", source=str(BENCHMARKS / "medmcqa" / "dev_single_choice.jsonl"))
    assert len(task.samples) == 2816
    assert {s.answer for s in task.samples} == set("ABCD")


@needs_benchmarks
@pytest.mark.shared
def test_real_pubmedqa_official_test() -> None:
    task = get_task("pubmedqa", source=str(BENCHMARKS / "pubmedqa"))
    assert len(task.samples) == 500
    labels = Counter(s.answer for s in task.samples)
    assert set(labels) == {"yes", "no", "maybe"}
    truth = json.loads((BENCHMARKS / "pubmedqa" / "test_ground_truth.json").read_text())
    assert {s.id: s.answer for s in task.samples} == truth
    assert all(s.context for s in task.samples)


@needs_benchmarks
@pytest.mark.shared
@pytest.mark.parametrize(("name", "rows"), [("mmlu_pro_biology", 717), ("mmlu_pro_health", 818)])
def test_real_mmlu_pro(name: str, rows: int) -> None:
    task = get_task(name, source=str(BENCHMARKS / "mmlu_pro"))
    assert len(task.samples) == rows
    check_count(name, task.samples, module("mmlu_pro").TEST_ROWS[name.removeprefix("mmlu_pro_")])
    validation = read_records(BENCHMARKS / "mmlu_pro" / "validation-00000-of-00001.parquet")
    category = name.removeprefix("mmlu_pro_")
    first_five = [str(r["question_id"]) for r in validation if r["category"] == category][:5]
    assert [s.id for s in task.fewshot] == first_five
    text = task.prompt(task.samples[0], "lm-eval")[0]["content"]
    assert text.count(COT_LEAD) == 6
    assert all(s.answer in s.options for s in task.samples)


@needs_benchmarks
@pytest.mark.shared
def test_bundled_samples_are_not_real_benchmark_items() -> None:
    real_questions = {r["question"] for r in read_records(BENCHMARKS / "medqa" / "test.jsonl")}
    real_questions |= {
        r["question"] for r in read_records(BENCHMARKS / "medmcqa" / "dev_single_choice.jsonl")
    }
    real_questions |= {
        r["question"] for r in read_records(BENCHMARKS / "mmlu_pro" / "test-00000-of-00001.parquet")
    }
    real_questions |= {
        r["question"] for r in read_records(BENCHMARKS / "mmlu_pro" / "validation-00000-of-00001.parquet")
    }
    pubmed = json.loads((BENCHMARKS / "pubmedqa" / "ori_pqal.json").read_text())
    real_questions |= {item["QUESTION"] for item in pubmed.values()}
    ours: list[Sample] = []
    for name in EXPECTED:
        task = get_task(name)
        ours += [*task.samples, *task.fewshot]
    assert not {s.question for s in ours} & real_questions
    assert not set(json.loads((SAMPLES / "pubmedqa" / "ori_pqal.json").read_text())) & set(pubmed)
