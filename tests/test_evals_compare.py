"""`galen eval compare`: refuses runs that asked different things (unless told, and then says so),
handles k > 1 answers per item without thresholding, never prints p = 0.000, and flags a
difference smaller than the run-to-run noise a `--repeat` run measured.

Run folders are written by galen's own writers with chosen answers (tests/eval_runs.py);
`test_evals_runner.py::test_compare_two_runs` compares two real runs.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from eval_runs import FakeTask, write_fake_run
from typer.testing import CliRunner

from galen.cli.main import app
from galen.errors import BadRequest
from galen.evals.compare import compare_runs


def _compare(*args: str) -> subprocess.CompletedProcess:
    """`galen eval compare` as its own process: exit code, stdout and stderr as a user sees them."""
    cmd = [sys.executable, "-m", "galen.cli.main", "eval", "compare", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _cli(*args: str):
    """The same in this process (cheaper): .exit_code, .stdout, .stderr."""
    return CliRunner().invoke(app, ["eval", "compare", *args])


@pytest.mark.parametrize(
    ("a", "b", "kw", "named"),
    [
        (FakeTask("medqa", 12, 6), FakeTask("medqa", 12, 6, version="2"), {}, "task version 1 vs 2"),
        (FakeTask("medqa", 12, 6), FakeTask("medqa", 12, 6, data_sha="b" * 64), {}, "data sha256"),
        (FakeTask("medqa", 12, 6), FakeTask("medqa", 12, 6, wording="Asked otherwise"), {}, "prompts differ"),
        (
            FakeTask("medqa", 12, 6, n_shot=5),
            FakeTask("medqa", 12, 6, n_shot=3),
            {"preset": "lm-eval"},
            "n-shot 5 vs 3",
        ),
    ],
)
def test_compare_refuses_runs_that_asked_different_things(tmp_path, a, b, kw, named) -> None:
    run_a = write_fake_run(tmp_path / "a", [a], **kw)
    run_b = write_fake_run(tmp_path / "b", [b], **kw)
    with pytest.raises(BadRequest, match=named):
        compare_runs(run_a, run_b)
    allowed = compare_runs(run_a, run_b, allow_mismatch=True)
    assert any(
        note.startswith("compared despite a mismatch: medqa") and named in note for note in allowed.notes
    )


def test_compare_refuses_a_different_preset_on_the_command_line(tmp_path) -> None:
    run_a = write_fake_run(tmp_path / "a", [FakeTask("medqa", 12, 6)], preset="galen")
    run_b = write_fake_run(tmp_path / "b", [FakeTask("medqa", 12, 6)], preset="lm-eval")
    refused = _compare(str(run_a), str(run_b))
    assert refused.returncode == 2 and refused.stdout == ""
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "preset galen vs lm-eval" in refused.stderr and "--allow-mismatch" in refused.stderr
    allowed = _cli(str(run_a), str(run_b), "--allow-mismatch")
    assert allowed.exit_code == 0, allowed.stderr
    assert "note: compared despite a mismatch: medqa: preset galen vs lm-eval" in allowed.stdout


def test_a_different_limit_is_compared_on_the_common_items(tmp_path) -> None:
    run_a = write_fake_run(tmp_path / "a", [FakeTask("medqa", 10, 5)])
    run_b = write_fake_run(tmp_path / "b", [FakeTask("medqa", 20, 15)])
    (task,) = compare_runs(run_a, run_b).tasks
    assert task.n == 10 and task.accuracy_a == 0.5 and task.accuracy_b == 1.0


def test_k_samples_are_not_thresholded_into_mcnemar(tmp_path) -> None:
    # every item: 1 of 2 answers right in A, 2 of 2 in B; thresholding the means at 0.5 would
    # call both runs "right" on every item and McNemar would see no difference at all
    run_a = write_fake_run(tmp_path / "a", [FakeTask("medqa", 30, 30, k=2, pattern=(True, False))])
    run_b = write_fake_run(tmp_path / "b", [FakeTask("medqa", 30, 30, k=2)])
    (task,) = compare_runs(run_a, run_b).tasks
    assert task.mcnemar is None
    assert (task.accuracy_a, task.accuracy_b, task.diff.mean_diff) == (0.5, 1.0, 0.5)
    shown = _cli(str(run_a), str(run_b))
    assert shown.exit_code == 0 and "n/a (k>1)" in shown.stdout


def test_p_values_are_never_printed_as_zero(tmp_path) -> None:
    run_a = write_fake_run(tmp_path / "a", [FakeTask("medqa", 60, 0)])
    run_b = write_fake_run(tmp_path / "b", [FakeTask("medqa", 60, 60)])
    (task,) = compare_runs(run_a, run_b).tasks
    assert task.diff.p_value == 0.0 and task.mcnemar is not None
    shown = _cli(str(run_a), str(run_b))
    assert shown.exit_code == 0, shown.stderr
    assert "< 0.001" in shown.stdout and "0.000 " not in shown.stdout and "1.7e-18" in shown.stdout


def test_compare_flags_a_difference_within_repeat_noise(tmp_path) -> None:
    noisy = {"deterministic": False, "bitwise_reproducible": False,
             "repeat": {"n": 3, "scores": {"medqa": [0.5, 0.6, 0.7]}, "sd": {"medqa": 0.1}}}  # fmt: skip
    run_a = write_fake_run(tmp_path / "a", [FakeTask("medqa", 20, 10)], reproducibility=noisy)
    # An older run: results.json without the block (galen now always writes one).
    run_b = write_fake_run(tmp_path / "b", [FakeTask("medqa", 20, 12)], reproducibility={})
    result = compare_runs(run_a, run_b)
    (task,) = result.tasks
    assert task.noise_sd == pytest.approx(0.1 * 2**0.5) and task.within_noise
    assert any("smaller than the run-to-run sd" in n for n in result.notes)
    assert any("a is not bitwise reproducible" in n for n in result.notes)
    quiet = write_fake_run(tmp_path / "c", [FakeTask("medqa", 20, 12)], reproducibility={"repeat": "garbled"})
    plain = compare_runs(run_b, quiet)
    assert plain.tasks[0].noise_sd is None and plain.notes == []
