"""Run the reliability suite and write docs/RELIABILITY.md.

    .venv/bin/python -m benchmarks.reliability            # full size (make reliability)
    .venv/bin/python -m benchmarks.reliability --quick    # small sizes, minutes
    .venv/bin/python -m benchmarks.reliability --only fuzz,load --no-doc

Run it on a quiet machine: the load and disconnect figures depend on it. Each check's latest
result is kept in docs/reliability.json with when, how and under what load it ran, and the page
is written from all of them, so the checks can be run apart (`--only`): the pass/fail checks
(fuzz, crashes, auth, verify) on a busy machine, the timed ones (load, disconnect) on a quiet one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from benchmarks._common import machine_lines
from benchmarks.reliability import Check, auth, crashes, disconnect, fuzz, load, verify
from benchmarks.reliability.servers import ROOT
from galen.provenance import git_commit

DOC = ROOT / "docs" / "RELIABILITY.md"
RESULTS = ROOT / "docs" / "reliability.json"  # each check's latest result, by name

FULL: dict[str, Callable[[], Check | list[Check]]] = {
    "fuzz": lambda: fuzz.run(requests=10_000, max_examples=300),
    "load": lambda: load.run(clients=64, seconds=60, warmup=1000, requests=10_000),
    "disconnect": lambda: disconnect.run(drops=5),
    "crashes": lambda: [crashes.eval_run(5), crashes.data_distill(5), crashes.train_sft(5)],
    # One job's kills alone (the train one takes half an hour), to rerun a check after a fix.
    "crashes-eval": lambda: crashes.eval_run(5),
    "crashes-distill": lambda: crashes.data_distill(5),
    "crashes-train": lambda: crashes.train_sft(5),
    "auth": auth.run,
    "verify": verify.run,
}
QUICK: dict[str, Callable[[], Check | list[Check]]] = {
    "fuzz": lambda: fuzz.run(requests=500, max_examples=5),
    "load": lambda: load.run(clients=16, seconds=10, warmup=50, requests=200),
    "disconnect": lambda: disconnect.run(drops=1),
    "crashes": lambda: [crashes.eval_run(1, limit=4), crashes.data_distill(1, limit=2), crashes.train_sft(1)],
    "crashes-eval": lambda: crashes.eval_run(1, limit=4),
    "crashes-distill": lambda: crashes.data_distill(1, limit=2),
    "crashes-train": lambda: crashes.train_sft(1),
    "auth": auth.run,
    "verify": verify.run,
}


def report(entries: list[dict], machine: list[str]) -> str:
    rows = ["| check | held | size | figures | run |", "|---|---|---|---|---|"]
    for e in entries:
        figures = "<br>".join(f"{k}: {v}" for k, v in e["figures"].items())
        run = f"{e['when']}, commit {e.get('commit') or '?'}, `{e['command']}`, load {e['load']}"
        held = "yes" if e["passed"] else "**no**"
        rows.append(f"| {e['name']} | {held} | {e['size']} | {figures} | {run} |")
    notes = [f"- {e['name']}: {note}" for e in entries for note in e["notes"]]
    return "\n".join(
        [
            "# Reliability",
            "",
            "What `galen serve` and galen's long jobs withstand: hostile input, load, disconnects, kill -9,",
            "missing keys, tampered files. Produced by `make reliability` "
            "(`benchmarks/reliability/`, one module per check, each described in its docstring); "
            "`tests/test_reliability.py` runs each at a small size inside `make test`.",
            "",
            "Each row is that check's latest run (from docs/reliability.json): when, on which commit, the",
            "command, and the load average (1/5/15 min) as it ended. The load and disconnect figures",
            "mean something only from a quiet machine (load near the run's own); the others are",
            "pass/fail checks.",
            "",
            *machine,
            "",
            *rows,
            "",
            *(["## Details", "", *notes, ""] if notes else []),
        ]
    )


def record(checks: list[Check], command: str, load: str) -> list[dict]:
    """Merge this run's checks into docs/reliability.json; return every check's latest entry."""
    saved = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    commit = (git_commit() or "")[:7] or None
    for check in checks:
        stamp = {"when": when, "commit": commit, "command": command, "load": load}
        saved[check.name] = {**asdict(check), **stamp}
    RESULTS.write_text(json.dumps(saved, indent=1) + "\n")
    return list(saved.values())


def main() -> int:
    parser = argparse.ArgumentParser(description="galen's reliability suite")
    parser.add_argument("--quick", action="store_true", help="small sizes (minutes, not an hour)")
    parser.add_argument("--only", help="comma-separated checks: " + ", ".join(FULL))
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs/RELIABILITY.md alone")
    args = parser.parse_args()
    chosen = QUICK if args.quick else FULL
    names = args.only.split(",") if args.only else list(chosen)
    machine, began, checks = (
        machine_lines(["xllamacpp", "schemathesis", "uvicorn", "fastapi"]),
        time.time(),
        [],
    )
    for name in names:
        started = time.time()
        result = chosen[name]()
        for check in result if isinstance(result, list) else [result]:
            checks.append(check)
            print(f"{check.summary()}  [{time.time() - started:.0f} s]", flush=True)
    load_avg = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    flags = " ".join(arg for arg in sys.argv[1:] if arg != "--no-doc")
    command = f".venv/bin/python -m benchmarks.reliability {flags}".strip()
    print(f"{(time.time() - began) / 60:.0f} min, load {load_avg}")
    if not args.no_doc:
        DOC.write_text(report(record(checks, command, load_avg), machine) + "\n")
        print(f"wrote {Path(DOC).relative_to(ROOT)}")
    return 0 if all(c.passed for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
