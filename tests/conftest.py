"""Shared fixtures: the real embedded servers as subprocesses on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TICKETS = ROOT / "examples" / "tickets"
APPS = ROOT / "examples" / "apps"


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests decide every setting themselves: no developer .env or shell variable leaks in."""
    import os

    for name in list(os.environ):
        if name.startswith(("JIRA_", "MOBILE_MCP", "LLM_", "OPENAI_", "FORCE_DEVICE_DRIVER", "QA_", "MAX_REPLANS")) or (
            name.startswith("DRIVER") and name.endswith("_PACKAGE")
        ):
            monkeypatch.delenv(name, raising=False)
    for name in ("GLOBAL_PACKAGE", "TICKET_KEY", "PROXY_URL", "PROMPT_LANG", "DEVICE_ACCOUNTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env from the repo; runs/ lands in the test's folder


@pytest.fixture
async def jira_url() -> AsyncIterator[str]:
    from qa_agent.world.jira_server.process import jira_server_process

    async with jira_server_process(TICKETS) as handle:
        yield handle.url


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


INITDB, PG_CTL = _bin("initdb"), _bin("pg_ctl")


async def _as_postgres(*argv: str) -> None:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    proc = await asyncio.create_subprocess_exec(
        *prefix, *argv, cwd="/", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    assert proc.returncode == 0, f"{argv[0]} failed: {err.decode()}"


@dataclass
class Postgres:
    """A throwaway cluster a test may stop (an outage) and start again."""

    dsn: str
    data: Path
    options: str
    log: Path
    running: bool = True

    async def stop(self) -> None:
        await _as_postgres(PG_CTL or "pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        self.running = False

    async def start(self) -> None:
        await _as_postgres(
            PG_CTL or "pg_ctl", "-D", str(self.data), "-o", self.options, "-l", str(self.log), "-w", "start"
        )
        self.running = True


@contextlib.asynccontextmanager
async def postgres_cluster() -> AsyncIterator[Postgres]:
    """A throwaway PostgreSQL cluster on loopback (the server binaries ship with this machine's image)."""
    assert INITDB is not None and PG_CTL is not None, "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
    root = Path(tempfile.mkdtemp(prefix="qa-pg-"))  # outside pytest's 0700 tree: the server runs as postgres
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    await _as_postgres(INITDB, "-D", str(data), "-U", "qa", "--auth=trust", "-E", "UTF8")
    cluster = Postgres(
        f"postgresql://qa@127.0.0.1:{port}/postgres", data, f"-p {port} -c listen_addresses=127.0.0.1 -k {root}",
        root / "log", running=False,
    )  # fmt: skip
    await cluster.start()
    try:
        yield cluster
    finally:
        if cluster.running:
            await cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@contextlib.asynccontextmanager
async def throwaway_postgres() -> AsyncIterator[str]:
    async with postgres_cluster() as cluster:
        yield cluster.dsn


@pytest.fixture
async def postgres_dsn() -> AsyncIterator[str]:
    if INITDB is None or PG_CTL is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    async with throwaway_postgres() as dsn:
        yield dsn
