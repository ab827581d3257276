"""`galen eval table`: the two cards' tables from run folders plus the shipped published numbers,
in Markdown, CSV and LaTeX; mismatched runs refused; bad input as one-line errors.

The run folders are written by galen's own writers with chosen scores (tests/eval_runs.py), so
every number in the table can be checked; `test_evals_runner.py` tabulates real runs too.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest
from eval_runs import FakeTask, write_fake_healthbench, write_fake_run
from typer.testing import CliRunner

from galen.cli.main import app
from galen.evals.published import published_columns, shipped_cards
from galen.evals.runs import read_run
from galen.evals.table import build_table
from galen.evals.table_render import csv_text, latex, markdown

# Items right per task, chosen so the runs score what the MeditronFO card prints (at the real
# test-set sizes): medmcqa 2625/4183 = 62.75%, medqa 970/1273 = 76.20%, ...
GEMMA = {"medmcqa": (4183, 2625), "medqa": (1273, 970), "pubmedqa": (500, 373), "medxpertqa": (2450, 409)}
MEDITRON = {"medmcqa": (4183, 2665), "medqa": (1273, 988), "pubmedqa": (500, 379), "medxpertqa": (2450, 441)}


def _eval(*args: str) -> subprocess.CompletedProcess:
    """`galen eval ...` as its own process: exit code, stdout and stderr as a user sees them."""
    cmd = [sys.executable, "-m", "galen.cli.main", "eval", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _cli(*args: str):
    """The same in this process (cheaper, for the many bad-input cases): .exit_code, .stdout, .stderr."""
    return CliRunner().invoke(app, ["eval", *args])


@pytest.fixture(scope="module")
def card_runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("card-runs")
    out = {}
    for name, scores, health in (("gemma-it", GEMMA, 0.4578), ("meditron", MEDITRON, 0.4715)):
        folder = write_fake_run(root / name, [FakeTask(t, n, r) for t, (n, r) in scores.items()])
        write_fake_healthbench(folder, health)
        out[name] = folder
    cards = root / "card000"
    out["ours"] = write_fake_run(
        cards,
        [FakeTask("mmlu_pro_biology", 100, 84, n_shot=5), FakeTask("mmlu_prox_en_biology", 100, 79, n_shot=5),
         FakeTask("medqa", 100, 91)],
        preset="lm-eval",
    )  # fmt: skip
    return out


def test_shipped_cards_hold_what_the_cards_print() -> None:
    cards = shipped_cards()
    assert set(cards) == {"reasoning-medical-27b", "meditron-fo"}
    fo = {c.name: c.values for c in published_columns("meditron-fo")}
    assert fo["Gemma-3-27B-MeditronFO"]["healthbench_hard"] == pytest.approx(0.4715)
    rm = {c.name: c.values for c in published_columns("reasoning-medical-27b")}
    assert rm["Reasoning-Medical-27B"] == {
        "mmlu_pro_biology": 0.85,
        "mmlu_prox_en_biology": 0.80,
        "medqa": 0.93,
    }
    assert rm["Qwen3.6-27B"] == {"medqa": 0.844} and rm["MedGemma-1-27B"] == {"medqa": 0.853}


def test_the_meditron_card_from_its_published_numbers_alone() -> None:
    """The card's own table: the Δ column and the Average row come out as printed."""
    table = build_table([], published_columns("meditron-fo"), baseline="Gemma-3-27B-IT (published)")
    text = markdown(table, percent=True, details=False)
    assert "| MedQA | 76.20 | 77.61 | +1.41 |" in text
    assert "| MedXpertQA | 16.69 | 18.00 | +1.31 |" in text
    assert "| HealthBench Hard | 45.78 | 47.15 | +1.37 |" in text
    assert "| **Average** | **55.20** | **56.45** | **+1.25** |" in text


def test_meditron_card_table_from_run_folders(card_runs) -> None:
    runs = [read_run(card_runs["gemma-it"]), read_run(card_runs["meditron"])]
    table = build_table(runs, published_columns("meditron-fo"), baseline="gemma-it")
    assert table.tasks == ["medmcqa", "medqa", "pubmedqa", "medxpertqa", "healthbench_hard"]
    text = markdown(table, percent=True)
    header = text.splitlines()[0]
    assert header.startswith("| Task | Filter | n-shot | Metric | gemma-it | meditron |")
    assert header.endswith("| Gemma-3-27B-IT (published) | Gemma-3-27B-MeditronFO (published) | Δ |")
    # the runs score what the card prints, so run and published columns agree cell by cell
    assert "| MedMCQA | galen-cascade | 0 | accuracy | 62.75 | 63.71 | 62.75 | 63.71 | +0.96 |" in text
    assert "| HealthBench Hard |  |  | score | 45.78 | 47.15 | 45.78 | 47.15 | +1.37 |" in text
    gemma_avg = sum(r / n for n, r in GEMMA.values()) / 5 + 0.4578 / 5
    assert table.average(table.columns[0]) == pytest.approx(gemma_avg)
    assert f"**{gemma_avg * 100:.2f}**" in text and "**+1.25**" in text
    assert any("not reproduced by galen" in note for note in table.notes)


def test_reasoning_medical_card_table_from_run_folders(card_runs) -> None:
    table = build_table(
        [read_run(card_runs["ours"])], published_columns("reasoning-medical-27b"),
        baseline="Reasoning-Medical-27B (published)",
    )  # fmt: skip
    text = markdown(table)
    assert "| MMLU-Pro Biology | custom-extract | 5 | accuracy | 0.8400 | 0.8500 | – | – | -0.0100 |" in text
    assert "| MedQA | custom-extract | 0 | accuracy | 0.9100 | 0.9300 | 0.8440 | 0.8530 | -0.0200 |" in text
    # Qwen and MedGemma have only MedQA: no average over different tasks
    assert "| **Average** |  |  |  | **0.8467** | **0.8600** | **–** | **–** | **-0.0133** |" in text
    assert any("states n-shot 2" in note for note in table.notes)


def test_csv_and_latex_hold_the_same_cells(card_runs) -> None:
    runs = [read_run(card_runs["gemma-it"]), read_run(card_runs["meditron"])]
    table = build_table(runs, baseline="gemma-it")
    rows = list(csv.reader(io.StringIO(csv_text(table, percent=True))))
    assert rows[0][:2] == ["task_id", "Task"] and rows[0][-1] == "Δ"
    assert rows[2][0] == "medqa" and rows[2][-3:] == ["76.20", "77.61", "+1.41"]
    assert rows[-1][0] == "average"
    tex = latex(table, percent=True)
    assert r"\toprule" in tex and r"MedQA & galen-cascade & 0 & accuracy & 76.20 & 77.61 & +1.41 \\" in tex
    assert r"$\Delta$" in tex and r"HealthBench Hard" in tex


def test_table_cli_prints_and_writes_each_format(card_runs, tmp_path) -> None:
    md, tex, table_csv = tmp_path / "t.md", tmp_path / "t.tex", tmp_path / "t.csv"
    gemma = str(card_runs["gemma-it"])
    done = _eval(
        "table", gemma, str(card_runs["meditron"]), "--baseline", gemma,
        "--published", "meditron-fo", "--percent", "--output", str(md), "--output", str(tex),
        "--output", str(table_csv),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "| MedQA |" in done.stdout and "Research use only" in done.stdout
    assert md.read_text() == done.stdout
    assert tex.read_text().startswith("% needs") and table_csv.read_text().startswith("task_id,")


def test_table_refuses_mismatched_runs(tmp_path) -> None:
    a = write_fake_run(tmp_path / "a", [FakeTask("medqa", 20, 10)])
    b = write_fake_run(tmp_path / "b", [FakeTask("medqa", 20, 12, wording="Asked otherwise")])
    out = tmp_path / "t.md"
    refused = _eval("table", str(a), str(b), "--output", str(out))
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "medqa: a vs b: prompt hash" in refused.stderr and "--allow-mismatch" in refused.stderr
    assert not out.exists() and refused.stdout == ""
    allowed = _cli("table", str(a), str(b), "--allow-mismatch")
    assert allowed.exit_code == 0 and "tabulated despite a mismatch: medqa" in allowed.stdout


def test_table_flags_differences_within_repeat_noise(tmp_path) -> None:
    repro = {"deterministic": False, "bitwise_reproducible": False,
             "repeat": {"n": 3, "scores": {"medqa": [0.5, 0.55, 0.6]}, "sd": {"medqa": 0.05}}}  # fmt: skip
    a = write_fake_run(tmp_path / "a", [FakeTask("medqa", 20, 10)], reproducibility=repro)
    b = write_fake_run(tmp_path / "b", [FakeTask("medqa", 20, 11)], reproducibility={})  # an older run
    table = build_table([read_run(a), read_run(b)], baseline="a")
    text = markdown(table)
    assert "+0.0500†" in text  # |0.05| < sqrt(0.05^2 + 0.05^2)
    assert any("a is not bitwise reproducible" in n for n in table.notes)
    assert not any("b is not" in n for n in table.notes)


def test_table_bad_input_is_one_line(card_runs, tmp_path) -> None:
    run = str(card_runs["gemma-it"])
    cases = {
        ("--baseline", "nobody"): "--baseline 'nobody' is none of the columns",
        ("--published", "no-such-card"): "unknown card 'no-such-card'",
        ("--output", str(tmp_path / "t.docx")): "use a .md, .csv or .tex name",
        ("--tasks", "medqa,nope"): "no column has nope",
        ("--format", "html"): "--format takes md, csv or latex",
    }
    for args, message in cases.items():
        done = _cli("table", run, *args)
        assert done.exit_code == 2, (args, done.stdout)
        assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    not_a_run = _cli("table", str(tmp_path))
    assert not_a_run.exit_code == 2 and "not an eval run folder" in not_a_run.stderr
    nothing = _cli("table")
    assert nothing.exit_code == 2 and "give at least one run folder" in nothing.stderr


def test_published_file_of_your_own_and_its_errors(card_runs, tmp_path) -> None:
    good = tmp_path / "paper.yaml"
    good.write_text("cards:\n  paper:\n    title: A paper\n    scale: percent\n"
                    "    columns:\n      Their-Model: {medqa: 70.5}\n")  # fmt: skip
    table = build_table([read_run(card_runs["gemma-it"])], published_columns(str(good)), tasks=["medqa"])
    assert "| 0.7050 |" in markdown(table, details=False)
    bad = tmp_path / "bad.yaml"
    bad.write_text("cards:\n  paper:\n    title: A paper\n    scale: percent\n"
                   "    columns:\n      Their-Model: {medqa: high}\n")  # fmt: skip
    done = _cli("table", str(card_runs["gemma-it"]), "--published", str(bad))
    assert done.exit_code == 2 and "cards.paper.columns.Their-Model.medqa" in done.stderr
    over = tmp_path / "over.yaml"
    over.write_text("cards:\n  p:\n    title: t\n    scale: fraction\n    columns:\n      M: {medqa: 70}\n")
    done = _cli("table", str(card_runs["gemma-it"]), "--published", str(over))
    assert done.exit_code == 2 and "outside 0..1" in done.stderr


def test_names_rows_stderr_and_csv_on_stdout(card_runs) -> None:
    done = _cli(
        "table", str(card_runs["gemma-it"]), str(card_runs["meditron"]), "--names", "IT,FO",
        "--tasks", "pubmedqa,medqa", "--stderr", "--no-details", "--format", "csv",
    )  # fmt: skip
    assert done.exit_code == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[0] == ["task_id", "Task", "IT", "FO"]
    assert [r[0] for r in rows[1:]] == ["pubmedqa", "medqa", "average"]
    se = (0.746 * 0.254 / 499) ** 0.5  # one answer per item: the sample stderr
    assert rows[1][2] == f"0.7460 ± {se:.4f}"
    wrong = _cli("table", str(card_runs["gemma-it"]), "--names", "a,b")
    assert wrong.exit_code == 2 and "--names gives 2 names for 1 runs" in wrong.stderr
