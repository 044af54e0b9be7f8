"""A run on a lab of two simulator hosts, with PostgreSQL leases and checkpoints, is SIGKILLed mid-run and
resumed while another agent wants the same phones: the resumed run leases its devices again before it
acts, both agents' verdicts are right, and no phone is driven by two runs at once."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from pathlib import Path

import pytest

from tests.conftest import APPS, TICKETS
from tests.e2e.test_resume import _read_until
from tests.lab import no_device_driven_twice, runs_in
from tests.tickets import ticket_yaml, write_tickets

pytestmark = pytest.mark.slow
# PTT-1 with a pause: the agent is killed while user1 waits, so no device call is in flight.
STEPS = """@package:com.example.ptt
Given user1 opens the app
And user2 opens the app
When user1 sees "Talk" within 10 seconds
And user2 sees "Ready" within 10 seconds
And user1 waits 6 seconds
Then while user1 holds "Talk" for 2 seconds, user2 sees "Alice is talking" within 3 seconds
And user2 does not see "Alice is talking" within 5 seconds"""


async def test_a_killed_run_resumes_on_the_lab_and_takes_its_devices_back(postgres_dsn: str, tmp_path: Path) -> None:
    from qa_agent.world.jira_server.process import jira_server_process
    from qa_agent.world.sim.process import simulator_process

    tickets = write_tickets(tmp_path / "tickets", ticket_yaml("LAB-9", details=STEPS))
    for key in ("PTT-2", "LOGIN-1"):
        shutil.copy(TICKETS / f"{key}.yaml", tickets)
    async with (
        jira_server_process(tickets) as jira,
        simulator_process(devices=2, apps_dir=APPS) as a,
        simulator_process(devices=2, apps_dir=APPS) as b,
    ):
        env = {
            **os.environ, "JIRA_MCP_URL": jira.url, "MOBILE_MCP_URLS": f"{a.url},{b.url}",
            "QA_CHECKPOINT_DSN": postgres_dsn, "QA_LEASE_TTL_S": "5", "COLUMNS": "200",
        }  # fmt: skip
        cli = [sys.executable, "-m", "qa_agent.cli"]

        def agent(name: str, *args: str) -> asyncio.Future[asyncio.subprocess.Process]:
            return asyncio.ensure_future(
                asyncio.create_subprocess_exec(
                    *cli,
                    *args,
                    env=env | {"QA_REPORT_DIR": str(tmp_path / name)},
                    cwd=tmp_path,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.STDOUT,
                )
            )

        killed = await agent("lab", "run", "LAB-9")
        assert killed.stdout is not None
        seen: list[str] = []
        run_id = (await _read_until(killed.stdout, r"^run (\S+) ", seen, 120)).group(1)
        await _read_until(killed.stdout, r"▶ S5 wait", seen, 120)
        killed.send_signal(signal.SIGKILL)  # no release: its leases stay until they expire or it resumes
        await killed.wait()
        # Another agent wants the same app's phones; the run is resumed at the same time.
        other, resumed = await asyncio.gather(
            agent("other", "batch", "PTT-2", "LOGIN-1"), agent("lab", "resume", run_id)
        )
        outputs = await asyncio.wait_for(asyncio.gather(other.communicate(), resumed.communicate()), 300)
        logs = {"host1": await a.actions(), "host2": await b.actions()}

    other_out, resumed_out = (o.decode() for o, _ in outputs)
    assert resumed.returncode == 0, resumed_out
    assert other.returncode == 1, other_out  # PTT-2 fails, as it should
    (run,) = runs_in(tmp_path / "lab")
    assert run["verdict"]["result"] == "success", run["verdict"]["justification"]
    assert run["history"][0]["verdict"]["justification"].startswith("attempt 2: restarted on resume")
    assert {r["ticket_key"]: r["verdict"]["result"] for r in runs_in(tmp_path / "other")} == {
        "PTT-2": "failure",
        "LOGIN-1": "success",
    }
    for host, actions in logs.items():
        no_device_driven_twice(host, actions, used=False)
