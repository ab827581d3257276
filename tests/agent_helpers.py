"""Running the agent scripts of tests/agent_scripts/ in child processes, as a user runs them.

Each agent framework runs in its own process (Qwen-Agent keeps a global MCP manager and event
loop; the Agents SDK its own loop), with a time limit, so a hung agent fails its test instead of
the session. A missing framework or npm package fails the test with the command that installs
it: they are installed by `make install`, never skipped.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = Path(__file__).resolve().parent / "agent_scripts"
FILESYSTEM_BIN = ROOT / "node_modules" / ".bin" / "mcp-server-filesystem"
INSTALL = "run `make install` (it installs galen's `agents` extra and `npm ci`)"


def need(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.fail(f"{module} is not installed: {INSTALL}")


def need_filesystem_server() -> None:
    if not FILESYSTEM_BIN.exists():
        pytest.fail(f"the npm MCP filesystem server is not in {FILESYSTEM_BIN.parent}: {INSTALL}")


def run_script(name: str, settings: dict[str, Any], timeout: float = 400) -> Any:
    """Run tests/agent_scripts/NAME with SETTINGS as JSON; return the JSON of its last line."""
    env = {**os.environ, "OPENAI_AGENTS_DISABLE_TRACING": "1", "PYTHONUNBUFFERED": "1"}
    try:
        done = subprocess.run(
            [sys.executable, str(SCRIPTS / name), json.dumps(settings)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,  # npx looks for the filesystem server in ./node_modules
            env=env,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{name} did not finish in {timeout} s:\n{(exc.stderr or b'')[-3000:]!r}")
    assert done.returncode == 0, f"{name} failed:\n{done.stderr[-4000:]}"
    lines = done.stdout.strip().splitlines()
    assert lines, f"{name} printed nothing:\n{done.stderr[-4000:]}"
    return json.loads(lines[-1])


def galen_mcp(*args: str) -> dict[str, Any]:
    """`galen mcp` as an MCP client starts it (this venv's python, so no PATH lookup)."""
    return {"command": sys.executable, "args": ["-m", "galen.cli.main", "mcp", *args]}
