"""A run whose shared device lease may have expired (the database is down past QA_LEASE_TTL_S)
stops driving its device before the next call and ends blocked, never success or an app failure;
a CLI run whose Postgres checkpoint store goes away ends blocked too, saying so, without a traceback."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from qa_agent.devices.logcapture import CRASH_GET_TOOL, CRASH_LIST_TOOL
from tests.conftest import APPS, INITDB, Postgres, postgres_cluster
from tests.tickets import ticket_yaml, write_tickets

pytestmark = pytest.mark.slow
TTL_S = 4.0
# Long enough to outlive the TTL many times over: a run that ignored the outage would pass it.
STEPS = "@package:com.example.login\nGiven the user opens the app\n" + "\n".join(
    ['Then the user sees "Email" within 5 seconds', "And the user waits 1 second"] * 15
)


@contextlib.asynccontextmanager
async def _lab(tmp_path: Path, steps: str = STEPS) -> AsyncIterator[tuple[Postgres, str, Any]]:
    """PostgreSQL, a Jira serving LEASE-1, a simulator: (cluster, Jira URL, simulator)."""
    from qa_agent.world.jira_server.process import jira_server_process
    from qa_agent.world.sim.process import simulator_process

    if INITDB is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    tickets = write_tickets(tmp_path / "tickets", ticket_yaml("LEASE-1", details=steps))
    async with (
        postgres_cluster() as pg,
        jira_server_process(tickets) as jira,
        simulator_process(devices=2, apps_dir=APPS) as sim,
    ):
        yield pg, jira.url, sim


async def _driving(sim: Any, tool: str | None = None) -> None:
    """Until the simulator's log shows a device call (of `tool`): the run leased its phone and acts on it."""
    async with asyncio.timeout(120):
        while True:
            if any(a["device"] and tool in (None, a["tool"]) for a in await sim.actions()):
                return
            await asyncio.sleep(0.1)


async def test_a_run_that_loses_the_database_past_the_ttl_stops_and_ends_blocked(tmp_path: Path) -> None:
    from graph.builder import graph
    from graph.context import load_context

    async with _lab(tmp_path) as (pg, jira_url, sim):
        ctx = load_context(
            jira_mcp_url=jira_url, mobile_mcp_url=sim.url, checkpoint_dsn=pg.dsn, lease_ttl_s=TTL_S,
            report_root=tmp_path / "runs",
        )  # fmt: skip
        run = asyncio.create_task(graph.ainvoke({"ticket_key": "LEASE-1"}, context=ctx))
        await _driving(sim)
        await pg.stop()  # the outage: no renewal, no release can reach the database from now on
        result: dict[str, Any] = await asyncio.wait_for(run, 120)
        actions = [a for a in await sim.actions() if a["device"]]
        await pg.start()  # the rows the run could not release say when its lease expired
        async with await psycopg.AsyncConnection.connect(pg.dsn) as conn:
            rows = await (await conn.execute("SELECT run_id, expires FROM qa_device_leases")).fetchall()

    verdict = result["verdict"]
    assert verdict.result == "blocked", verdict.justification
    assert verdict.failure_class == "cannot_run"
    assert "device lease lost: database unreachable for" in verdict.justification
    assert [r for r, _ in rows] == [result["run_id"]]
    expired_at = rows[0][1].timestamp()
    assert actions and max(a["start"] for a in actions) < expired_at, "a device call after the lease expired"
    statuses = [r.status for r in result["results"]]
    assert statuses.count("blocked") == 1 and statuses[-1] == "skipped", statuses  # it stopped there


async def test_a_cli_run_whose_checkpoint_database_goes_away_ends_blocked(tmp_path: Path) -> None:
    async with _lab(tmp_path) as (pg, jira_url, sim):
        env = {
            **os.environ, "JIRA_MCP_URL": jira_url, "MOBILE_MCP_URL": sim.url, "QA_CHECKPOINT_DSN": pg.dsn,
            "QA_LEASE_TTL_S": str(TTL_S), "QA_REPORT_DIR": str(tmp_path / "runs"), "COLUMNS": "200",
        }  # fmt: skip
        cli = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "qa_agent.cli", "run", "LEASE-1",
            env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        await _driving(sim)
        await pg.stop()
        out = (await asyncio.wait_for(cli.communicate(), 120))[0].decode()
    assert cli.returncode == 2, out  # blocked: neither a failure of the app nor a crash
    said = " ".join(out.split())  # as one line, however the console wrapped it
    assert "BLOCKED the checkpoint database is unreachable" in said and "Traceback" not in out, out
    assert "once it is back, qa-agent resume LEASE-1-" in said


# A hold far longer than the TTL: the lease is lost while the step's device call is under way.
HOLD = '@package:com.example.login\nGiven the user opens the app\nWhen the user holds "Sign in" for 60 seconds\n'


async def test_a_lease_lost_during_a_step_reads_no_crash_of_the_phone_for_the_report(tmp_path: Path) -> None:
    """The report lists the crashes that came during the run for a blocked step; once the lease may have
    expired the phone may be another run's, and its crash reports are that run's business."""
    from graph.builder import graph
    from graph.context import load_context

    async with _lab(tmp_path, HOLD) as (pg, jira_url, sim):
        ctx = load_context(
            jira_mcp_url=jira_url, mobile_mcp_url=sim.url, checkpoint_dsn=pg.dsn, lease_ttl_s=TTL_S,
            report_root=tmp_path / "runs",
        )  # fmt: skip
        run = asyncio.create_task(graph.ainvoke({"ticket_key": "LEASE-1"}, context=ctx))
        await _driving(sim, "mobile_long_press_on_screen_at_coordinates")  # the hold has begun
        await pg.stop()
        result: dict[str, Any] = await asyncio.wait_for(run, 120)
        actions = await sim.actions()
        await pg.start()

    assert result["verdict"].result == "blocked", result["verdict"].justification
    [held] = [r for r in result["results"] if r.action == "long_press_text"]
    assert held.status == "blocked" and "lease" in held.message, held.message
    reads = (CRASH_LIST_TOOL, CRASH_GET_TOOL)
    late = [a["tool"] for a in actions if a["tool"] in reads and a["start"] >= held.ended_at]
    assert late == [], "crash reads on a phone whose lease may have expired"
