"""An OpenAI Agents SDK agent on real `galen serve` processes, through Chat Completions
(`OpenAIChatCompletionsModel`), with MCP servers started by the SDK (`MCPServerStdio`).

As in test_agents_qwen.py, the first call is forced (`ModelSettings.tool_choice`); the SDK
resets tool_choice after a tool ran, and galen's `tool_choice_after_result: "none"` makes the
next turn an answer. The MCP tools, their results and the model are real.
"""

from __future__ import annotations

import json
import sys

import pytest
from agent_helpers import SCRIPTS, galen_mcp, need, run_script

pytestmark = pytest.mark.slow


def _run(base_url: str, mcp: list[dict], question: str, **model_settings) -> dict:
    need("agents")
    settings = {"base_url": base_url, "mcp": mcp, "question": question, "model_settings": model_settings}
    return run_script("openai_agent.py", settings)


def _named(name: str) -> dict:
    return {"type": "function", "function": {"name": name}}


def _kinds(out: dict) -> list[str]:
    return [item["type"] for item in out["items"]]


def test_agent_calls_galen_mcp_and_answers(agent_server, tmp_path):
    out = _run(
        agent_server.base_url,
        [galen_mcp("--runs", str(tmp_path))],
        "Show me MedQA item 0 and explain its answer.",
        tool_choice="benchmark_item", max_tokens=200, seed=0,
        extra_body={"tool_choice_after_result": "none", "thinking_budget": 32},
    )  # fmt: skip
    assert "error" not in out, out
    assert _kinds(out)[:2] == ["tool_call_item", "tool_call_output_item"], out
    assert out["items"][0]["raw"]["name"] == "benchmark_item"
    result = out["items"][1]["output"]
    assert "medqa" in result or "unknown benchmark" in result or "no item" in result  # galen mcp's answer
    assert _kinds(out)[-1] == "message_output_item" and isinstance(out["final_output"], str)


def _scripted() -> list[dict]:
    return [{"command": sys.executable, "args": [str(SCRIPTS / "scripted_mcp.py")]}]


def test_malformed_arguments_become_a_tool_error_the_agent_sees(qwen_server):
    # See test_agents_qwen.py: tiny-qwen3.6's forced call carries noise for arguments; the SDK
    # gives the model a parse error as the tool's output, and the run goes on to an answer.
    out = _run(
        qwen_server.base_url, _scripted(), "Latest creatinine?",
        tool_choice="lab_result", max_tokens=24, seed=0,
        extra_body={"tool_choice_after_result": "none", "chat_template_kwargs": {"enable_thinking": False}},
    )  # fmt: skip
    assert "error" not in out, out
    assert _kinds(out) == ["tool_call_item", "tool_call_output_item", "message_output_item"], out
    with pytest.raises(ValueError):
        json.loads(out["items"][0]["raw"]["arguments"])
    assert "error occurred while parsing tool arguments" in out["items"][1]["output"]


def test_mcp_server_dying_mid_call_gives_a_clear_error(agent_server):
    out = _run(
        agent_server.base_url, _scripted(), "Open the record of patient 12.",
        tool_choice="patient_record", max_tokens=128, seed=0,
        extra_body={"tool_choice_after_result": "none", "thinking_budget": 16},
    )  # fmt: skip
    assert "error" not in out, out
    assert _kinds(out) == ["tool_call_item", "tool_call_output_item", "message_output_item"], out
    assert "Connection closed" in out["items"][1]["output"]
