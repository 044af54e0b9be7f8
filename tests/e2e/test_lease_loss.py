"""A run whose shared device lease may have expired (the database is down past QA_LEASE_TTL_S)
stops driving its device before the next call and ends blocked, never success or an app failure."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import APPS, INITDB, postgres_cluster
from tests.tickets import ticket_yaml, write_tickets

pytestmark = pytest.mark.slow
TTL_S = 4.0
# Long enough to outlive the TTL many times over: a run that ignored the outage would pass it.
STEPS = "@package:com.example.login\nGiven the user opens the app\n" + "\n".join(
    ['Then the user sees "Email" within 5 seconds', "And the user waits 1 second"] * 15
)


async def test_a_run_that_loses_the_database_past_the_ttl_stops_and_ends_blocked(tmp_path: Path) -> None:
    from graph.builder import graph
    from graph.context import load_context
    from qa_agent.world.jira_server.process import jira_server_process
    from qa_agent.world.sim.process import simulator_process

    if INITDB is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    tickets = write_tickets(tmp_path / "tickets", ticket_yaml("LEASE-1", details=STEPS))
    async with (
        postgres_cluster() as pg,
        jira_server_process(tickets) as jira,
        simulator_process(devices=2, apps_dir=APPS) as sim,
    ):
        ctx = load_context(
            jira_mcp_url=jira.url, mobile_mcp_url=sim.url, checkpoint_dsn=pg.dsn, lease_ttl_s=TTL_S,
            report_root=tmp_path / "runs",
        )  # fmt: skip
        run = asyncio.create_task(graph.ainvoke({"ticket_key": "LEASE-1"}, context=ctx))

        async def driving() -> None:
            while True:  # the simulator's log is the event: the run leased its phone and acts on it
                if any(a["device"] for a in await sim.actions()):
                    return
                await asyncio.sleep(0.1)

        await asyncio.wait_for(driving(), 120)
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
