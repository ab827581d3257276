"""`galen mcp` through a real MCP client session (the `mcp` SDK's stdio client, as agent
frameworks use it), on a real eval run folder written by `galen eval run` against galen serve."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import galen_mcp, need

need("mcp")

from mcp import ClientSession, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "galen" / "evals" / "samples" / "medqa.jsonl"
TOOLS = {"list_benchmarks", "benchmark_item", "search_benchmark", "eval_summary", "eval_answer"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, server) -> Path:
    """A folder holding one eval run: medqa, 2 items, on the session's galen serve."""
    root = tmp_path_factory.mktemp("runs")
    done = subprocess.run(
        [sys.executable, "-m", "galen.cli.main", "eval", "run", "--model", server.base_url, "--tasks",
         "medqa", "--limit", "2", "--max-tokens", "16", "--no-think", "--output", str(root / "medqa-run")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return root


CALLS: list[tuple[str, dict[str, Any]]] = [
    ("list_benchmarks", {}),
    ("benchmark_item", {"benchmark": "medqa", "item": "0"}),
    ("benchmark_item", {"benchmark": "medqa", "item": "9999"}),
    ("benchmark_item", {"benchmark": "medqb", "item": "0"}),
    ("benchmark_item", {"benchmark": "medqa"}),  # a required argument missing
    ("search_benchmark", {"benchmark": "medqa", "words": "FERRITIN hemoglobin"}),
    ("eval_summary", {"folder": "medqa-run"}),
    ("eval_summary", {"folder": "/etc"}),
    ("eval_answer", {"folder": "medqa-run", "benchmark": "medqa", "item": "900000"}),
    ("eval_answer", {"folder": "medqa-run", "benchmark": "pubmedqa", "item": "0"}),
]


async def _session(runs: Path) -> tuple[list[Any], list[Any]]:
    spec = galen_mcp("--runs", str(runs))
    params = StdioServerParameters(command=spec["command"], args=spec["args"])
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = (await session.list_tools()).tools
        results = [await session.call_tool(name, args) for name, args in CALLS]
    return tools, results


@pytest.fixture(scope="module")
def session(runs) -> tuple[list[Any], dict[int, Any]]:
    """Every call of CALLS in one client session (one server start for the module)."""
    tools, results = asyncio.run(asyncio.wait_for(_session(runs), timeout=120))
    return tools, dict(enumerate(results))


def _data(result: Any) -> dict[str, Any]:
    assert not result.isError, result.content
    return json.loads(result.content[0].text)


def _error(result: Any) -> str:
    assert result.isError, result.content
    return result.content[0].text


def test_tools_are_listed_read_only(session):
    tools, _ = session
    assert {t.name for t in tools} == TOOLS
    assert all(t.annotations.readOnlyHint and not t.annotations.openWorldHint for t in tools)


def test_benchmark_lookup(session):
    _, r = session
    names = {b["name"]: b for b in _data(r[0])["benchmarks"]}
    assert names["medqa"]["items"] == len(SAMPLE.read_text().splitlines())
    item = _data(r[1])
    first = json.loads(SAMPLE.read_text().splitlines()[0])
    assert item["question"] == first["question"] and item["answer"] == first["answer_idx"]
    assert item["options"] == first["options"]
    hits = _data(r[5])["items"]
    assert hits and all("ferritin" in h["question"].lower() for h in hits)


def test_bad_arguments_are_tool_errors_and_the_server_carries_on(session):
    _, r = session
    assert "position from 0 to" in _error(r[2])
    assert "unknown benchmark 'medqb'" in _error(r[3]) and "medqa" in _error(r[3])
    assert "item" in _error(r[4])  # refused by the SDK's argument validation
    assert not r[5].isError  # later calls still answer


def test_eval_run_summary_and_answer(session, runs):
    _, r = session
    summary = _data(r[6])
    results = json.loads((runs / "medqa-run" / "results.json").read_text())
    assert summary["tasks"]["medqa"]["n"] == 2
    assert summary["tasks"]["medqa"]["value"] == results["tasks"]["medqa"]["value"]
    assert summary["model"] == results["config"]["model"] and "Research use only" in summary["notice"]
    assert "outside the run folders" in _error(r[7])
    answer = _data(r[8])["answers"][0]
    row = next(json.loads(line) for line in (runs / "medqa-run" / "samples_medqa.jsonl").open())
    assert row["id"] == "900000"  # the sample's realidx
    assert answer["content"] == row["content"] and answer["gold"] == row["gold"]
    assert "it ran: medqa" in _error(r[9])


def test_cli_refuses_a_missing_runs_folder(tmp_path):
    spec = galen_mcp("--runs", str(tmp_path / "nope"))
    done = subprocess.run(
        [spec["command"], *spec["args"]], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 2 and "no such folder" in done.stderr
