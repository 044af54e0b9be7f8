"""Openers for MCP client sessions over stdio and streamable HTTP."""

from __future__ import annotations

import contextlib
import os
import ssl
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import cache
from typing import Any, TextIO

import anyio
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


# How long closing an event stream may wait for the server to end it (see _FinishStream).
STREAM_END_WAIT_S = 1.0


class _FinishStream(httpx.AsyncByteStream):
    """A response body that, when closed early, first reads on to the server's end of it.

    The MCP client closes a POST's event stream as soon as the JSON-RPC answer arrives, a moment before
    the server's closing chunk, and a notification's 202 without reading its (empty) body; httpx then
    cannot reuse the connection, so nearly every call opened a new TCP connection. The answer is already
    delivered when this runs, so reading on delays no answer; a server that keeps the stream open past
    STREAM_END_WAIT_S gets the connection closed, as before."""

    def __init__(self, inner: httpx.AsyncByteStream, ending: set[anyio.Event]) -> None:
        self._inner = inner
        self._ending = ending

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        done = anyio.Event()
        self._ending.add(done)
        try:
            # A stream that breaks instead of ending cannot be reused, only closed (httpcore closes it).
            with contextlib.suppress(Exception), anyio.move_on_after(STREAM_END_WAIT_S):
                async for _ in self._inner:
                    pass
            await self._inner.aclose()  # before `done`: the waiting request then finds the connection free
        finally:
            self._ending.discard(done)
            done.set()


class _ReusingTransport(httpx.AsyncHTTPTransport):
    """Keeps a session's sequential calls on one kept-alive connection: answers are read to their end
    (_FinishStream), and a request waits for a stream being finished instead of opening a connection
    beside it (at most STREAM_END_WAIT_S; streams that are still being read are never waited for)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._ending: set[anyio.Event] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        for done in list(self._ending):
            await done.wait()
        response = await super().handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _FinishStream(response.stream, self._ending)
        return response


@asynccontextmanager
async def open_http_session(
    url: str, headers: Mapping[str, str] | None = None, timeout_s: float = 30.0
) -> AsyncIterator[ClientSession]:
    """One MCP session over streamable HTTP, on one kept-alive TCP connection while calls are sequential."""
    timeout = httpx.Timeout(timeout_s, read=300.0)
    async with (
        httpx.AsyncClient(
            headers=dict(headers or {}),
            timeout=timeout,
            follow_redirects=False,
            transport=_ReusingTransport(verify=verified_tls()),
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
