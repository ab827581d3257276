"""A real `galen serve` in a child process on a free loopback port, for tests and benchmarks.

No engine is stubbed: the server runs the embedded SmolLM2 through llama.cpp (or whatever model
the arguments name), as a user gets it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningServer:
    url: str  # http://127.0.0.1:PORT
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(
    args: list[str], log: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> RunningServer:
    """`galen serve --port PORT *args`, its output in `log`, once /health answers 200."""
    port = free_port()
    cmd = [sys.executable, "-m", "galen.cli.main", "serve", "--port", str(port), *args]
    handle = log.open("wb")
    process = subprocess.Popen(
        cmd, stdout=handle, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"galen serve exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return RunningServer(url, process, log)
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"galen serve did not become healthy:\n{log.read_text()}")


def stop_server(server: RunningServer) -> None:
    stop_servers([server])


def stop_servers(servers: list[RunningServer], timeout: float = 15) -> None:
    """SIGTERM to every server at once, then wait for each (killed after `timeout` s): each drains
    and releases its engine in parallel, not one after another."""
    for server in servers:
        server.process.terminate()
    deadline = time.monotonic() + timeout
    for server in servers:
        try:
            server.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
