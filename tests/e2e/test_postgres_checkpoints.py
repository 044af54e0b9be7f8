"""Checkpoints in Postgres (QA_CHECKPOINT_DSN): a run paused in one process is finished by another."""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from graph.context import load_context
from qa_agent.runner import list_runs, resume_run, run_ticket
from tests.conftest import APPS

pytestmark = pytest.mark.slow


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


@pytest.fixture
async def postgres_dsn() -> AsyncIterator[str]:
    """A throwaway PostgreSQL cluster on loopback (the server binaries ship with this machine's image)."""
    if INITDB is None or PG_CTL is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    root = Path(tempfile.mkdtemp(prefix="qa-pg-"))  # outside pytest's 0700 tree: the server runs as postgres
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    await _as_postgres(INITDB, "-D", str(data), "-U", "qa", "--auth=trust", "-E", "UTF8")
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {root}"
    await _as_postgres(PG_CTL, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
    try:
        yield f"postgresql://qa@127.0.0.1:{port}/postgres"
    finally:
        await _as_postgres(PG_CTL, "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


async def test_paused_run_is_resumed_from_postgres(postgres_dsn: str, jira_url: str, tmp_path: Path) -> None:
    from qa_agent.sim.process import simulator_process

    async with simulator_process(devices=2, apps_dir=APPS) as sim:
        overrides: dict[str, Any] = {
            "jira_mcp_url": jira_url, "mobile_mcp_url": sim.url, "report_root": tmp_path, "checkpoint_dsn": postgres_dsn
        }  # fmt: skip
        paused = await run_ticket(load_context(approve_plan=True, **overrides), "LOGIN-1")
        assert paused.waiting is not None
        assert not (tmp_path / "checkpoints.sqlite").exists()  # the state went to Postgres
        listed = await list_runs(load_context(**overrides))
        assert [(r.run_id, r.status) for r in listed] == [(paused.run_id, "waiting for approval")]
        # a fresh context and connection, as another process would have
        done = await resume_run(load_context(approve_plan=True, **overrides), paused.run_id, decision="approve")
    assert done.verdict.result == "success", done.verdict.justification
    assert [r.status for r in await list_runs(load_context(**overrides))] == ["success"]


async def test_one_process_per_run_also_with_postgres(postgres_dsn: str, tmp_path: Path) -> None:
    """The run lock lives in the checkpoint store: a second holder (another connection, as another
    process would have) is refused while the first holds the run, and gets it once released."""
    from qa_agent.run_lock import RunBusy, run_lock
    from qa_agent.runner import durable_graph

    ctx = load_context(report_root=tmp_path, checkpoint_dsn=postgres_dsn)
    async with durable_graph(ctx) as first, durable_graph(ctx) as second:
        async with run_lock(first.checkpointer, "R-1"):
            with pytest.raises(RunBusy, match="run R-1 is already running"):
                async with run_lock(second.checkpointer, "R-1"):
                    pass
            async with run_lock(second.checkpointer, "R-2"):  # other runs are free
                pass
        async with run_lock(second.checkpointer, "R-1"):
            pass
