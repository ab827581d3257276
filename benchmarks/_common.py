"""Helpers shared by the benchmark scripts: machine description, percentiles, the report file."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import statistics
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from galen.testing.server import free_port

__all__ = [
    "PERFORMANCE_MD",
    "ROOT",
    "free_port",
    "machine_lines",
    "markdown_table",
    "percentile",
    "write_section",
]

ROOT = Path(__file__).resolve().parent.parent
PERFORMANCE_MD = ROOT / "docs" / "PERFORMANCE.md"
TITLE = "# Performance"


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation; None for no data."""
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown CPU"
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    return match.group(1).strip() if match else "unknown CPU"


def _memory_gib() -> str:
    try:
        kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))  # type: ignore[union-attr]
    except (OSError, AttributeError):
        return "?"
    return f"{kib / 2**20:.0f} GiB"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_lines(packages: Sequence[str] = ()) -> list[str]:
    """Markdown bullet lines describing where and when the numbers were taken."""
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        f"- Date: {dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"- CPU: {_cpu_model()}, {os.cpu_count()} cores, {_memory_gib()} RAM, no GPU used",
        f"- OS: {platform.system()} {platform.release()}, Python {platform.python_version()}",
        f"- Load average when the run started (1/5/15 min): {load}",
    ]
    if packages:
        lines.append("- Packages: " + ", ".join(f"{p} {_version(p)}" for p in packages))
    return lines


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(out)


def write_section(heading: str, body: str, path: Path = PERFORMANCE_MD) -> None:
    """Put `## heading` + body into the report, replacing only that section if it is there."""
    text = path.read_text() if path.exists() else ""
    if not text.lstrip().startswith(TITLE):
        text = f"{TITLE}\n\n{text.lstrip()}"
    section = f"## {heading}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(heading)}[ \t]*\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip() + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.rstrip() + "\n")
