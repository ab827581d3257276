"""`galen mcp`: the read-only tools of `tools.py` as an MCP server (the `mcp` SDK's FastMCP).

An MCP client (Qwen-Agent's `mcpServers`, the OpenAI Agents SDK's `MCPServerStdio`, Claude
Desktop...) starts `galen mcp` as a child process and talks to it over stdin and stdout. A
tool that fails returns an MCP tool error (`isError: true`) whose text says what to change; the
server itself keeps running. Bad arguments (a missing or mistyped field) are refused by the SDK
in the same way, before a tool runs.
"""

from __future__ import annotations

from typing import Any

from galen import RESEARCH_NOTICE
from galen.mcp_tools import tools
from galen.mcp_tools.tools import Toolbox, ToolInputError

INSTRUCTIONS = (
    "galen's read-only tools: look up medical benchmark items and read the results of galen eval "
    f"runs. {RESEARCH_NOTICE}"
)
INSTALL_HINT = "galen mcp needs the MCP SDK: pip install 'galen[mcp]' (or: pip install 'mcp>=1.9,<2')"


def build_server(box: Toolbox) -> Any:
    """A FastMCP server whose tools read through `box`; raises ImportError with INSTALL_HINT."""
    try:
        from mcp.server.fastmcp import FastMCP
        from mcp.server.fastmcp.exceptions import ToolError
        from mcp.types import ToolAnnotations
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc

    server = FastMCP("galen", instructions=INSTRUCTIONS)
    read_only = ToolAnnotations(readOnlyHint=True, destructiveHint=False, openWorldHint=False)

    def call(fn: Any, *args: Any) -> dict[str, Any]:
        try:
            return fn(box, *args)
        except ToolInputError as exc:  # the agent's mistake: tell it what to change
            raise ToolError(str(exc)) from None

    @server.tool(annotations=read_only)
    def list_benchmarks() -> dict[str, Any]:
        """List the medical benchmarks galen can read, with how many items each has."""
        return call(tools.list_benchmarks)

    @server.tool(annotations=read_only)
    def benchmark_item(benchmark: str, item: str) -> dict[str, Any]:
        """One benchmark item (question, options, gold answer). `benchmark` is a name from
        list_benchmarks (e.g. medqa); `item` is the item's id or its 0-based position."""
        return call(tools.benchmark_item, benchmark, item)

    @server.tool(annotations=read_only)
    def search_benchmark(benchmark: str, words: str, limit: int = 5) -> dict[str, Any]:
        """Items of a benchmark whose question or options contain all of `words`."""
        return call(tools.search_benchmark, benchmark, words, limit)

    @server.tool(annotations=read_only)
    def eval_summary(folder: str) -> dict[str, Any]:
        """Scores of a `galen eval run` folder: model, settings, each task's value and 95% CI."""
        return call(tools.eval_summary, folder)

    @server.tool(annotations=read_only)
    def eval_answer(folder: str, benchmark: str, item: str) -> dict[str, Any]:
        """What the model answered to one item in an eval run folder, and whether it was right."""
        return call(tools.eval_answer, folder, benchmark, item)

    return server


def serve_stdio(box: Toolbox) -> None:
    """Run until the client closes stdin."""
    build_server(box).run(transport="stdio")
