"""Openers for MCP client sessions over stdio and streamable HTTP."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import cache
from typing import Any

import httpx
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from qa_agent.childproc import child_env


@asynccontextmanager
async def open_stdio_session(
    command: str, args: list[str], env: Mapping[str, str] | None = None, *, keep: tuple[str, ...] = ()
) -> AsyncIterator[ClientSession]:
    """A server over stdio, started with child_env(env, keep=keep): never the agent's secrets."""
    params = StdioServerParameters(command=command, args=args, env=child_env(env, keep=keep))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


@cache
def verified_tls() -> ssl.SSLContext:
    """One verifying TLS context per process: building one reads the CA bundle (tens of ms of
    CPU), which every new HTTP client would otherwise repeat while the other lanes wait."""
    return ssl.create_default_context()


@asynccontextmanager
async def open_http_session(
    url: str, headers: Mapping[str, str] | None = None, timeout_s: float = 30.0
) -> AsyncIterator[ClientSession]:
    timeout = httpx.Timeout(timeout_s, read=300.0)
    async with (
        httpx.AsyncClient(
            headers=dict(headers or {}), timeout=timeout, follow_redirects=False, verify=verified_tls()
        ) as http,
        streamable_http_client(url, http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def tool_schemas(tools: list[Any]) -> dict[str, dict[str, Any]]:
    """name -> {description, inputSchema}: plain data, safe to keep in graph state."""
    out: dict[str, dict[str, Any]] = {}
    for tool in tools:
        schema = dict(getattr(tool, "inputSchema", None) or {})
        schema.setdefault("type", "object")
        schema.setdefault("properties", {})
        out[tool.name] = {"description": getattr(tool, "description", "") or "", "inputSchema": schema}
    return out
