"""Who is who: a ticket that names its users gets the phones signed in as them, or is blocked naming
the account it cannot find; never a verdict drawn on somebody else's phone."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from graph.context import load_context
from qa_agent.runner import run_ticket
from qa_agent.world.sim.process import simulator_process, stdio_command
from tests.conftest import APPS, TICKETS

pytestmark = pytest.mark.slow


def _ptt(folder: Path, key: str, roles: str, talker: str) -> None:
    """PTT-1 with other roles: the listener expects the banner of the user the roles name."""
    text = (TICKETS / "PTT-1.yaml").read_text().replace("key: PTT-1", f"key: {key}")
    text = text.replace("      user1: Alice\n      user2: Bob\n", "".join(f"      {r}\n" for r in roles.split(",")))
    (folder / f"{key}.yaml").write_text(text.replace("Alice is talking", f"{talker} is talking"))


@pytest.fixture
async def jira(tmp_path: Path) -> AsyncIterator[str]:
    from qa_agent.world.jira_server.process import jira_server_process

    folder = tmp_path / "tickets"
    folder.mkdir()
    _ptt(folder, "PTT-11", "user1: Carol,user2: Alice", "Carol")
    _ptt(folder, "PTT-12", "Given user1 is Mallory,And user2 is Bob", "Mallory")
    async with jira_server_process(folder) as handle:
        yield handle.url


async def test_roles_pick_the_devices_signed_in_as_those_users(jira: str, tmp_path: Path) -> None:
    """Before: drivers got devices by index (Alice, Bob), so 'Carol is talking' never showed: a false failure."""
    ctx = load_context(jira_mcp_url=jira, report_root=tmp_path / "runs")
    outcome = await run_ticket(ctx, "PTT-11")
    assert outcome.verdict.result == "success", outcome.verdict.justification
    assert [(d.driver, d.device) for d in outcome.state["drivers"]] == [(1, "emulator-5558"), (2, "emulator-5554")]


async def test_an_account_no_device_has_is_blocked_naming_it(jira: str, tmp_path: Path) -> None:
    ctx = load_context(jira_mcp_url=jira, report_root=tmp_path / "runs")
    outcome = await run_ticket(ctx, "PTT-12")
    assert outcome.verdict.result == "blocked"
    assert "user1 to be Mallory" in outcome.verdict.justification
    assert "emulator-5554 (Alice)" in outcome.verdict.justification
    assert not outcome.state.get("results")  # nothing ran on a stranger's phone


async def test_device_accounts_setting_for_servers_that_do_not_say(jira: str, tmp_path: Path) -> None:
    """Over stdio nothing says who is signed in: DEVICE_ACCOUNTS does; without it, blocked saying so."""
    async with simulator_process(devices=4, apps_dir=APPS) as sim:
        command, args = stdio_command(sim.url)
        base = {"jira_mcp_url": jira, "mobile_mcp_command": command, "mobile_mcp_args_json": json.dumps(args)}
        unknown = await run_ticket(load_context(report_root=tmp_path / "a", **base), "PTT-11")
        mapped = load_context(
            report_root=tmp_path / "b",
            device_accounts="emulator-5554=Alice,emulator-5556=Bob,emulator-5558=Carol,emulator-5560=Dave",
            **base,
        )
        known = await run_ticket(mapped, "PTT-11")
    assert unknown.verdict.result == "blocked"
    assert "Carol" in unknown.verdict.justification and "DEVICE_ACCOUNTS" in unknown.verdict.justification
    assert known.verdict.result == "success", known.verdict.justification
    assert [d.device for d in known.state["drivers"]] == ["emulator-5558", "emulator-5554"]
