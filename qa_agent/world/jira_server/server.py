"""The MCP server (low-level ``mcp`` API) and its stdio / streamable-HTTP runners."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import mcp.types as types
import uvicorn
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from qa_agent.serving import base_url, bind_socket, serve_announced
from qa_agent.world.jira_server.schemas import OUTPUT_SCHEMA, TOOL_SPECS
from qa_agent.world.jira_server.store import TicketStore
from qa_agent.world.jira_server.tools import JiraTools, ServerConfig, ToolError, dumps

SERVER_NAME = "qa-jira"
SERVER_VERSION = "0.1.0"
MCP_PATH = "/mcp"
READY_PREFIX = "qa-jira listening on "


def tool_definitions() -> list[types.Tool]:
    tools = []
    for spec in TOOL_SPECS.values():
        tools.append(
            types.Tool(
                name=spec["name"],
                title=spec.get("title"),
                description=spec.get("description"),
                inputSchema=spec["inputSchema"],
                outputSchema=OUTPUT_SCHEMA,
                annotations=types.ToolAnnotations(**spec["annotations"]) if "annotations" in spec else None,
                _meta=spec.get("meta"),
            )
        )
    return tools


def build_server(tools: JiraTools) -> Server[Any, Any]:
    server: Server[Any, Any] = Server(SERVER_NAME, version=SERVER_VERSION)
    definitions = tool_definitions()

    @server.list_tools()
    async def list_tools() -> list[types.Tool]:
        return definitions

    # Validation is ours (pydantic, upstream wording), not the SDK's jsonschema pass.
    @server.call_tool(validate_input=False)
    async def call_tool(name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        try:
            text = await tools.call(name, arguments or {})
        except ToolError as exc:
            return types.CallToolResult(content=[types.TextContent(type="text", text=str(exc))], isError=True)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=text)],
            structuredContent={"result": text},
            isError=False,
        )

    return server


def make_tools(tickets_dir: Path, base_url: str) -> JiraTools:
    store = TicketStore(tickets_dir)
    store.snapshot()  # fail fast if the tickets folder is missing (a broken file blocks only its ticket)
    return JiraTools(store, ServerConfig(base_url=base_url))


async def run_stdio(tickets_dir: Path, base_url: str) -> None:
    server = build_server(make_tools(tickets_dir, base_url))
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


class _MCPEndpoint:
    """ASGI endpoint forwarding ``/mcp`` to the session manager (no redirect to ``/mcp/``)."""

    def __init__(self, manager: StreamableHTTPSessionManager) -> None:
        self.manager = manager

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.manager.handle_request(scope, receive, send)


def build_http_app(tools: JiraTools) -> Starlette:
    manager = StreamableHTTPSessionManager(app=build_server(tools))

    async def healthz(request: Request) -> Response:
        del request
        return JSONResponse({"status": "ok"})

    async def browse(request: Request) -> Response:
        key = request.path_params["key"]
        try:
            text = await tools.call("jira_get_issue", {"issue_key": key, "fields": "*all"})
        except ToolError as exc:
            return PlainTextResponse(str(exc), status_code=404)
        issue = json.loads(text)
        return PlainTextResponse(dumps(issue) + "\n", media_type="application/json")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        del app
        async with manager.run():
            yield

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/browse/{key}", browse, methods=["GET"]),
            Route(MCP_PATH, _MCPEndpoint(manager), methods=["GET", "POST", "DELETE"]),
        ],
        lifespan=lifespan,
    )


class _Uvicorn(uvicorn.Server):
    """uvicorn re-raises SIGTERM/SIGINT after a graceful shutdown; we exit normally instead."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


async def run_http(tickets_dir: Path, host: str, port: int) -> None:
    sock = bind_socket(host, port)
    url = base_url(host, sock)
    app = build_http_app(make_tools(tickets_dir, url))
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2, lifespan="on")
    await serve_announced(_Uvicorn(config), sock, f"{READY_PREFIX}{url}{MCP_PATH}")
