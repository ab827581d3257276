"""An OpenAI Agents SDK agent on real `galen serve` processes, through Chat Completions
(`OpenAIChatCompletionsModel`) and the Responses API (`OpenAIResponsesModel`, the SDK's
default), with MCP servers started by the SDK (`MCPServerStdio`).

As in test_agents_qwen.py, the first call is forced (`ModelSettings.tool_choice`); the SDK
resets tool_choice after a tool ran, and galen's `tool_choice_after_result: "none"` (honoured by
both APIs) makes the next turn an answer. The MCP tools, their results and the model are real.
"""

from __future__ import annotations

import json
import sys

import pytest
from agent_helpers import SCRIPTS, galen_mcp, need, run_script

pytestmark = pytest.mark.slow


def _run(base_url: str, mcp: list[dict], question: str, api: str = "chat", **model_settings) -> dict:
    need("agents")
    settings = {"base_url": base_url, "api": api, "mcp": mcp, "question": question}
    settings["model_settings"] = model_settings
    return run_script("openai_agent.py", settings)


def _named(name: str) -> dict:
    return {"type": "function", "function": {"name": name}}


def _kinds(out: dict) -> list[str]:
    """The run's items, less reasoning (the SDK keeps the model's reasoning_content as items)."""
    return [item["type"] for item in out["items"] if item["type"] != "reasoning_item"]


def _output(out: dict) -> str:
    """The tool's result as the model gets it (an MCP text part, or the failure function's text)."""
    output = next(item["output"] for item in out["items"] if item["type"] == "tool_call_output_item")
    return output["text"] if isinstance(output, dict) else output


def _call(out: dict) -> dict:
    return next(item["raw"] for item in out["items"] if item["type"] == "tool_call_item")


def test_agent_calls_galen_mcp_and_answers(agent_server, tmp_path):
    out = _run(
        agent_server.base_url,
        [galen_mcp("--runs", str(tmp_path))],
        "Which medical benchmarks can you look up?",
        tool_choice="list_benchmarks", max_tokens=96, seed=0,
        extra_body={"tool_choice_after_result": "none"},  # the stand-in's default budget: 32 tokens
    )  # fmt: skip
    assert "error" not in out, out
    assert _kinds(out) == ["tool_call_item", "tool_call_output_item", "message_output_item"], out
    assert _call(out)["name"] == "list_benchmarks"
    listed = json.loads(_output(out))  # galen mcp's own answer
    assert "medqa" in [b["name"] for b in listed["benchmarks"]]
    assert isinstance(out["final_output"], str)


def test_agent_through_responses_api_calls_galen_mcp_and_answers(agent_server, tmp_path):
    # The same loop through /v1/responses: the call comes back as a function_call item, the SDK
    # sends it and its function_call_output (and the reasoning item) back as input, and galen's
    # tool_choice_after_result, now past a tool result, lets the model answer.
    out = _run(
        agent_server.base_url,
        [galen_mcp("--runs", str(tmp_path))],
        "Which medical benchmarks can you look up?",
        # Room for the answer to end: the SDK raises ModelBehaviorError on an incomplete
        # response (max_output_tokens reached), where chat completions' finish "length" passes.
        api="responses", tool_choice="list_benchmarks", max_tokens=512,
        extra_body={"tool_choice_after_result": "none", "seed": 0},  # the default budget: 32
    )  # fmt: skip
    assert "error" not in out, out
    assert _kinds(out) == ["tool_call_item", "tool_call_output_item", "message_output_item"], out
    call = _call(out)
    assert call["type"] == "function_call" and call["name"] == "list_benchmarks"
    assert call["id"].startswith("fc_")  # galen's item id: the chat completions path has none
    assert call["call_id"] and isinstance(json.loads(call["arguments"]), dict)
    listed = json.loads(_output(out))
    assert "medqa" in [b["name"] for b in listed["benchmarks"]]
    assert isinstance(out["final_output"], str)


def _scripted() -> list[dict]:
    return [{"command": sys.executable, "args": [str(SCRIPTS / "scripted_mcp.py")]}]


def test_malformed_arguments_become_a_tool_error_the_agent_sees(qwen_server):
    # See test_agents_qwen.py: tiny-qwen3.6's forced call carries noise for arguments; the SDK
    # gives the model the parse error as the tool's output, and the run goes on to an answer.
    out = _run(
        qwen_server.base_url, _scripted(), "Latest creatinine?",
        tool_choice="lab_result", max_tokens=24, seed=0,
        extra_body={"tool_choice_after_result": "none", "chat_template_kwargs": {"enable_thinking": False}},
    )  # fmt: skip
    assert "error" not in out, out
    assert _kinds(out) == ["tool_call_item", "tool_call_output_item", "message_output_item"], out
    with pytest.raises(ValueError):
        json.loads(_call(out)["arguments"])
    assert "ModelBehaviorError: Invalid JSON input for tool lab_result" in _output(out)


def test_mcp_server_dying_mid_call_gives_a_clear_error(agent_server):
    out = _run(
        agent_server.base_url, _scripted(), "Open the record of patient 12.",
        tool_choice="patient_record", max_tokens=128, seed=0,
        extra_body={"tool_choice_after_result": "none", "thinking_budget": 16},
    )  # fmt: skip
    assert "error" not in out, out
    assert _kinds(out) == ["tool_call_item", "tool_call_output_item", "message_output_item"], out
    assert _output(out) == "Tool error: McpError: Connection closed"
