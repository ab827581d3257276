"""An OpenAI Agents SDK agent on galen serve through Chat Completions or the Responses API,
with MCP servers.

usage: openai_agent.py SETTINGS_JSON
SETTINGS_JSON: `base_url` (galen's /v1), `api` ("chat": OpenAIChatCompletionsModel, the
default; "responses": OpenAIResponsesModel, the SDK's own default model), `mcp` (a list of
{"command", "args"} for MCPServerStdio), `question`, `model_settings` (ModelSettings fields: the
forced tool_choice, max_tokens, extra_body). Tracing is off: the SDK would otherwise upload traces
to OpenAI. MCP tools are listed once, and a tool's failure reaches the model with its reason.
Prints {"final_output", "items": [...]} or {"error": TYPE, "message": ...} on the last line of
stdout. Run in a child process by tests/test_agents_openai.py.
"""

import asyncio
import json
import sys
from contextlib import AsyncExitStack

from agents import (
    Agent,
    ModelSettings,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    Runner,
    set_tracing_disabled,
)
from agents.mcp import MCPServerStdio
from openai import AsyncOpenAI


def _item(item) -> dict:
    raw = item.raw_item
    data = raw if isinstance(raw, dict) else raw.model_dump()
    return {"type": item.type, "raw": data, "output": getattr(item, "output", None)}


def _tool_error(context, error: Exception) -> str:
    return f"Tool error: {type(error).__name__}: {error}"


async def main(settings: dict) -> dict:
    set_tracing_disabled(True)
    client = AsyncOpenAI(base_url=settings["base_url"], api_key="EMPTY", max_retries=0)
    kind = OpenAIResponsesModel if settings.get("api") == "responses" else OpenAIChatCompletionsModel
    model = kind(model="EpistemeAI/Reasoning-Medical-27B", openai_client=client)
    async with AsyncExitStack() as stack:
        servers = []
        for i, params in enumerate(settings["mcp"]):
            server = MCPServerStdio(
                params=params,
                name=f"mcp{i}",
                client_session_timeout_seconds=60,
                # Listed once: the SDK otherwise lists tools again every turn, and a server that
                # died mid-call then ends the run with an empty anyio.ClosedResourceError.
                cache_tools_list=True,
                # The SDK's default tells the model only "An error occurred while running the
                # tool"; this says what (its docs suggest a function of one's own for that).
                failure_error_function=_tool_error,
            )
            servers.append(await stack.enter_async_context(server))
        agent = Agent(
            name="galen-agent",
            instructions="You answer questions about medical benchmarks using the tools.",
            model=model,
            model_settings=ModelSettings(**settings.get("model_settings", {})),
            mcp_servers=servers,
        )
        try:
            result = await Runner.run(agent, settings["question"], max_turns=settings.get("max_turns", 4))
        except Exception as exc:  # what a user of the SDK would see
            return {"error": type(exc).__name__, "message": str(exc)}
    return {"final_output": result.final_output, "items": [_item(i) for i in result.new_items]}


print(json.dumps(asyncio.run(main(json.loads(sys.argv[1]))), ensure_ascii=False, default=str))
