"""A multiple-choice task of your own (JSONL + a YAML spec), MedXpertQA's authors' eval input,
errors that name the field and what is wrong with it, and results_lmeval.json.

The items below are made up for these tests. The last test runs a spec task through
`galen eval run` against the shared `galen serve` (the embedded SmolLM2).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from eval_runs import FakeTask, write_fake_run

from galen.config import ConfigError
from galen.errors import BadRequest
from galen.evals.lmeval_results import lmeval_results
from galen.evals.tasks import get_task, load_tasks

ROWS = [
    {"id": "c1", "question": "Which drug class is first line for stable angina symptoms?",
     "options": {"A": "Beta blockers", "B": "Antibiotics", "C": "Antihistamines"}, "answer": "A",
     "specialty": "cardiology"},
    {"id": "c2", "question": "A murmur heard loudest at the apex radiating to the axilla suggests",
     "options": ["Mitral regurgitation", "Aortic stenosis", "Pulmonary stenosis"], "answer": 0,
     "specialty": "cardiology"},
    {"id": "c3", "question": "Which electrolyte disturbance gives peaked T waves?",
     "options": [{"letter": "A", "content": "Hypokalaemia"}, {"letter": "B", "content": "Hyperkalaemia"}],
     "answer": ["B"], "specialty": "electrophysiology"},
]  # fmt: skip
DEV = [
    {"question": "Normal adult resting heart rate is about", "options": ["60-100/min", "10-20/min"],
     "answer": "A"},
    {"question": "The heart has how many chambers?", "options": ["Two", "Four"], "answer": "B"},
]  # fmt: skip
# One made-up row in the MedXpertQA authors' eval-input shape (prepare_medxpertqa.ipynb).
AUTHORS_ROW = {
    "id": "Text-X1",
    "question": "A made-up vignette. Which is best?\nAnswer Choices: (A) One (B) Two (C) Three",
    "options": [{"letter": "A", "content": "One"}, {"letter": "B", "content": "Two"},
                {"letter": "C", "content": "Three"}],
    "label": ["C"], "medical_task": "Treatment", "body_system": "Skeletal", "question_type": "Reasoning",
}  # fmt: skip


def _jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    _jsonl(tmp_path / "cardio.jsonl", ROWS)
    _jsonl(tmp_path / "cardio_dev.jsonl", DEV)
    path = tmp_path / "cardio.yaml"
    path.write_text(
        "name: cardio_mcq\ndata: cardio.jsonl\nfewshot_data: cardio_dev.jsonl\nnum_fewshot: 1\n"
        "description: The following are multiple choice questions (with answers) about cardiology.\n"
        "subgroups: [specialty]\n"
    )
    return path


def test_spec_task_reads_every_option_shape(spec: Path) -> None:
    (task,) = load_tasks([str(spec)], {}, limit=None)
    assert task.name == "cardio_mcq" and [s.answer for s in task.samples] == ["A", "A", "B"]
    assert task.samples[1].options == {
        "A": "Mitral regurgitation",
        "B": "Aortic stenosis",
        "C": "Pulmonary stenosis",
    }
    assert task.samples[2].metadata == {"specialty": "electrophysiology"} and task.subgroups == ("specialty",)
    assert task.n_shot("lm-eval") == 1 and "cardio_dev.jsonl sha256:" in task.source
    text = task.prompt(task.samples[0], "lm-eval")[0]["content"]
    assert text.startswith(
        "The following are multiple choice questions (with answers) about cardiology.\n\n"
        "Normal adult resting heart rate is about\nA. 60-100/min\nB. 10-20/min\nAnswer: A\n\n"
    )
    assert text.endswith("C. Antihistamines\nAnswer:")
    assert task.loglik(task.samples[0]).continuations == [" A", " B", " C"]
    assert task.prompt(task.samples[0], "galen")[0]["content"].endswith('"answer": "C".')
    (two,) = load_tasks([str(spec)], {}, limit=2, num_fewshot=2)
    assert len(two.samples) == 2 and two.n_shot("lm-eval") == 2


@pytest.mark.parametrize(
    ("spec_text", "message"),
    [
        ("data: cardio.jsonl\n", "name: required field is missing"),
        (
            "name: x\ndata: cardio.jsonl\nnum_fewshots: 2\n",
            "num_fewshots: unknown setting; did you mean `num_fewshot`?",
        ),
        ("name: x y\ndata: cardio.jsonl\n", "use letters, digits"),
        ("name: x\ndata: nowhere.jsonl\n", "no data file at"),
        ("name: x\ndata: cardio.jsonl\nnum_fewshot: 2\n", "2-shot needs fewshot_data"),
    ],
)
def test_spec_mistakes_name_the_field(tmp_path: Path, spec_text: str, message: str) -> None:
    _jsonl(tmp_path / "cardio.jsonl", ROWS)
    (tmp_path / "s.yaml").write_text(spec_text)
    with pytest.raises((BadRequest, ConfigError), match=re.escape(message)):
        load_tasks([str(tmp_path / "s.yaml")], {}, limit=None)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"question": "Q?", "options": 3, "answer": "A"}, "row 0: field 'options' is a number (3)"),
        (
            {"question": "Q?", "options": ["x", "y"], "answer": 5},
            "field 'answer' is index 5; there are 2 options",
        ),
        ({"question": "Q?", "options": ["x", "y"], "answer": ["A", "B"]}, "field 'answer' holds 2 answers"),
        (
            {"question": "Q?", "options": [{"letter": "A"}], "answer": "A"},
            "entry 0 has keys 'letter', not letter and content",
        ),
        ({"question": "Q?", "options": ["x", "y"], "answer": "D"}, "answer 'D' is not one of A, B"),
        (["not", "an", "object"], "row 0: is a list of 3, not a JSON object"),
    ],
)
def test_bad_rows_say_what_is_wrong_with_which_field(tmp_path: Path, row, message: str) -> None:
    _jsonl(tmp_path / "d.jsonl", [row])
    (tmp_path / "s.yaml").write_text("name: mine\ndata: d.jsonl\n")
    with pytest.raises(BadRequest, match=re.escape(message)) as err:
        load_tasks([str(tmp_path / "s.yaml")], {}, limit=None)
    assert "missing field" not in str(err.value)


def test_medxpertqa_reads_the_authors_eval_input(tmp_path: Path) -> None:
    folder = tmp_path / "eval" / "data" / "medxpertqa" / "input"
    folder.mkdir(parents=True)
    _jsonl(folder / "medxpertqa_text_input.jsonl", [AUTHORS_ROW])
    task = get_task("medxpertqa", source=str(tmp_path / "eval"))
    (sample,) = task.samples
    assert sample.answer == "C" and sample.options == {"A": "One", "B": "Two", "C": "Three"}
    assert sample.question == "A made-up vignette. Which is best?"
    assert sample.metadata["body_system"] == "Skeletal"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"label": ["A", "B"]}, "field 'label' holds 2 answers; this task needs exactly one"),
        ({"label": 3}, "field 'label' must be an option letter such as \"C\", got a number (3)"),
        ({"options": "A: One"}, "field 'options' is a string"),
        (
            {"options": [{"letter": "A", "text": "One"}]},
            "entry 0 has keys 'letter', 'text', not letter and content",
        ),
        ({"question": None}, "field 'question' must be a non-empty string, got null"),
    ],
)
def test_medxpertqa_bad_rows_name_the_field_not_a_missing_one(
    tmp_path: Path, change: dict, message: str
) -> None:
    _jsonl(tmp_path / "test.jsonl", [AUTHORS_ROW | change])
    with pytest.raises(BadRequest, match=re.escape(message)) as err:
        get_task("medxpertqa", source=str(tmp_path / "test.jsonl"))
    assert "medxpertqa: row Text-X1:" in str(err.value) and "missing field" not in str(err.value)
    del_label = {k: v for k, v in AUTHORS_ROW.items() if k != "label"}
    _jsonl(tmp_path / "test.jsonl", [del_label])
    with pytest.raises(BadRequest, match="field 'label' is missing; expected question, options and label"):
        get_task("medxpertqa", source=str(tmp_path / "test.jsonl"))


def test_results_lmeval_has_lm_evals_shape(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path / "r", [FakeTask("medqa", 10, 6), FakeTask("pubmedqa", 4, 1)])
    written = json.loads((run / "results_lmeval.json").read_text())
    assert written == lmeval_results(json.loads((run / "results.json").read_text()))
    medqa = written["results"]["medqa"]
    assert medqa["alias"] == "medqa" and medqa["exact_match,galen-cascade"] == 0.6
    assert medqa["exact_match_stderr,galen-cascade"] == pytest.approx((0.6 * 0.4 / 9) ** 0.5)
    for key in ("versions", "n-shot", "higher_is_better", "n-samples", "configs", "group_subtasks"):
        assert set(written[key]) == {"medqa", "pubmedqa"}, key
    assert written["n-samples"]["medqa"] == {"original": 10, "effective": 10}
    assert written["higher_is_better"]["medqa"] == {"exact_match": True}
    assert {"model", "model_args", "limit", "random_seed"} <= set(written["config"])
    provenance = json.loads((run / "provenance.json").read_text())
    assert "results_lmeval.json" in {o["path"] for o in provenance["outputs"]}
    lm_eval_utils = pytest.importorskip("lm_eval.utils")  # lm-eval's own table reads it, when installed
    assert "medqa" in lm_eval_utils.make_table(written)


def test_spec_task_system_prompt_and_num_fewshot_through_the_cli(spec: Path, tmp_path: Path, server) -> None:
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "galen.cli.main", "eval", "run", "--model", server.base_url,
         "--tasks", str(spec), "--limit", "2", "--max-tokens", "8", "--no-think", "--preset", "lm-eval",
         "--num-fewshot", "2", "--system-prompt", "Reply with one letter.", "--output", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    results = json.loads((out / "results.json").read_text())
    assert (
        results["config"]["num_fewshot"] == 2
        and results["config"]["system_prompt"] == "Reply with one letter."
    )
    task = results["tasks"]["cardio_mcq"]
    assert task["n"] == 2 and task["n_shot"] == 2
    rows = [json.loads(line) for line in (out / "samples_cardio_mcq.jsonl").read_text().splitlines()]
    assert rows[0]["messages"][0] == {"role": "system", "content": "Reply with one letter."}
    assert rows[0]["messages"][1]["content"].count("\nAnswer: ") == 2
    lmeval = json.loads((out / "results_lmeval.json").read_text())
    assert lmeval["system_instruction"] == "Reply with one letter." and lmeval["n-shot"]["cardio_mcq"] == 2


def test_a_spec_named_in_a_config_file_is_relative_to_it(tmp_path: Path) -> None:
    from galen.cli.eval import eval_config

    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "eval.yaml").write_text(
        "model: smollm2\ntasks: [medqa, specs/cardio.yaml]\nnum_fewshot: 1\n"
    )
    settings = eval_config(tmp_path / "cfg" / "eval.yaml", {})
    assert settings.tasks == ["medqa", str(tmp_path / "cfg" / "specs" / "cardio.yaml")]
    assert settings.num_fewshot == 1 and settings.system_prompt is None
