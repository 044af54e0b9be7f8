"""A thin stdio MCP front that forwards ``tools/list`` and ``tools/call`` verbatim to a running world."""

from __future__ import annotations

from typing import Any

from mcp import ClientSession, types
from mcp.client.streamable_http import streamable_http_client
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from qa_agent.world.sim.server import INSTRUCTIONS, SERVER_NAME, SERVER_VERSION


def build_proxy(upstream: ClientSession) -> Server[Any, Any]:
    server: Server[Any, Any] = Server(SERVER_NAME, version=SERVER_VERSION, instructions=INSTRUCTIONS)

    @server.list_tools()
    async def list_tools() -> list[types.Tool]:
        return (await upstream.list_tools()).tools

    @server.call_tool(validate_input=False)
    async def call_tool(name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        return await upstream.call_tool(name, arguments)

    del list_tools, call_tool
    return server


async def run_stdio_proxy(url: str) -> None:
    async with streamable_http_client(url) as (read, write, _sid), ClientSession(read, write) as upstream:
        await upstream.initialize()
        server = build_proxy(upstream)
        async with stdio_server() as (sin, sout):
            await server.run(sin, sout, server.create_initialization_options())
