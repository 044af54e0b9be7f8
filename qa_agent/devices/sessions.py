"""Openers for MCP client sessions over stdio and streamable HTTP."""

from __future__ import annotations

import os
import ssl
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import cache
from typing import Any, TextIO

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
    async with stdio_client(params, errlog=_errlog()) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def _errlog() -> TextIO:
    """Where a stdio server's stderr goes: ours, when it is a real file. The SDK's default is the
    `sys.stderr` of import time, and a child process needs a file descriptor: under Jupyter or a
    test runner's capture that object has none, and every stdio server failed to start."""
    for stream in (sys.stderr, sys.__stderr__):
        try:
            if stream is not None:
                stream.fileno()
                return stream
        except (OSError, ValueError, AttributeError):
            continue
    return _devnull()


@cache
def _devnull() -> TextIO:
    return open(os.devnull, "w")


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
