"""The model card's Qwen-Agent snippet against real `galen serve` processes.

The agent (Qwen-Agent 0.0.34, `qwenvl_oai` with `use_raw_api`) sends galen its MCP tools, galen
returns a tool call, Qwen-Agent runs it on the real MCP server, sends the result back, and the
model answers. The 135M stand-in seldom calls a tool on its own, so the call is forced with
`tool_choice` in the agent's `extra_body`; galen's `tool_choice_after_result: "none"` lets the
model answer once the result is in (Qwen-Agent sends one config every turn). No thinking
budget is sent where the stand-in's default (32 tokens) is what the call needs: the snippet then
runs as a user of `galen serve` runs it. Everything else is real: the card's MCP filesystem
server from npm (installed into ./node_modules by `make install`, started by the card's own
`npx` command), `galen mcp`, and galen's engines. The card lists no `code_interpreter`, and
none is added (it needs a Docker daemon: docs/serve.md#qwen-agent-the-cards-snippet).
"""

from __future__ import annotations

import json
import sys

import pytest
from agent_helpers import SCRIPTS, galen_mcp, need, need_filesystem_server, run_script

pytestmark = pytest.mark.slow


def _run(base_url: str, mcp_servers: dict, extra_body: dict, **cfg) -> list[dict]:
    need("qwen_agent")
    settings = {
        "model_server": base_url,
        "mcp_servers": mcp_servers,
        "generate_cfg": {"max_tokens": 256, "seed": 0, **cfg, "extra_body": extra_body},
    }
    return run_script("qwen_card.py", settings)


def _named(name: str) -> dict:
    return {"type": "function", "function": {"name": name}}


def _calls(messages: list[dict]) -> list[dict]:
    return [m["function_call"] for m in messages if m.get("function_call")]


def _results(messages: list[dict]) -> list[str]:
    return [m["content"] for m in messages if m["role"] == "function"]


def test_card_snippet_runs_the_npm_filesystem_server(agent_server, tmp_path):
    need_filesystem_server()
    desk = tmp_path / "desktop"
    (desk / "scans").mkdir(parents=True)
    (desk / "todo.txt").write_text("notes")
    # The card's mcpServers entry, with our folder.
    filesystem = {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", str(desk)]}
    messages = _run(
        agent_server.base_url,
        {"filesystem": filesystem},
        {"tool_choice": _named("filesystem-list_allowed_directories"), "tool_choice_after_result": "none"},
        max_tokens=96,
    )  # fmt: skip
    calls, results = _calls(messages), _results(messages)
    assert [c["name"] for c in calls] == ["filesystem-list_allowed_directories"], messages
    assert len(results) == 1 and str(desk.resolve()) in results[0]  # the npm server's own answer
    assert messages[-1]["role"] == "assistant" and not messages[-1].get("function_call")


def test_required_tool_choice_calls_galen_mcp(agent_server, tmp_path):
    messages = _run(
        agent_server.base_url,
        {"galen": galen_mcp("--runs", str(tmp_path))},
        {"tool_choice": "required", "tool_choice_after_result": "none"},  # the default budget: 32
        max_tokens=600,  # room for a forced call's strings (200 characters each at most)
    )
    calls, results = _calls(messages), _results(messages)
    assert len(calls) == 1 and calls[0]["name"].startswith("galen-"), messages
    json.loads(calls[0]["arguments"])  # constrained by the tool's schema on llama.cpp
    assert len(results) == 1 and results[0].strip()
    assert messages[-1]["role"] == "assistant" and not messages[-1].get("function_call")


def _scripted() -> dict:
    return {"scripted": {"command": sys.executable, "args": [str(SCRIPTS / "scripted_mcp.py")]}}


def test_malformed_arguments_become_a_tool_error_the_agent_sees(qwen_server):
    # tiny-qwen3.6 has random weights and writes Qwen3.6's XML calls with no schema applied, so a
    # forced call's arguments are noise: galen returns the call with the text as written (as
    # OpenAI's API does), Qwen-Agent fails to decode it and gives the model the error as the
    # tool's result, and the agent goes on to an answer.
    messages = _run(
        qwen_server.base_url,
        _scripted(),
        {"tool_choice": _named("scripted-lab_result"), "tool_choice_after_result": "none",
         "chat_template_kwargs": {"enable_thinking": False}},
        max_tokens=24,
    )  # fmt: skip
    calls, results = _calls(messages), _results(messages)
    assert [c["name"] for c in calls] == ["scripted-lab_result"], messages
    with pytest.raises(ValueError):
        json.loads(calls[0]["arguments"])
    assert len(results) == 1 and "error occurred when calling tool `scripted-lab_result`" in results[0]
    assert messages[-1]["role"] == "assistant" and not messages[-1].get("function_call")


def test_mcp_server_dying_mid_call_is_an_error_the_agent_sees(agent_server):
    messages = _run(
        agent_server.base_url,
        _scripted(),
        {"tool_choice": _named("scripted-patient_record"), "tool_choice_after_result": "none",
         "thinking_budget": 16},
        max_tokens=128,
    )  # fmt: skip
    calls, results = _calls(messages), _results(messages)
    assert [c["name"] for c in calls] == ["scripted-patient_record"], messages
    assert len(results) == 1 and "Connection closed" in results[0], results
    assert messages[-1]["role"] == "assistant"
