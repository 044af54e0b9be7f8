"""The agent end to end on the real mobile-mcp 1.0.4 (one stdio process per driver, as users run it).

mobile-mcp -> mobilecli 1.0.9 -> our fake adb -> the simulator's world. Skipped (loudly) when Node/npm or the
npm registry is missing.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from graph.context import load_context
from qa_agent.runner import run_ticket
from qa_agent.world.jira_server.process import jira_server_process
from qa_agent.world.realservers.install import Installed
from qa_agent.world.realservers.mobile import MobileMcpLaunch, mobile_mcp_launch
from qa_agent.world.realservers.testing import installed_or_skip_reason
from qa_agent.world.sim.config import user_name
from qa_agent.world.sim.process import SimulatorHandle, simulator_process
from tests.conftest import APPS, TICKETS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_servers() -> Installed:
    installed, reason = installed_or_skip_reason()
    if installed is None:
        pytest.skip(reason or "real servers unavailable")
    return installed


@pytest.fixture
async def world(real_servers: Installed) -> AsyncIterator[SimulatorHandle]:
    async with simulator_process(devices=4, apps_dir=APPS) as sim:
        yield sim


@pytest.fixture
def launch(world: SimulatorHandle) -> Iterator[MobileMcpLaunch]:
    handle = mobile_mcp_launch(world.url)
    try:
        yield handle
    finally:
        handle.teardown()


@pytest.fixture
async def embedded_jira(tmp_path: Path) -> AsyncIterator[str]:
    tickets = tmp_path / "tickets"
    shutil.copytree(TICKETS, tickets)
    async with jira_server_process(tickets) as jira:
        yield jira.url


@pytest.mark.parametrize(("key", "verdict"), [("PTT-1", "success"), ("PTT-2", "failure"), ("CALL-1", "success")])
async def test_agent_gets_the_true_verdict_on_real_mobile_mcp(
    key: str, verdict: str, world: SimulatorHandle, launch: MobileMcpLaunch, embedded_jira: str, tmp_path: Path
) -> None:
    ctx = load_context(
        jira_mcp_url=embedded_jira,
        mobile_mcp_command=launch.command,
        mobile_mcp_args_json=launch.args_json,
        report_root=tmp_path / "runs",
        # Real devices: DEVICE_ACCOUNTS says who is signed in (mobilecli names emulators by their AVD).
        device_accounts={f"Pixel_8_API_35_{user_name(i)}": user_name(i) for i in (1, 2, 3)},
    )
    outcome = await run_ticket(ctx, key)
    assert outcome.verdict.result == verdict, outcome.verdict
    if verdict == "failure":  # PTT-2's seeded defect: the banner stays after release, nothing else
        assert outcome.verdict.failure_class == "app_defect"
        assert "'Alice is talking'" in outcome.verdict.justification
    actions = await world.actions()
    adb = [a for a in actions if a["tool"] == "adb"]
    assert adb, "the run did not go through the fake adb"
    assert not [a for a in actions if a["tool"] != "adb"], "the run used the simulator's own MCP surface"
    assert {a["device"] for a in adb} >= {"emulator-5554", "emulator-5556"}
    # The device log capture ran through the real server too (logcat streaming, the crash buffer); the
    # fake adb's logcat does not stream (qa_agent/world/sim/README.md), so no lines come back this way.
    streamed = {a["device"] for a in adb if {"logcat", "-T"} <= set(a["arguments"]["argv"])}
    assert streamed >= {"emulator-5554", "emulator-5556"}, "no device log capture through mobile-mcp"
