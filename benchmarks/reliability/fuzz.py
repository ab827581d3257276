"""schemathesis over galen's own OpenAPI schema: no answer >= 500, no broken connection, and a
healthy server afterwards.

schemathesis (a dev dependency) generates requests from /openapi.json, valid and invalid, in
its coverage phase (boundary values of every field) and fuzzing phase (random ones), and sends
them with `-w` workers. Runs repeat with new seeds until `requests` have been sent. The server
runs a 96-token window so that a generated `max_tokens` of a million still ends in a second.
Every interaction is read back from schemathesis' NDJSON report: status codes, and requests
that got no response at all (a broken connection or a broken stream). schemathesis' own errors
while it builds a case (a "Runtime Error": no request was sent, e.g. CPython 3.11's
"AST constructor recursion depth mismatch" in hypothesis under worker threads) are counted
apart and reported, not taken for broken connections.
"""

from __future__ import annotations

import collections
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.reliability import Check
from benchmarks.reliability.servers import galen_serve, healthy

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
TOOL_ERRORS = ("Runtime Error",)  # schemathesis failed to build a case: nothing reached the server


def _interactions(report_dir: Path) -> collections.Counter:
    """Status codes of every request in the NDJSON reports (None: no response came)."""
    statuses: collections.Counter = collections.Counter()
    for path in report_dir.glob("*.ndjson"):
        for line in path.read_text().splitlines():
            event = json.loads(line).get("ScenarioFinished")
            if not event:
                continue
            for interaction in (event["recorder"].get("interactions") or {}).values():
                response = interaction.get("response")
                statuses[response.get("status_code") if response else None] += 1
    return statuses


def run(requests: int, max_examples: int, workers: int = 4, time_cap: float = 3600) -> Check:
    statuses: collections.Counter = collections.Counter()
    errors, tool_errors, exit_codes, started = 0, 0, [], time.monotonic()
    said: list[str] = []  # what schemathesis reported for each request without an answer
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "serve.log"
        with galen_serve("--parallel", "4", "--context-length", "96", log=log) as served:
            seed = 0
            while sum(statuses.values()) < requests and time.monotonic() - started < time_cap:
                reports = Path(tmp) / f"run-{seed}"
                cmd = [str(SCHEMATHESIS), "run", f"{served.url}/openapi.json", "-n", str(max_examples)]
                cmd += ["--checks", "not_a_server_error", "--request-timeout", "60", "-w", str(workers)]
                cmd += ["--seed", str(seed), "--report", "ndjson,json", "--report-dir", str(reports)]
                cmd += ["--phases", "coverage,fuzzing"]
                # In the temporary folder: schemathesis keeps a cache (.schemathesis/) in its cwd.
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=time_cap, cwd=tmp)
                exit_codes.append(done.returncode)
                statuses += _interactions(reports)
                for path in reports.glob("*.json"):
                    found = json.loads(path.read_text()).get("errors") or []
                    own = [e for e in found if e.get("title") in TOOL_ERRORS]
                    tool_errors += sum(e.get("count", 1) for e in own)
                    errors += sum(e.get("count", 1) for e in found if e not in own)
                    said += [json.dumps(e)[:300] for e in found]
                seed += 1
            alive = healthy(served)
        traceback = "Traceback" in log.read_text(errors="replace")
    total = sum(statuses.values())
    server_errors = sum(n for code, n in statuses.items() if code is not None and code >= 500)
    broken = statuses[None] + errors
    passed = total >= requests and server_errors == 0 and broken == 0 and alive and not traceback
    codes = ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items(), key=lambda kv: str(kv[0])))
    return Check(
        "fuzz",
        passed,
        f"{total:,} requests in {len(exit_codes)} schemathesis runs, {time.monotonic() - started:.0f} s",
        {
            "answers >= 500": str(server_errors),
            "broken connections": str(broken),
            "healthy after": "yes" if alive else "no",
            "traceback in log": "yes" if traceback else "no",
            "schemathesis' own errors (no request sent)": str(tool_errors),
        },
        [f"status codes: {codes}", f"schemathesis exit codes: {exit_codes}", *said[:5]],
    )
