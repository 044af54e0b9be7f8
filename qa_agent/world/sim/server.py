"""The MCP server (low-level API, so the verbatim mobile-mcp 1.0.4 schemas are served unchanged)."""

from __future__ import annotations

from typing import Any

from mcp import types
from mcp.server.lowlevel import Server

from qa_agent.world.sim.schema import mcp_tools, tool_spec
from qa_agent.world.sim.tools import Simulator

SERVER_NAME = "mobile-mcp"
SERVER_VERSION = "1.0.4+qa-sim"
INSTRUCTIONS = "qa-sim: simulated Android devices behind the mobile-mcp 1.0.4 tool surface."


def build_server(sim: Simulator) -> Server[Any, Any]:
    """An MCP server whose tools act on ``sim`` (one shared world for every session)."""
    server: Server[Any, Any] = Server(SERVER_NAME, version=SERVER_VERSION, instructions=INSTRUCTIONS)
    tools = [t for t in mcp_tools() if t.name not in sim.config.without_tools]

    @server.list_tools()
    async def list_tools() -> list[types.Tool]:
        return tools

    @server.call_tool(validate_input=False)
    async def call_tool(name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        return await sim.call(name, arguments)

    del list_tools, call_tool
    assert tool_spec()["tools"]
    return server
