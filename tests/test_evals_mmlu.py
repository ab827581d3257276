"""MMLU's medical subjects, the MultiMedQA group, `--num-fewshot` and `--system-prompt`.

No MMLU file is among the real benchmark data here (../shared/benchmarks), so MMLU is read from
the bundled sample and from small files in its two upstream layouts written below (items we
wrote, never MMLU's). MMLU-Pro's few-shot count is checked on the real file when it is present.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from galen.errors import BadRequest
from galen.evals.task import TASKS
from galen.evals.tasks import GROUPS, get_task, load_tasks
from galen.evals.tasks.groups import expand, group_scores
from galen.evals.tasks.mmlu import SUBJECTS

BENCHMARKS = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks"
HEADER = "The following are multiple choice questions (with answers) about clinical knowledge.\n\n"


def _rows(n: int, subject: str = "anatomy", offset: int = 0) -> list[dict]:
    return [
        {"question": f"Made-up question {offset + i} about {subject}?", "subject": subject,
         "choices": ["first", "second", "third", "fourth"], "answer": i % 4}
        for i in range(n)
    ]  # fmt: skip


def test_the_six_subjects_are_tasks() -> None:
    assert {f"mmlu_{s}" for s in SUBJECTS} <= set(TASKS)
    assert set(SUBJECTS) == {
        "anatomy", "clinical_knowledge", "college_biology", "college_medicine", "medical_genetics",
        "professional_medicine",
    }  # fmt: skip


def test_lm_eval_wording_is_five_shot_from_dev() -> None:
    task = get_task("mmlu_clinical_knowledge")
    assert len(task.fewshot) == 5 and task.n_shot("lm-eval") == 5 and task.n_shot("galen") == 0
    sample = task.samples[0]
    text = task.prompt(sample, "lm-eval")[0]["content"]
    first = task.fewshot[0]
    shot = f"{first.question}\nA. {first.options['A']}\nB. {first.options['B']}\nC. {first.options['C']}\n"
    shot += f"D. {first.options['D']}\nAnswer: {first.answer}\n\n"
    assert text.startswith(HEADER + shot)
    assert text.endswith(f"{sample.question}\nA. {sample.options['A']}\nB. {sample.options['B']}\n"
                         f"C. {sample.options['C']}\nD. {sample.options['D']}\nAnswer:")  # fmt: skip
    assert text.count("\nAnswer: ") == 5
    query = task.loglik(sample)
    assert query.context == text and query.choices == ("A", "B", "C", "D")
    assert query.continuations == [" A", " B", " C", " D"]


def test_num_fewshot_changes_the_exemplars_and_is_checked() -> None:
    two = get_task("mmlu_anatomy", num_fewshot=2)
    assert two.n_shot("lm-eval") == 2
    assert two.prompt(two.samples[0], "lm-eval")[0]["content"].count("\nAnswer: ") == 2
    zero = get_task("mmlu_anatomy", num_fewshot=0)
    text = zero.prompt(zero.samples[0], "lm-eval")[0]["content"]
    assert text.startswith("The following are multiple choice questions (with answers) about anatomy.\n\n")
    assert "\nAnswer: " not in text
    with pytest.raises(BadRequest, match="6-shot needs 6 dev exemplars; 5 found"):
        get_task("mmlu_anatomy", num_fewshot=6)
    with pytest.raises(
        BadRequest, match="medqa has no few-shot exemplars; --num-fewshot applies to mmlu_anatomy"
    ):
        get_task("medqa", num_fewshot=3)
    assert get_task("medqa", num_fewshot=0).n_shot("lm-eval") == 0


def test_original_csv_release_is_read(tmp_path: Path) -> None:
    for split, n in (("test", 3), ("dev", 5)):
        (tmp_path / split).mkdir()
        with (tmp_path / split / f"anatomy_{split}.csv").open("w", newline="") as f:
            for row in _rows(n, offset=10 if split == "dev" else 0):
                csv.writer(f).writerow([row["question"], *row["choices"], "ABCD"[row["answer"]]])
    task = get_task("mmlu_anatomy", source=str(tmp_path))
    assert [s.answer for s in task.samples] == ["A", "B", "C"] and len(task.fewshot) == 5
    assert task.fewshot[0].question == "Made-up question 10 about anatomy?"
    alone = get_task(
        "mmlu_anatomy", source=str(tmp_path / "test" / "anatomy_test.csv")
    )  # dev found in ../dev
    assert len(alone.fewshot) == 5 and "anatomy_dev.csv" in alone.source


def test_hub_layout_is_read_and_filtered_by_subject(tmp_path: Path) -> None:
    (tmp_path / "anatomy").mkdir()
    (tmp_path / "all").mkdir()
    pq.write_table(pa.Table.from_pylist(_rows(4)), tmp_path / "anatomy" / "test-00000-of-00001.parquet")
    pq.write_table(
        pa.Table.from_pylist(_rows(5, offset=20)), tmp_path / "anatomy" / "dev-00000-of-00001.parquet"
    )
    mixed = _rows(2, "virology") + _rows(3, "medical_genetics")
    pq.write_table(pa.Table.from_pylist(mixed), tmp_path / "all" / "test-00000-of-00001.parquet")
    assert len(get_task("mmlu_anatomy", source=str(tmp_path)).samples) == 4
    genetics = get_task("mmlu_medical_genetics", source=str(tmp_path), num_fewshot=0)
    assert len(genetics.samples) == 3 and all("medical_genetics" in s.question for s in genetics.samples)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            {"question": "Q?", "choices": ["a", "b", "c", "d"], "answer": 7},
            "field 'answer' must be an index 0-3",
        ),
        ({"question": "Q?", "choices": "a, b, c, d", "answer": 1}, "field 'choices' is a string"),
        (
            {"question": 12, "choices": ["a", "b", "c", "d"], "answer": 1},
            "field 'question' must be a non-empty string",
        ),
        ({"question": "Q?", "answer": 1}, "field 'choices' is missing"),
    ],
)
def test_bad_rows_say_which_field_and_how(tmp_path: Path, row: dict, message: str) -> None:
    import json

    (tmp_path / "test.jsonl").write_text(json.dumps(row) + "\n")
    with pytest.raises(BadRequest, match=message) as err:
        get_task("mmlu_anatomy", source=str(tmp_path), num_fewshot=0)
    assert "mmlu_anatomy: row 0" in str(err.value) and "missing field" not in str(err.value)


def test_hub_needs_a_revision_for_mmlu() -> None:
    with pytest.raises(BadRequest, match=r"hf://cais/mmlu@<commit>"):
        get_task("mmlu_anatomy", source="hub")


def test_multimedqa_is_lm_evals_group() -> None:
    assert GROUPS["multimedqa"] == (
        "pubmedqa", "medmcqa", "medqa", "mmlu_anatomy", "mmlu_clinical_knowledge", "mmlu_college_medicine",
        "mmlu_medical_genetics", "mmlu_professional_medicine", "mmlu_college_biology",
    )  # fmt: skip
    assert expand(["medqa", "multimedqa"])[:2] == ["medqa", "pubmedqa"] and len(expand(["multimedqa"])) == 9
    loaded = load_tasks(["multimedqa"], {}, limit=1)
    assert [t.name for t in loaded] == list(GROUPS["multimedqa"])
    scores = {name: (0.5, 10) for name in GROUPS["multimedqa"]} | {"medqa": (1.0, 20)}
    group = group_scores(["multimedqa"], scores)["multimedqa"]
    assert group["n"] == 100 and group["value"] == pytest.approx((0.5 * 80 + 1.0 * 20) / 100)
    assert group_scores(["medqa"], scores) == {}


def test_system_prompt_replaces_the_tasks_own_and_starts_loglik_contexts() -> None:
    medx, medqa = load_tasks(["medxpertqa", "medqa"], {}, limit=1, system_prompt="Answer briefly.")
    for task in (medx, medqa):
        sample = task.samples[0]
        for preset in ("galen", "lm-eval"):
            messages = task.prompt(sample, preset)
            assert messages[0] == {"role": "system", "content": "Answer briefly."}
            assert sum(m["role"] == "system" for m in messages) == 1
        assert task.loglik(sample).context.startswith("Answer briefly.\n\nQ")
    plain = load_tasks(["medxpertqa"], {}, limit=1)[0]
    assert plain.prompt(plain.samples[0], "lm-eval")[0]["content"] == "You are a helpful medical assistant."


@pytest.mark.shared
@pytest.mark.skipif(not BENCHMARKS.is_dir(), reason=f"real benchmark files not present at {BENCHMARKS}")
def test_num_fewshot_on_real_mmlu_pro() -> None:
    task = get_task("mmlu_pro_biology", source=str(BENCHMARKS / "mmlu_pro"), limit=2, num_fewshot=2)
    assert task.n_shot("lm-eval") == 2
    assert (
        task.prompt(task.samples[0], "lm-eval")[0]["content"].count("Answer: Let's think step by step.") == 3
    )


def test_multimedqa_through_the_cli_scores_the_group(tmp_path: Path, server) -> None:
    import json
    import subprocess
    import sys

    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "galen.cli.main", "eval", "run", "--model", server.base_url,
         "--tasks", "multimedqa", "--limit", "1", "--max-tokens", "8", "--no-think", "--output", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "multimedqa (group):" in done.stdout and "mmlu_professional_medicine" in done.stdout
    results = json.loads((out / "results.json").read_text())
    assert list(results["tasks"]) == list(GROUPS["multimedqa"])
    group = results["groups"]["multimedqa"]
    mean = sum(t["value"] for t in results["tasks"].values()) / 9  # 1 item each: size-weighted = plain mean
    assert group["n"] == 9 and group["value"] == pytest.approx(mean)
    lmeval = json.loads((out / "results_lmeval.json").read_text())
    assert lmeval["group_subtasks"]["multimedqa"] == list(GROUPS["multimedqa"])
    assert lmeval["groups"]["multimedqa"]["exact_match,none"] == group["value"]
