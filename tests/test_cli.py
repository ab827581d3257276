"""The `galen` command line: clear messages for bad flags, and the terminal chat client."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from galen import RESEARCH_NOTICE
from galen.cli import serve as serve_cli
from galen.cli.main import app

runner = CliRunner()


def _galen(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "galen.cli.main", *args], capture_output=True, text=True, timeout=timeout
    )


def test_help_shows_the_research_notice():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0 and "Research use only" in result.output
    assert "serve" in result.output and "chat" in result.output


def test_serve_binds_loopback_by_default():
    assert inspect.signature(serve_cli.serve).parameters["host"].default == "127.0.0.1"


def test_serve_with_missing_model_names_it():
    result = _galen("serve", "--model", "/no/such/model.gguf")
    assert result.returncode == 2
    assert "/no/such/model.gguf" in result.stderr and "Traceback" not in result.stderr


def test_serve_with_bad_engine_or_preset_names_the_flag():
    assert "--engine" in _galen("serve", "--engine", "tpu-magic").stderr
    assert "--preset" in _galen("serve", "--preset", "spicy").stderr


def test_chat_one_question_against_a_server(server):
    result = _galen(
        "chat", "Define oliguria.", "--base-url", server.base_url, "--no-think", "--max-tokens", "24"
    )
    assert result.returncode == 0, result.stderr
    assert RESEARCH_NOTICE.split(":")[0] in result.stdout
    assert len(result.stdout.strip().splitlines()) >= 2


def test_chat_without_a_server_says_so():
    result = _galen("chat", "hello", "--base-url", "http://127.0.0.1:9/v1")
    assert result.returncode == 2 and "no server" in result.stdout


@pytest.mark.parametrize(
    "command",
    [
        "eval run",
        "eval healthbench",
        "eval pairwise",
        "eval compare",
        "data build",
        "data distill",
        "data synth",
        "data report",
        "data review export",
        "data review import",
        "train sft",
        "train export",
        "lineage",
        "chat",
        "serve",
        "mcp",
    ],
)
def test_help_reads_whole_at_80_columns(command: str):
    result = runner.invoke(app, [*command.split(), "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    assert "…" not in result.output, result.output  # rich cuts a name that does not fit with "…"
    assert max(len(line) for line in result.output.splitlines()) <= 80
