"""`galen mcp`: galen's read-only medical tools as an MCP server on stdio, for agents.

An agent framework starts it as a child process; nothing is printed on stdout but the protocol.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from galen.cli.eval import _data_sources
from galen.cli.output import fail


def mcp(
    data: Annotated[
        list[str] | None,
        typer.Option(metavar="TASK=PATH", help="Read a benchmark from this file (default: galen's samples)."),
    ] = None,
    runs: Annotated[
        list[Path] | None,
        typer.Option(metavar="DIR", help="Where eval runs may be read (repeatable; default: here)."),
    ] = None,
) -> None:
    """Serve read-only tools (benchmark items, eval run summaries) over MCP on stdio.

    Example Qwen-Agent tools entry: {'mcpServers': {'galen': {'command': 'galen', 'args': ['mcp',
    '--runs', 'runs']}}}. Research use only: not a medical device.
    """
    from galen.mcp_tools.server import serve_stdio
    from galen.mcp_tools.tools import Toolbox

    folders = tuple(runs or [Path(".")])
    for folder in folders:
        if not folder.is_dir():
            raise fail(f"--runs {folder}: no such folder")
    box = Toolbox(data=_data_sources(data), runs=folders)
    try:
        serve_stdio(box)
    except ImportError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        pass
