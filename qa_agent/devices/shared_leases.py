"""Device leases shared by every agent process of a lab, in PostgreSQL (QA_CHECKPOINT_DSN).

A leased device is a row `(device, run_id, owner, expires)` in `qa_device_leases`; an isolation
key (devices/isolation.py) a row in `qa_lease_keys`. A run takes its rows in one transaction
under a transaction-level advisory lock, so two agents never take the same device or key.

Waiting is first come, first served across agents: a run that cannot have its devices at once
queues in `qa_lease_waiters` (arrival ticket, its request, an expiry it renews on every poll, so
a dead waiter drops out). A grant goes to a run only with devices and keys no earlier waiter
could use: the next matching free device goes to the request that arrived first (a waiter that
still waits for an isolation key keeps only its keys from later runs, as it could not start anyway).

The owner renews `expires` every third of QA_LEASE_TTL_S; the rows go when the run ends, fails
or is cancelled (resources.close_run). An agent that is killed stops renewing: its rows expire
after the TTL and the devices return to the pool. An agent that cannot reach the database keeps
driving only while its rows surely have not expired (the TTL since the last confirmation, by its
own clock, started before the statement): after that another agent may hold the devices, so its
lanes stop before the next device call (`lease_lost`). Times in the database are its own clock,
so hosts with skewed clocks agree. Without a DSN, runs use the in-process leaser (devices/leases.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass

import psycopg
from pydantic import BaseModel, ValidationError

from graph.context import Context
from graph.state import DeviceLease, WorldIdentity
from qa_agent.devices.discovery import NotEnoughDevices
from qa_agent.devices.leases import DeviceLeaser, check_request, leaser_for, pick

POLL_S = 0.5
CONNECT_TIMEOUT_S = 5
_LOCK = 0x5141_4C45  # the advisory lock every lease transaction takes ("QALE")
_CREATE = (
    "CREATE TABLE IF NOT EXISTS qa_device_leases (device TEXT PRIMARY KEY, run_id TEXT NOT NULL, "
    "owner TEXT NOT NULL, expires TIMESTAMPTZ NOT NULL)",
    "CREATE TABLE IF NOT EXISTS qa_lease_keys (key TEXT PRIMARY KEY, run_id TEXT NOT NULL, "
    "owner TEXT NOT NULL, expires TIMESTAMPTZ NOT NULL)",
    "CREATE TABLE IF NOT EXISTS qa_lease_waiters (run_id TEXT PRIMARY KEY, ticket BIGSERIAL, "
    "owner TEXT NOT NULL, request TEXT NOT NULL, expires TIMESTAMPTZ NOT NULL)",
)
_TABLES = ("qa_device_leases", "qa_lease_keys")
OWNER = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"  # this agent process
log = logging.getLogger(__name__)


class _Request(BaseModel):
    """What a waiting run asks for, as other agents read it from the queue."""

    devices: list[str]
    count: int
    pinned: list[str] = []
    wanted: list[str] = []  # casefolded accounts
    accounts: dict[str, str] = {}  # device -> casefolded account
    hosts: dict[str, str] = {}
    apart: bool = False
    keys: list[str] = []

    def pick(self, free: set[str]) -> list[str] | None:
        usable = [d for d in self.devices if d in free]
        return pick(
            usable, self.count, frozenset(self.pinned), frozenset(self.wanted), self.accounts, self.hosts, self.apart
        )

    def could_use(self) -> set[str]:
        """Every device a grant to this request could include."""
        if self.count <= len(self.pinned) + len(self.wanted):
            return set(self.pinned) | {d for d in self.devices if self.accounts.get(d) in self.wanted}
        return set(self.devices)


class LeasesUnreachable(NotEnoughDevices):
    """The lease database stayed unreachable for a TTL: the run cannot get devices (blocked, saying so)."""


def _parse(raw: object) -> _Request | None:
    try:
        return _Request.model_validate_json(str(raw))
    except ValidationError:  # not ours to judge: that waiter gets no priority
        return None


@dataclass
class _Held:
    """This process's lease of one run: its renewal, and until when the rows surely hold."""

    dsn: str
    ttl_s: float
    beat: asyncio.Task[None] | None = None
    rows: int = 0  # device and key rows the database holds for the run; 0 until granted
    confirmed: float = 0.0  # monotonic time just before the statement that last confirmed them
    lost: str | None = None

    def deadline(self) -> float:
        return self.confirmed + self.ttl_s - min(1.0, self.ttl_s / 10)  # a margin for a call in transit

    def why_lost(self) -> str | None:
        if self.lost is None and self.rows and time.monotonic() >= self.deadline():
            self.lost = (
                f"device lease lost: database unreachable for {time.monotonic() - self.confirmed:.0f} s "
                f"(QA_LEASE_TTL_S={self.ttl_s:g}); another agent may have taken the devices, so none is driven further"
            )
        return self.lost

    async def wait_lost(self) -> str:
        while True:  # a timer, not an event: each renewal moves the deadline on
            if (why := self.why_lost()) is not None:
                return why
            await asyncio.sleep(max(0.05, self.deadline() - time.monotonic()) if self.rows else self.ttl_s)


_HELD: dict[str, _Held] = {}  # run id -> its lease, for the runs this process leased for
_RETAKING: dict[str, asyncio.Lock] = {}  # run id -> one retake at a time (parallel lanes of a resumed run)


async def _connect(dsn: str) -> psycopg.AsyncConnection[tuple[object, ...]]:
    return await psycopg.AsyncConnection.connect(dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)


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
        """Wait (first come, first served across agents) until the devices and isolation keys a run
        needs are free; hold them."""
        if among is not None:
            self.devices = [d for d in self.devices if d in among]
        check_request(self.devices, self.named, count, pinned, wanted, self.hosts, self.apart)
        request = _Request(
            devices=self.devices, count=count, pinned=sorted(pinned), wanted=sorted(a.casefold() for a in wanted),
            accounts={d: a for d, a in self.accounts.items() if d in self.devices},
            hosts={d: h for d, h in self.hosts.items() if d in self.devices}, apart=self.apart, keys=sorted(keys),
        )  # fmt: skip
        held = _HELD.get(run_id)
        if held is None:  # from now on close_run releases whatever got committed
            held = _HELD[run_id] = _Held(self.dsn, self.ttl_s)
            held.beat = asyncio.create_task(_renew(run_id, held))
        unreachable_since: float | None = None
        while True:
            started = time.monotonic()
            try:
                # A connection per try: waiting runs (dozens per agent) must not hold the server's connections.
                async with await _connect(self.dsn) as conn:
                    taken = await self._try(conn, run_id, request)
            except psycopg.OperationalError as exc:  # a short outage is waited out, like a missed renewal
                unreachable_since = unreachable_since or started
                if (down := started - unreachable_since) >= self.ttl_s:
                    why = f"device leases unavailable: database unreachable for {down:.0f} s ({exc})"
                    raise LeasesUnreachable(why) from exc
                taken = None
            else:
                unreachable_since = None
            if taken is not None:
                held.rows, held.confirmed = taken[0], started
                return taken[1]
            await asyncio.sleep(POLL_S)

    async def _try(
        self, conn: psycopg.AsyncConnection[tuple[object, ...]], run_id: str, request: _Request
    ) -> tuple[int, list[str]] | None:
        """(rows held, devices) when granted now; else None, with the run in the queue."""
        ttl = f"{self.ttl_s} seconds"
        pinned, wanted = frozenset(request.pinned), frozenset(request.wanted)
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            for statement in _CREATE:
                await conn.execute(statement)
            for table in (*_TABLES, "qa_lease_waiters"):
                await conn.execute(f"DELETE FROM {table} WHERE expires < now()")
            rows = await (await conn.execute("SELECT device, run_id FROM qa_device_leases")).fetchall()
            mine = [str(d) for d, r in rows if r == run_id and d in self.devices]
            busy = {str(d) for d, r in rows if r != run_id}
            key_rows = await (await conn.execute("SELECT key, run_id FROM qa_lease_keys")).fetchall()
            my_keys = {str(k) for k, r in key_rows if r == run_id}
            if set(request.keys) <= my_keys and pick(mine, request.count, pinned, wanted, self.accounts) is not None:
                # A replan that still fits keeps its devices (renewed by this process, which may be a new one).
                held = 0
                for table in _TABLES:
                    cur = await conn.execute(
                        f"UPDATE {table} SET owner = %s, expires = now() + %s::interval WHERE run_id = %s",
                        (OWNER, ttl, run_id),
                    )
                    held += cur.rowcount
                await conn.execute("DELETE FROM qa_lease_waiters WHERE run_id = %s", (run_id,))
                return held, sorted(mine, key=self.devices.index)
            await conn.execute(
                "INSERT INTO qa_lease_waiters (run_id, owner, request, expires) "
                "VALUES (%s, %s, %s, now() + %s::interval) ON CONFLICT (run_id) DO UPDATE SET "
                "owner = EXCLUDED.owner, request = EXCLUDED.request, "
                "expires = EXCLUDED.expires",
                (run_id, OWNER, request.model_dump_json(), ttl),
            )
            earlier = await (
                await conn.execute(
                    "SELECT request FROM qa_lease_waiters WHERE ticket < "
                    "(SELECT ticket FROM qa_lease_waiters WHERE run_id = %s) ORDER BY ticket",
                    (run_id,),
                )
            ).fetchall()
            others = [o for (raw,) in earlier if (o := _parse(raw)) is not None]
            free = {d for r in (request, *others) for d in r.devices} - busy
            taken_keys = {str(k) for k, r in key_rows if r != run_id}
            for other in others:  # each earlier waiter first takes, or keeps from us, what it could use
                if not set(other.keys) & taken_keys:  # one waiting for a key cannot start: it keeps only its keys
                    granted = other.pick(free)
                    free -= set(granted) if granted is not None else other.could_use()
                taken_keys |= set(other.keys)
            if set(request.keys) & taken_keys:
                return None
            taken = request.pick(free)
            if taken is None:
                return None
            for table in (*_TABLES, "qa_lease_waiters"):
                await conn.execute(f"DELETE FROM {table} WHERE run_id = %s", (run_id,))
            for device in taken:
                await conn.execute(
                    "INSERT INTO qa_device_leases (device, run_id, owner, expires) "
                    "VALUES (%s, %s, %s, now() + %s::interval)",
                    (device, run_id, OWNER, ttl),
                )
            for key in request.keys:
                await conn.execute(
                    "INSERT INTO qa_lease_keys (key, run_id, owner, expires) VALUES (%s, %s, %s, now() + %s::interval)",
                    (key, run_id, OWNER, ttl),
                )
            return len(taken) + len(request.keys), taken

    async def release(self, run_id: str) -> None:
        await release_shared(run_id)


async def _renew(run_id: str, held: _Held) -> None:
    """Every third of the TTL: push the run's rows' expiry on; stop once the lease may be lost."""
    while True:
        await asyncio.sleep(held.ttl_s / 3)
        if held.why_lost() is not None:
            return
        if not held.rows:
            continue
        started = time.monotonic()
        try:
            async with asyncio.timeout(held.ttl_s / 3), await _connect(held.dsn) as conn:
                renewed = 0
                for table in _TABLES:
                    cur = await conn.execute(
                        f"UPDATE {table} SET expires = now() + %s::interval WHERE run_id = %s AND owner = %s",
                        (f"{held.ttl_s} seconds", run_id, OWNER),
                    )
                    renewed += cur.rowcount
        except (psycopg.Error, TimeoutError) as exc:  # the next beat tries again; the TTL covers a short outage
            log.warning("device leases of %s not renewed: %s", run_id, exc)
            continue
        if renewed < held.rows:
            held.lost = held.lost or "device lease lost: the database no longer holds this run's leases"
            return
        if held.why_lost() is None:
            held.confirmed = started


def lease_lost(run_id: str) -> str | None:
    """Why this process may no longer drive the run's devices (its shared lease may have expired)."""
    held = _HELD.get(run_id)
    return None if held is None else held.why_lost()


def holds_lease(run_id: str) -> bool:
    """This process holds the run's devices through a shared lease (a lab with PostgreSQL)."""
    return run_id in _HELD


async def until_lease_lost(run_id: str) -> str:
    """Resolves when the run's shared lease may have expired (never for a run without one)."""
    held = _HELD.get(run_id)
    if held is None:
        await asyncio.Event().wait()
    assert held is not None
    return await held.wait_lost()


async def hold_run_lease(
    ctx: Context, run_id: str, lease: DeviceLease | None, world: WorldIdentity | None
) -> str | None:
    """Before a lane acts: the run's devices are leased by this process. A run resumed by another
    process takes its rows back (or waits while another run holds a device, e.g. after they expired).
    Why the lane must not act, or None."""
    if lease is None or leaser_for(ctx.device_pool) is not None or ctx.checkpoint_dsn is None:
        return None
    async with _RETAKING.setdefault(run_id, asyncio.Lock()):
        if run_id not in _HELD:
            leaser = run_leaser(ctx, lease.devices, world)
            assert isinstance(leaser, SharedLeaser)
            try:
                await leaser.acquire(run_id, len(lease.devices), frozenset(lease.devices), keys=frozenset(lease.keys))
            except NotEnoughDevices as exc:  # every lane of the run stops for the same reason
                _HELD[run_id].lost = f"the run's devices cannot be leased again: {exc}"
    return lease_lost(run_id)


async def release_shared(run_id: str) -> None:
    """Give back the run's devices and keys (finish, failure, cancel); a no-op for other runs."""
    _RETAKING.pop(run_id, None)
    held = _HELD.pop(run_id, None)
    if held is None:
        return
    if held.beat is not None:
        held.beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await held.beat
    try:
        async with await _connect(held.dsn) as conn:
            for table in (*_TABLES, "qa_lease_waiters"):
                await conn.execute(f"DELETE FROM {table} WHERE run_id = %s AND owner = %s", (run_id, OWNER))
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
