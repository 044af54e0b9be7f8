"""Per-run registry of live device connections: opened lazily, closed in one place.

Graph state only carries the run id; nodes ask the registry for a session. A process
that resumes a run starts with an empty registry and reconnects on first use.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from typing import Any

from mcp import ClientSession

from graph.context import Context
from graph.state import WorldIdentity
from qa_agent.childproc import MOBILE_MCP_ENV
from qa_agent.devices.owned import OwnedResource
from qa_agent.devices.sessions import open_http_session, open_stdio_session, tool_schemas
from qa_agent.devices.signals import ActionSignals

OPEN_TIMEOUT_S = 60.0


class DevicePool:
    def __init__(self, ctx: Context, run_id: str) -> None:
        self.ctx = ctx
        self.run_id = run_id
        self._simulator: OwnedResource[Any] | None = None
        self._sessions: dict[str, OwnedResource[ClientSession]] = {}
        self._lock = asyncio.Lock()
        self._schemas: dict[str, dict[str, Any]] | None = None
        self._world: WorldIdentity | None = None
        self.signals = ActionSignals()  # lanes of a segment tell each other when their actions start

    @property
    def transport(self) -> str:
        if self.ctx.mobile_mcp_command:
            return f"stdio: {self.ctx.mobile_mcp_command} {' '.join(self.ctx.mobile_mcp_args)}".strip()
        if self.ctx.mobile_mcp_url:
            return f"streamable-http: {self.ctx.mobile_mcp_url}"
        return "embedded simulator"

    async def _url(self) -> str:
        if self.ctx.mobile_mcp_url:
            return self.ctx.mobile_mcp_url
        if self._simulator is None:
            from qa_agent.sim.process import simulator_process

            ctx = self.ctx

            def start() -> AbstractAsyncContextManager[Any]:
                return simulator_process(
                    devices=ctx.sim_devices,
                    apps_dir=ctx.sim_apps_dir,
                    profile=ctx.sim_profile,
                    extra_args=list(ctx.sim_args),
                )

            self._simulator = OwnedResource(start, name="embedded device simulator")
        handle = await self._simulator.open(OPEN_TIMEOUT_S)
        return str(handle.url)

    async def _factory(self) -> Any:
        if self.ctx.mobile_mcp_command:
            command, args = self.ctx.mobile_mcp_command, self.ctx.mobile_mcp_args
            return lambda: open_stdio_session(command, args, keep=MOBILE_MCP_ENV)
        url = await self._url()
        return lambda: open_http_session(url)

    async def session(self, key: str) -> ClientSession:
        """The live session for a lane (one per driver, as real servers serialise calls)."""
        async with self._lock:
            owned = self._sessions.get(key)
            if owned is not None and not owned.alive:
                await owned.aclose()
                owned = None
            if owned is None:
                owned = OwnedResource(await self._factory(), name=f"device MCP session {key} ({self.transport})")
                self._sessions[key] = owned
        return await owned.open(OPEN_TIMEOUT_S)

    async def world(self, devices: list[str]) -> WorldIdentity:
        """The identity of the world this process talks to (probed once per run and process)."""
        from qa_agent.devices.world import identity, simulator_world

        if self._world is None:
            base = None if self.ctx.mobile_mcp_command else (await self._url()).removesuffix("/mcp")
            self._world = identity(devices, await simulator_world(base), self.ctx.device_accounts)
        return self._world

    async def lost(self, key: str) -> str:
        """Wait until the lane's current session breaks; why it broke. A streamable HTTP session
        whose server died fails in its transport task while the pending call waits for an answer
        that cannot come, so a call races this."""
        owned = self._sessions.get(key)
        if owned is None:
            await asyncio.Event().wait()  # no session: nothing can break
        assert owned is not None
        return await owned.wait_closed()

    def remember_schemas(self, schemas: dict[str, dict[str, Any]]) -> None:
        self._schemas = schemas

    async def schemas(self, key: str) -> dict[str, dict[str, Any]]:
        """The server's tool schemas, listed once per run (again after a resume in a new process)."""
        if self._schemas is None:
            session = await self.session(key)
            self._schemas = tool_schemas((await session.list_tools()).tools)
        return self._schemas

    async def drop(self, key: str) -> None:
        """Forget a broken session so the next call reconnects."""
        async with self._lock:
            owned = self._sessions.pop(key, None)
        if owned is not None:
            await owned.aclose()

    async def aclose(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        await asyncio.gather(*(s.aclose() for s in sessions), return_exceptions=True)
        if self._simulator is not None:
            await self._simulator.aclose()
            self._simulator = None


_POOLS: dict[str, DevicePool] = {}


def pool_for(run_id: str, ctx: Context) -> DevicePool:
    pool = _POOLS.get(run_id)
    if pool is None:
        pool = _POOLS[run_id] = DevicePool(ctx, run_id)
    return pool


async def close_pool(run_id: str) -> None:
    pool = _POOLS.pop(run_id, None)
    if pool is not None:
        await pool.aclose()
