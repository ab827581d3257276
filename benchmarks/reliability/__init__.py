"""galen's reliability suite: `galen serve` under load, faults and hostile input, and long jobs
killed with SIGKILL. `make reliability` runs every check at full size and writes
docs/RELIABILITY.md; `tests/test_reliability.py` runs each at a small size inside `make test`.

| check | full size (`make reliability`) |
|---|---|
| fuzz | schemathesis over galen's OpenAPI schema, >= 10,000 requests: no 5xx, no broken connection |
| load | 64 clients, mixed streamed/non-streamed chat and completions, 60 s, then to 10,000 requests |
| disconnect | a client drops a stream mid-answer: tokens generated after the drop |
| crashes | kill -9 at random points, 5 each: `galen eval run`, `galen data distill`, `galen train sft` |
| auth | with `--api-key`, every route of the app but /health answers 401 |
| verify | `galen data verify` catches one flipped byte in each file of a build |

All traffic goes to servers this suite starts on 127.0.0.1; every run is bounded in count and time.
Each check returns a `Check`: whether it held, and its figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Check:
    name: str
    passed: bool
    size: str  # what was run, e.g. "10,214 requests"
    figures: dict[str, str] = field(default_factory=dict)  # what was measured, for the report
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        figures = "; ".join(f"{k} {v}" for k, v in self.figures.items())
        return f"{self.name}: {'ok' if self.passed else 'FAILED'} ({self.size}) {figures}"
