"""`galen serve` for the checks (galen.testing.server, as the tests use it), and what the suite
reads from a running server: health, resident memory, threads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from galen.testing.server import RunningServer, free_port, start_server, stop_server

ROOT = Path(__file__).resolve().parents[2]
__all__ = ["ROOT", "free_port", "galen_serve", "healthy", "proc_status", "rss_mb"]


def proc_status(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(status.read().split(f"{key}:")[1].split()[0])


def rss_mb(server: RunningServer) -> float:
    return proc_status(server.process.pid, "VmRSS") / 1024


def healthy(server: RunningServer) -> bool:
    try:
        alive = server.process.poll() is None
        return alive and httpx.get(f"{server.url}/health", timeout=10).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def galen_serve(*args: str, log: Path, timeout: float = 180) -> Iterator[RunningServer]:
    """`galen serve ARGS` on a free loopback port for the duration of the block."""
    server = start_server(list(args), log, timeout=timeout)
    try:
        yield server
    finally:
        stop_server(server)
