"""One process per run: a lock row in the checkpoint store (the SQLite file, or Postgres).

A run that two processes drive at once would act twice on the same devices and interleave
checkpoints. The lock is a row `(run_id, owner, host, pid, heartbeat)` in the same database as
the checkpoints, so it holds for every process that can resume the run. The owner refreshes
the heartbeat while it runs; a row whose heartbeat is older than `STALE_AFTER_S`, or whose
owner process is gone from this host (SIGKILL leaves the row behind), no longer locks the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

STALE_AFTER_S = 60.0
HEARTBEAT_S = 10.0
_HOST = socket.gethostname()
CREATE_LOCK_TABLE = (
    "CREATE TABLE IF NOT EXISTS qa_run_locks (run_id TEXT PRIMARY KEY, owner TEXT NOT NULL, host TEXT NOT NULL, "
    "pid INTEGER NOT NULL, heartbeat DOUBLE PRECISION NOT NULL)"
)


class RunBusy(RuntimeError):
    """Another process is driving this run."""


class _Store:
    """The few statements the lock needs, on the saver's own connection and under its lock."""

    def __init__(self, saver: Any) -> None:
        self.conn = saver.conn
        self.lock: asyncio.Lock = saver.lock
        self.sqlite = type(saver).__module__.startswith("langgraph.checkpoint.sqlite")

    async def run(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[list[Any], int]:
        if not self.sqlite:
            sql = sql.replace("?", "%s")
        async with self.lock:
            if self.sqlite:
                async with self.conn.execute(sql, params) as cur:
                    rows = list(await cur.fetchall())
                    count = cur.rowcount
                await self.conn.commit()
                return rows, count
            async with self.conn.cursor() as cur:
                await cur.execute(sql, params)
                rows = list(await cur.fetchall()) if cur.description else []
                return rows, cur.rowcount


def _pid_gone(host: str, pid: int) -> bool:
    if host != _HOST:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _field(row: Any, name: str, index: int) -> Any:
    return row[name] if isinstance(row, dict) else row[index]


def _alive(host: Any, pid: Any, beat: Any) -> bool:
    return time.time() - float(beat) < STALE_AFTER_S and not _pid_gone(str(host), int(pid))


async def running_runs(saver: Any) -> set[str]:
    """The runs a live process is driving now (their lock is held)."""
    store = _Store(saver)
    await store.run(CREATE_LOCK_TABLE)
    rows, _ = await store.run("SELECT run_id, host, pid, heartbeat FROM qa_run_locks")
    fields = ("run_id", "host", "pid", "heartbeat")
    return {
        str(run_id)
        for run_id, host, pid, beat in ((_field(row, k, i) for i, k in enumerate(fields)) for row in rows)
        if _alive(host, pid, beat)
    }


@contextlib.asynccontextmanager
async def run_lock(saver: Any, run_id: str) -> AsyncIterator[None]:
    """Hold the run for this process while the block runs; RunBusy if another live process holds it."""
    store = _Store(saver)
    owner = secrets.token_hex(8)
    await store.run(CREATE_LOCK_TABLE)
    rows, _ = await store.run("SELECT owner, host, pid, heartbeat FROM qa_run_locks WHERE run_id = ?", (run_id,))
    if rows:
        held_by, host, pid, beat = (_field(rows[0], k, i) for i, k in enumerate(("owner", "host", "pid", "heartbeat")))
        if _alive(host, pid, beat):
            raise RunBusy(f"run {run_id} is already running (process {pid} on {host}); wait for it to end or stop it")
        await store.run("DELETE FROM qa_run_locks WHERE run_id = ? AND owner = ?", (run_id, held_by))
    _, inserted = await store.run(
        "INSERT INTO qa_run_locks (run_id, owner, host, pid, heartbeat) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (run_id) DO NOTHING",
        (run_id, owner, _HOST, os.getpid(), time.time()),
    )
    if inserted != 1:
        raise RunBusy(f"run {run_id} is already running (another process took it just now)")

    async def heartbeat() -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            await store.run(
                "UPDATE qa_run_locks SET heartbeat = ? WHERE run_id = ? AND owner = ?", (time.time(), run_id, owner)
            )

    beating = asyncio.create_task(heartbeat())
    try:
        yield
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await beating
        await store.run("DELETE FROM qa_run_locks WHERE run_id = ? AND owner = ?", (run_id, owner))
