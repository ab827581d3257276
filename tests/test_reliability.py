"""The reliability suite (benchmarks/reliability/) at a small size; `make reliability` runs it
whole and writes docs/RELIABILITY.md. Distillation and training killed mid-run are covered at
this size by tests/test_data_distill.py and tests/test_train_resume.py."""

from __future__ import annotations

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
