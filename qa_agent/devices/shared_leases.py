"""Device leases shared by every agent process of a lab, in PostgreSQL (QA_CHECKPOINT_DSN).

A leased device is a row `(device, run_id, owner, expires)` in `qa_device_leases`; an isolation
key (devices/isolation.py) a row in `qa_lease_keys`. A run takes its rows in one transaction
under a transaction-level advisory lock, so two agents never take the same device or key; it
waits (polling) while none fit. The owner renews `expires` every third of QA_LEASE_TTL_S; the
rows go when the run ends, fails or is cancelled (resources.close_run). An agent that is killed
stops renewing: its rows expire after the TTL and the devices return to the pool. Times are the
database's clock, so hosts with skewed clocks agree. Without a DSN, runs use the in-process
leaser (devices/leases.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from dataclasses import dataclass

import psycopg

from graph.context import Context
from graph.state import WorldIdentity
from qa_agent.devices.leases import DeviceLeaser, check_request, leaser_for, pick

POLL_S = 0.5
_LOCK = 0x5141_4C45  # the advisory lock every lease transaction takes ("QALE")
_CREATE = (
    "CREATE TABLE IF NOT EXISTS qa_device_leases (device TEXT PRIMARY KEY, run_id TEXT NOT NULL, "
    "owner TEXT NOT NULL, expires TIMESTAMPTZ NOT NULL)",
    "CREATE TABLE IF NOT EXISTS qa_lease_keys (key TEXT PRIMARY KEY, run_id TEXT NOT NULL, "
    "owner TEXT NOT NULL, expires TIMESTAMPTZ NOT NULL)",
)
OWNER = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"  # this agent process
log = logging.getLogger(__name__)


@dataclass
class _Held:
    dsn: str
    beat: asyncio.Task[None]


_HELD: dict[str, _Held] = {}  # run id -> its renewal, for the runs this process leased for


async def _connect(dsn: str) -> psycopg.AsyncConnection[tuple[object, ...]]:
    return await psycopg.AsyncConnection.connect(dsn, autocommit=True)


class SharedLeaser:
    """Leases over the run's devices in PostgreSQL; the same contract as DeviceLeaser."""

    def __init__(
        self,
        dsn: str,
        devices: list[str],
        accounts: dict[str, str] | None = None,
        hosts: dict[str, str] | None = None,
        ttl_s: float = 60.0,
        apart: bool = False,
    ) -> None:
        self.dsn = dsn
        self.devices = list(devices)
        self.named = dict(accounts or {})
        self.accounts = {d: a.casefold() for d, a in self.named.items()}
        self.hosts = dict(hosts or {})
        self.apart = apart
        self.ttl_s = ttl_s

    async def acquire(
        self,
        run_id: str,
        count: int,
        pinned: frozenset[str] = frozenset(),
        wanted: frozenset[str] = frozenset(),
        keys: frozenset[str] = frozenset(),
        among: list[str] | None = None,
    ) -> list[str]:
        """Wait until the devices and isolation keys a run needs are free in every agent; hold them."""
        if among is not None:
            self.devices = [d for d in self.devices if d in among]
        check_request(self.devices, self.named, count, pinned, wanted, self.hosts, self.apart)
        wanted = frozenset(a.casefold() for a in wanted)
        if run_id not in _HELD:  # from now on close_run releases whatever got committed
            _HELD[run_id] = _Held(self.dsn, asyncio.create_task(self._renew(run_id)))
        while True:
            # A connection per try: waiting runs (dozens per agent) must not hold the server's connections.
            async with await _connect(self.dsn) as conn:
                taken = await self._try(conn, run_id, count, pinned, wanted, keys)
            if taken is not None:
                return taken
            await asyncio.sleep(POLL_S)

    async def _try(
        self,
        conn: psycopg.AsyncConnection[tuple[object, ...]],
        run_id: str,
        count: int,
        pinned: frozenset[str],
        wanted: frozenset[str],
        keys: frozenset[str],
    ) -> list[str] | None:
        ttl = f"{self.ttl_s} seconds"
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            for statement in _CREATE:
                await conn.execute(statement)
            await conn.execute("DELETE FROM qa_device_leases WHERE expires < now()")
            await conn.execute("DELETE FROM qa_lease_keys WHERE expires < now()")
            rows = await (await conn.execute("SELECT device, run_id FROM qa_device_leases")).fetchall()
            mine = [str(d) for d, r in rows if r == run_id and d in self.devices]
            busy = {str(d) for d, r in rows if r != run_id}
            key_rows = await (await conn.execute("SELECT key, run_id FROM qa_lease_keys")).fetchall()
            my_keys = {str(k) for k, r in key_rows if r == run_id}
            if keys <= my_keys and pick(mine, count, pinned, wanted, self.accounts) is not None:
                # A replan that still fits keeps its devices (renewed by this process, which may be a new one).
                for table in ("qa_device_leases", "qa_lease_keys"):
                    await conn.execute(
                        f"UPDATE {table} SET owner = %s, expires = now() + %s::interval WHERE run_id = %s",
                        (OWNER, ttl, run_id),
                    )
                return sorted(mine, key=self.devices.index)
            if keys & {str(k) for k, r in key_rows if r != run_id}:
                return None
            free = [d for d in self.devices if d not in busy]
            taken = pick(free, count, pinned, wanted, self.accounts, self.hosts, self.apart)
            if taken is None:
                return None
            await conn.execute("DELETE FROM qa_device_leases WHERE run_id = %s", (run_id,))
            await conn.execute("DELETE FROM qa_lease_keys WHERE run_id = %s", (run_id,))
            for device in taken:
                await conn.execute(
                    "INSERT INTO qa_device_leases (device, run_id, owner, expires) "
                    "VALUES (%s, %s, %s, now() + %s::interval)",
                    (device, run_id, OWNER, ttl),
                )
            for key in sorted(keys):
                await conn.execute(
                    "INSERT INTO qa_lease_keys (key, run_id, owner, expires) VALUES (%s, %s, %s, now() + %s::interval)",
                    (key, run_id, OWNER, ttl),
                )
            return taken

    async def _renew(self, run_id: str) -> None:
        while True:
            await asyncio.sleep(self.ttl_s / 3)
            try:
                async with await _connect(self.dsn) as conn:
                    for table in ("qa_device_leases", "qa_lease_keys"):
                        await conn.execute(
                            f"UPDATE {table} SET expires = now() + %s::interval WHERE run_id = %s AND owner = %s",
                            (f"{self.ttl_s} seconds", run_id, OWNER),
                        )
            except psycopg.Error as exc:  # the next beat tries again; the TTL covers a short outage
                log.warning("device leases of %s not renewed: %s", run_id, exc)

    async def release(self, run_id: str) -> None:
        await release_shared(run_id)


async def release_shared(run_id: str) -> None:
    """Give back the run's devices and keys (finish, failure, cancel); a no-op for other runs."""
    held = _HELD.pop(run_id, None)
    if held is None:
        return
    held.beat.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await held.beat
    try:
        async with await _connect(held.dsn) as conn:
            await conn.execute("DELETE FROM qa_device_leases WHERE run_id = %s AND owner = %s", (run_id, OWNER))
            await conn.execute("DELETE FROM qa_lease_keys WHERE run_id = %s AND owner = %s", (run_id, OWNER))
    except psycopg.Error as exc:  # the rows expire after the TTL
        log.warning("device leases of %s not released (they expire): %s", run_id, exc)


def run_leaser(ctx: Context, devices: list[str], world: WorldIdentity | None) -> DeviceLeaser | SharedLeaser | None:
    """Who leases this run's devices: its batch's in-process pool, else PostgreSQL when a DSN is
    configured (any run: CLI, batch, LangGraph server), else nobody (a single run uses them all)."""
    in_process = leaser_for(ctx.device_pool)
    if in_process is not None or ctx.checkpoint_dsn is None:
        return in_process
    dsn = ctx.checkpoint_dsn.get_secret_value()
    if world is None:
        return SharedLeaser(dsn, devices, ttl_s=ctx.lease_ttl_s)
    return SharedLeaser(dsn, devices, world.accounts, world.hosts, ctx.lease_ttl_s, world.hosts_apart)
