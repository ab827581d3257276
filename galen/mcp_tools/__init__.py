"""Read-only medical tools for agents, served over MCP by `galen mcp`.

tools.py    what each tool does, as plain functions (benchmark items, eval run summaries)
server.py   the tools as an MCP server (the `mcp` SDK's FastMCP), on stdio

Every tool only reads: benchmark files and eval run folders. Nothing calls a network.
"""
