"""Run the reliability suite and write docs/RELIABILITY.md.

    .venv/bin/python -m benchmarks.reliability            # full size (make reliability)
    .venv/bin/python -m benchmarks.reliability --quick    # small sizes, minutes
    .venv/bin/python -m benchmarks.reliability --only fuzz,load --no-doc

Run it on a quiet machine: the load and disconnect figures depend on it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks._common import machine_lines
from benchmarks.reliability import Check, auth, crashes, disconnect, fuzz, load, verify
from benchmarks.reliability.servers import ROOT

DOC = ROOT / "docs" / "RELIABILITY.md"

FULL: dict[str, Callable[[], Check | list[Check]]] = {
    "fuzz": lambda: fuzz.run(requests=10_000, max_examples=300),
    "load": lambda: load.run(clients=64, seconds=60, warmup=1000, requests=10_000),
    "disconnect": lambda: disconnect.run(drops=5),
    "crashes": lambda: [crashes.eval_run(5), crashes.data_distill(5), crashes.train_sft(5)],
    "auth": auth.run,
    "verify": verify.run,
}
QUICK: dict[str, Callable[[], Check | list[Check]]] = {
    "fuzz": lambda: fuzz.run(requests=500, max_examples=5),
    "load": lambda: load.run(clients=16, seconds=10, warmup=50, requests=200),
    "disconnect": lambda: disconnect.run(drops=1),
    "crashes": lambda: [crashes.eval_run(1, limit=4), crashes.data_distill(1, limit=2), crashes.train_sft(1)],
    "auth": auth.run,
    "verify": verify.run,
}


def report(checks: list[Check], command: str, machine: list[str], seconds: float) -> str:
    rows = ["| check | held | size | figures |", "|---|---|---|---|"]
    for c in checks:
        figures = "<br>".join(f"{k}: {v}" for k, v in c.figures.items())
        rows.append(f"| {c.name} | {'yes' if c.passed else '**no**'} | {c.size} | {figures} |")
    notes = [f"- {c.name}: {note}" for c in checks for note in c.notes]
    return "\n".join(
        [
            "# Reliability",
            "",
            "What `galen serve` and galen's long jobs withstand: hostile input, load, disconnects, kill -9,",
            "missing keys, tampered files. Produced by `make reliability` "
            "(`benchmarks/reliability/`, one module per check, each described in its docstring); "
            "`tests/test_reliability.py` runs each at a small size inside `make test`.",
            "",
            f"Measured with `{command}` ({seconds / 60:.0f} min).",
            "",
            *machine,
            "",
            *rows,
            "",
            *(["## Details", "", *notes, ""] if notes else []),
        ]
    )


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
    machine.append(f"- Load average when the run ended (1/5/15 min): {load_avg}")
    flags = " ".join(arg for arg in sys.argv[1:] if arg != "--no-doc")
    command = f".venv/bin/python -m benchmarks.reliability {flags}".strip()
    if not args.no_doc:
        DOC.write_text(report(checks, command, machine, time.time() - began) + "\n")
        print(f"wrote {Path(DOC).relative_to(ROOT)}")
    return 0 if all(c.passed for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
