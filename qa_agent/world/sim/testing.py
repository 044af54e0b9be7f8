"""Client helpers for tests and benchmarks that drive a simulator over real MCP transports."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client


@contextlib.asynccontextmanager
async def http_session(url: str) -> AsyncIterator[ClientSession]:
    """An initialised MCP client session over streamable HTTP."""
    async with streamable_http_client(url) as (read, write, _sid), ClientSession(read, write) as session:
        await session.initialize()
        yield session


@contextlib.asynccontextmanager
async def stdio_session(command: str, args: Sequence[str]) -> AsyncIterator[ClientSession]:
    """An initialised MCP client session over stdio with a freshly spawned server process."""
    params = StdioServerParameters(command=command, args=list(args))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def result_text(result: types.CallToolResult) -> str:
    """The text blocks of a tool result, joined by newlines."""
    return "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))
