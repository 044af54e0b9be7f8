"""The streamable-HTTP host: MCP at ``/mcp`` and the ``/sim/*`` control endpoints, one world for all."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from qa_agent.world.sim.server import build_server
from qa_agent.world.sim.tools import Simulator


class _McpEndpoint:
    def __init__(self, manager: StreamableHTTPSessionManager) -> None:
        self.manager = manager

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.manager.handle_request(scope, receive, send)


def build_app(sim: Simulator) -> Starlette:
    manager = StreamableHTTPSessionManager(app=build_server(sim), stateless=True)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with manager.run():
            try:
                yield
            finally:
                sim.world.close()

    async def actions(_request: Request) -> JSONResponse:
        return JSONResponse(sim.world.actions.dump())

    async def reset(_request: Request) -> JSONResponse:
        sim.reset()
        return JSONResponse({"ok": True, "devices": [d.id for d in sim.world.devices]})

    async def configure(request: Request) -> JSONResponse:
        try:
            body: Any = await request.json()
        except ValueError:
            return JSONResponse({"ok": False, "error": "body must be a JSON object"}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"ok": False, "error": "body must be a JSON object"}, status_code=400)
        try:
            knobs = sim.configure(body)
        except (ValidationError, ValueError) as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
        return JSONResponse({"ok": True, "knobs": knobs.model_dump()})

    async def adb(request: Request) -> JSONResponse:
        from qa_agent.world.sim.adb import handle_request

        try:
            body: Any = await request.json()
        except ValueError:
            body = None
        payload, status = await handle_request(sim, body)
        return JSONResponse(payload, status_code=status)

    async def health(_request: Request) -> JSONResponse:
        world = sim.world
        return JSONResponse(
            {
                "ok": True,
                "devices": [d.id for d in world.online()],
                "apps": sorted(sim.catalog),
                "seed": sim.config.seed,
                "knobs": sim.knobs.model_dump(),
                "actions": len(world.actions.dump()),
                "device_time_s": world.latency.spent,
            }
        )

    async def world_identity(_request: Request) -> JSONResponse:
        """Who the agent is talking to: the world's id and each device's account.

        A route of the simulator's own server rather than a field in a tool answer, so the MCP
        tool surface stays byte-for-byte mobile-mcp 1.0.4's (the contract tests compare it).
        """
        world = sim.world
        devices = [{"id": d.id, "account": d.user} for d in world.online()]
        return JSONResponse({"world_id": world.id, "devices": devices})

    return Starlette(
        routes=[
            Route("/mcp", endpoint=_McpEndpoint(manager), methods=["GET", "POST", "DELETE"]),
            Route("/sim/actions", actions, methods=["GET"]),
            Route("/sim/reset", reset, methods=["POST"]),
            Route("/sim/config", configure, methods=["POST"]),
            Route("/sim/health", health, methods=["GET"]),
            Route("/sim/world", world_identity, methods=["GET"]),
            Route("/sim/adb", adb, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
