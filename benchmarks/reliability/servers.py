"""`galen serve` processes on free loopback ports, and what the suite reads from them."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def healthy(self) -> bool:
        try:
            return (
                self.process.poll() is None and httpx.get(f"{self.url}/health", timeout=10).status_code == 200
            )
        except httpx.HTTPError:
            return False

    def rss_mb(self) -> float:
        return proc_status(self.process.pid, "VmRSS") / 1024

    def threads(self) -> int:
        return proc_status(self.process.pid, "Threads")


def proc_status(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(status.read().split(f"{key}:")[1].split()[0])


@contextmanager
def galen_serve(
    *args: str, log: Path, env: dict[str, str] | None = None, timeout: float = 180
) -> Iterator[Served]:
    """Start `galen serve ARGS` on a free port; on exit, SIGTERM it and wait (kill if it hangs)."""
    port = free_port()
    cmd = [sys.executable, "-m", "galen.cli.main", "serve", "--port", str(port), *args]
    process = subprocess.Popen(cmd, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
    served = Served(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + timeout
        while not served.healthy():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"galen serve did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
