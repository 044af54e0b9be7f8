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
from qa_agent.devices.lab import DeviceHost, lab_hosts
from qa_agent.devices.logcapture import DeviceLogCapture
from qa_agent.devices.owned import OwnedResource
from qa_agent.devices.screens import Screens
from qa_agent.devices.sessions import open_http_session, open_stdio_session, tool_schemas
from qa_agent.devices.signals import ActionSignals

OPEN_TIMEOUT_S = 60.0


DEFAULT_HOST = ""  # the single device server when no lab is configured


class DevicePool:
    def __init__(self, ctx: Context, run_id: str) -> None:
        self.ctx = ctx
        self.run_id = run_id
        self._simulator: OwnedResource[Any] | None = None
        self._sessions: dict[str, OwnedResource[ClientSession]] = {}
        self._session_host: dict[str, str] = {}
        self._lock = asyncio.Lock()
        self._schemas: dict[str, dict[str, Any]] | None = None
        self._world: WorldIdentity | None = None
        self._lab: dict[str, DeviceHost] | None = None
        self._routes: dict[str, tuple[str, str]] = {}  # lab-wide device id -> (host, the host's own id)
        self.signals = ActionSignals()  # lanes of a segment tell each other when their actions start
        self.screens = Screens()  # what the run knows of each device's screen between steps
        self.log_captures: dict[str, DeviceLogCapture] = {}  # by lab-wide device id

    def hosts(self) -> dict[str, DeviceHost]:
        """The lab's hosts by name; empty for the single default server (ConfigError for a bad lab)."""
        if self._lab is None:
            self._lab = {h.name: h for h in lab_hosts(self.ctx) or []}
        return self._lab

    def host_names(self) -> list[str]:
        return list(self.hosts()) or [DEFAULT_HOST]

    def transport_of(self, host: str = DEFAULT_HOST) -> str:
        if host != DEFAULT_HOST:
            return self.hosts()[host].transport
        if self.ctx.mobile_mcp_command:
            return f"stdio: {self.ctx.mobile_mcp_command} {' '.join(self.ctx.mobile_mcp_args)}".strip()
        if self.ctx.mobile_mcp_url:
            return f"streamable-http: {self.ctx.mobile_mcp_url}"
        return "embedded simulator"

    @property
    def transport(self) -> str:
        return "; ".join(self.transport_of(h) for h in self.host_names())

    async def _url(self, host: str = DEFAULT_HOST) -> str | None:
        """The host's streamable HTTP URL (None for a stdio server); starts the embedded simulator."""
        if host != DEFAULT_HOST:
            return self.hosts()[host].url
        if self.ctx.mobile_mcp_command:
            return None
        if self.ctx.mobile_mcp_url:
            return self.ctx.mobile_mcp_url
        if self._simulator is None:
            from qa_agent.world.sim.process import simulator_process

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

    async def _factory(self, host: str) -> Any:
        entry = self.hosts().get(host)
        if entry is not None and entry.command:
            command, args = entry.command, entry.args
            return lambda: open_stdio_session(command, args, keep=MOBILE_MCP_ENV)
        if entry is None and self.ctx.mobile_mcp_command:
            command, args = self.ctx.mobile_mcp_command, self.ctx.mobile_mcp_args
            return lambda: open_stdio_session(command, args, keep=MOBILE_MCP_ENV)
        url = str(await self._url(host))
        return lambda: open_http_session(url)

    def remember_routes(self, routes: dict[str, tuple[str, str]]) -> None:
        self._routes = dict(routes)

    async def route(self, device: str) -> tuple[str, str]:
        """(host, the host's own id) of a lab-wide device id; a resumed run lists the lab again."""
        names = self.host_names()
        if device not in self._routes and len(names) > 1:
            host, _, local = device.partition("/")
            if local and host in names:
                return host, local
            from qa_agent.devices.listing import discover_lab

            await discover_lab(self)
        if device in self._routes:
            return self._routes[device]
        if len(names) == 1:
            return names[0], device
        raise LookupError(f"device {device} is on no reachable host of the lab ({self.transport})")

    async def session(self, key: str, device: str | None = None, host: str | None = None) -> ClientSession:
        """The live session for a lane (one per driver, as real servers serialise calls), on the
        host that owns `device` (or `host`; else the one the key used last, else the first)."""
        if host is None:
            host = (await self.route(device))[0] if device else self._session_host.get(key, self.host_names()[0])
        async with self._lock:
            owned = self._sessions.get(key)
            if owned is not None and (not owned.alive or self._session_host.get(key) != host):
                await owned.aclose()
                owned = None
            if owned is None:
                name = f"device MCP session {key} ({self.transport_of(host)})"
                owned = OwnedResource(await self._factory(host), name=name)
                self._sessions[key] = owned
                self._session_host[key] = host
        return await owned.open(OPEN_TIMEOUT_S)

    async def capture_logs(self, device: str) -> None:
        """Start streaming the device's log on a session of its own (once per device and run);
        returns at once: the capture opens in the background."""
        if device in self.log_captures:
            return
        host, server_device = await self.route(device)
        async with self._lock:
            if device not in self.log_captures:
                from qa_agent.devices.shared_leases import lease_lost

                run_id = self.run_id
                self.log_captures[device] = DeviceLogCapture(
                    device, server_device, await self._factory(host), stop=lambda: lease_lost(run_id) is not None
                )

    async def world(self, devices: list[str]) -> WorldIdentity:
        """The identity of the world this process talks to (probed once per run and process).

        A lab's world id joins its hosts' ids, so a resumed run sees any host's world replaced."""
        from qa_agent.devices.world import identity, simulator_world

        if self._world is None:
            names = self.host_names()
            bases = [None if (u := await self._url(h)) is None else u.removesuffix("/mcp") for h in names]
            sims = await asyncio.gather(*(simulator_world(b) for b in bases))
            if len(names) == 1:
                self._world = identity(devices, sims[0], self.ctx.device_accounts)
            else:
                if not self._routes:
                    from qa_agent.devices.listing import discover_lab

                    await discover_lab(self)
                lab_id = {route: device for device, route in self._routes.items()}
                known = [(h, s) for h, s in zip(names, sims, strict=True) if s is not None]
                seen = {
                    lab_id[(h, item["id"])]: item["account"]
                    for h, s in known
                    for item in s.get("devices") or []
                    if isinstance(item, dict) and (h, item.get("id")) in lab_id and isinstance(item.get("account"), str)
                }
                configured = {
                    lab_id[(h.name, d)]: a for h in self.hosts().values() for d, a in h.accounts.items()
                    if (h.name, d) in lab_id
                }  # fmt: skip
                world = identity(devices, None, seen | configured | self.ctx.device_accounts)
                world.hosts = {d: route[0] for d, route in self._routes.items()}
                # Simulators are worlds of their own: a run's phones must share one to see each other.
                world.hosts_apart = bool(known)
                world.labels = {
                    d: labels for d, (h, local) in self._routes.items()
                    if (labels := [*self.hosts()[h].labels, *self.hosts()[h].device_labels.get(local, [])])
                }  # fmt: skip
                if len(known) == len(names):  # provable only when every host says which world it is
                    world.world_id = ";".join(f"{h}={s['world_id']}" for h, s in known)
                self._world = world
        return self._world

    def watch(self, key: str) -> OwnedResource[ClientSession] | None:
        """The lane's current session, to watch while a call waits: a streamable HTTP session whose server
        died fails in its transport task while the pending call waits for an answer that cannot come."""
        return self._sessions.get(key)

    def remember_schemas(self, schemas: dict[str, dict[str, Any]]) -> None:
        self._schemas = schemas

    async def schemas(self, key: str, device: str | None = None) -> dict[str, dict[str, Any]]:
        """The server's tool schemas, listed once per run (again after a resume in a new process)."""
        if self._schemas is None:
            session = await self.session(key, device)
            self._schemas = tool_schemas((await session.list_tools()).tools)
        return self._schemas

    async def drop(self, key: str) -> None:
        """Forget a broken session so the next call reconnects."""
        async with self._lock:
            owned = self._sessions.pop(key, None)
            self._session_host.pop(key, None)
        if owned is not None:
            await owned.aclose()

    async def aclose(self) -> None:
        captures, self.log_captures = list(self.log_captures.values()), {}
        await asyncio.gather(*(c.aclose() for c in captures), return_exceptions=True)
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


def existing_pool(run_id: str) -> DevicePool | None:
    """The run's pool in this process, if something opened one."""
    return _POOLS.get(run_id)


async def close_pool(run_id: str) -> None:
    pool = _POOLS.pop(run_id, None)
    if pool is not None:
        await pool.aclose()
