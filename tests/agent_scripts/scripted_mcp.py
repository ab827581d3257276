"""A scripted MCP server (the `mcp` SDK's FastMCP, on stdio) with two short tools:
`lab_result` answers a fixed value, and `patient_record` kills the server in the middle of the
call. No real server dies on cue; and the small random model that writes malformed calls has a
768-token window, too small for a real server's tool list. Used by tests/test_agents_*.py."""

import os

from mcp.server.fastmcp import FastMCP

server = FastMCP("scripted")


@server.tool()
def lab_result(test: str) -> str:
    """Latest value of a laboratory test."""
    return f"{test}: 1.9 mg/dL (scripted)"


@server.tool()
def patient_record(patient_id: str) -> str:
    """A patient's record, by id."""
    os._exit(3)  # dies mid-call: no answer, the pipe closes


if __name__ == "__main__":
    server.run(transport="stdio")
