"""The reliability suite (benchmarks/reliability/) at a small size; `make reliability` runs it
whole and writes docs/RELIABILITY.md. Distillation and training killed mid-run are covered at
this size by tests/test_data_distill.py and tests/test_train_resume.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `pytest` run without `python -m`
    sys.path.insert(0, str(ROOT))

from benchmarks.reliability import auth, crashes, disconnect, fuzz, load, verify  # noqa: E402


def _held(check) -> None:
    assert check.passed, check.summary() + "\n" + "\n".join(check.notes)


def test_fuzzing_finds_no_server_error_and_no_broken_connection():
    _held(fuzz.run(requests=300, max_examples=3))


def test_under_load_only_200_and_429_and_memory_stays_flat():
    _held(load.run(clients=8, seconds=5, warmup=20, requests=60))


def test_a_dropped_stream_stops_its_generation():
    _held(disconnect.run(drops=1))


def test_a_killed_eval_run_finishes_with_the_same_samples():
    _held(crashes.eval_run(kills=1, limit=4))


def test_every_route_but_health_needs_the_key(smollm2_engine):
    _held(auth.run(smollm2_engine))


def test_verify_catches_a_flipped_byte_in_any_file_of_a_build():
    _held(verify.run())


def test_the_train_crash_check_says_why_a_run_failed(tmp_path):
    """The note a failed resume gets (a run that trained past max_steps, the failure the check
    once reported without a reason), written from files laid out as such a run leaves them."""
    for step in (5, 6):
        (tmp_path / "checkpoints" / f"checkpoint-{step}").mkdir(parents=True)
        (tmp_path / "checkpoints" / f"checkpoint-{step}" / "trainer_state.json").write_text(
            json.dumps({"global_step": step})
        )
    (tmp_path / "checkpoints" / "checkpoint-7").mkdir()
    (tmp_path / "checkpoints" / "checkpoint-7" / "trainer_state.json").write_text('{"global_st')  # torn
    assert crashes._checkpoints(tmp_path) == [5, 6]
    last = str(tmp_path / "checkpoints" / "checkpoint-6")
    lines = [json.dumps({"step": s, "loss": 1.0}) for s in range(1, 8)] + ['{"step": 8, "lo']
    (tmp_path / "metrics.jsonl").write_text("\n".join(lines))
    info = {"status": "finished", "global_step": 7, "resumed_from": [last]}
    (tmp_path / "run.json").write_text(json.dumps(info))
    assert crashes._why_not_resumed(tmp_path, [last]) == (
        "status finished, global_step 7 (expected finished, 6); "
        "logged steps [1, 2, 3, 4, 5, 6, 7] (expected [1, 2, 3, 4, 5, 6])"
    )
    info.update(global_step=6, resumed_from=[])
    (tmp_path / "run.json").write_text(json.dumps(info))
    (tmp_path / "metrics.jsonl").write_text("\n".join(lines[:6]))
    assert crashes._why_not_resumed(tmp_path, [last]) == f"last resumed_from [] (expected ['{last}'])"
    assert crashes._why_not_resumed(tmp_path, []) is None
