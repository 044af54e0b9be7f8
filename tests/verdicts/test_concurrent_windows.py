"""A check that runs while another lane acts ("while user1 holds "Talk" for 4 seconds, user2 sees
"Alice is talking" within 3 seconds") times its window from the moment the other lane's action
starts, not from the segment start: the acting lane first lists its screen to find "Talk", which
takes seconds on a real phone. When that action never starts, the check says so and never blames
the app.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from graph.context import load_context
from graph.state import StepResult
from qa_agent.runner import run_ticket
from qa_agent.world.sim.process import simulator_process
from tests.conftest import APPS
from tests.tickets import ticket_yaml, write_tickets
from tests.verdicts.lanes import lane, step

pytestmark = pytest.mark.slow
SLOW_LIST_MS = 4000  # user1's phone takes 4 s to list its screen: longer than user2's 3 s bound
DEVICES = {1: "emulator-5554", 2: "emulator-5556"}


async def test_the_window_opens_when_the_other_lane_acts(jira_url: str, tmp_path: Path) -> None:
    async with simulator_process(devices=2, apps_dir=APPS) as sim:
        await sim.configure(slow_list_ms={DEVICES[1]: SLOW_LIST_MS})
        ctx = load_context(
            jira_mcp_url=jira_url, mobile_mcp_url=sim.url, report_root=tmp_path / "runs", force_devices=DEVICES
        )
        outcome = await asyncio.wait_for(run_ticket(ctx, "PTT-1"), 180)
        actions = await sim.actions()
    assert outcome.verdict.result == "success", outcome.verdict.justification
    results: dict[str, StepResult] = {r.step_id: r for r in outcome.state["results"]}
    hold = next(r for r in results.values() if r.action == "long_press_text")
    check = next(r for r in results.values() if r.action == "assert_visible" and r.segment == hold.segment)
    press = next(a for a in actions if a["tool"] == "mobile_long_press_on_screen_at_coordinates")
    # the scenario happened: the press began more than the check's 3 s after the check did
    assert press["start"] - check.started_at > 3
    assert "'Alice is talking' (exact match) visible: TextView 'Alice is talking' at [" in check.message


async def test_a_check_whose_action_never_starts_is_not_an_app_defect(jira_url: str, tmp_path: Path) -> None:
    details = """@package:com.example.ptt
        Given user1 opens the app
        And user2 opens the app
        Then while user1 holds "Talk louder" for 2 seconds, user2 sees "Alice is talking" within 2 seconds
    """
    tickets = write_tickets(tmp_path / "tickets", ticket_yaml("PTT-9", details=details))
    async with simulator_process(devices=2, apps_dir=APPS) as sim:
        ctx = load_context(tickets_dir=tickets, mobile_mcp_url=sim.url, report_root=tmp_path / "runs", find_timeout_s=2)
        outcome = await asyncio.wait_for(run_ticket(ctx, "PTT-9"), 120)
    by_action = {r.action: r for r in outcome.state["results"] if r.segment == 1}
    hold, check = by_action["long_press_text"], by_action["assert_visible"]
    assert (hold.status, hold.error_class) == ("failed", "plan_defect"), hold.message
    assert check.status == "skipped", check.message
    assert check.message == f"skipped: step {hold.step_id}, which this check watches, did not act"
    assert outcome.verdict.result == "blocked" and outcome.verdict.failure_class == "plan_defect"


async def test_a_check_that_hears_nothing_of_its_action_is_inconclusive(tmp_path: Path) -> None:
    """As in a run resumed in another process mid-segment: the acting lane's signal is gone."""
    async with (
        simulator_process(devices=1, apps_dir=APPS) as sim,
        lane(sim.url, tmp_path, "com.example.ptt", find_timeout_s=0.5, step_default_timeout_s=1) as d,
    ):
        await step(d, "launch_app")
        result = await step(d, "assert_visible", text="Talk", timeout_s=3, during="S1")
    assert (result.status, result.error_class) == ("blocked", "transient"), result.message
    assert result.message.startswith("inconclusive: 'Talk' is checked while step S1 acts, and nothing was heard")


async def test_a_concurrent_does_not_see_must_hold_for_the_whole_window(jira_url: str, tmp_path: Path) -> None:
    """One early absence proves nothing while the other lane acts: the banner that shows during the
    hold fails the check (it used to pass on the first poll, taken before the press landed)."""
    details = (
        "@package:com.example.ptt\nuser1: Alice\nuser2: Bob\n"
        "Scenario: nobody else is told who talks\n"
        "  Given user1 opens the app\n  And user2 opens the app\n"
        '  When user1 sees "Talk" within 10 seconds\n  And user2 sees "Ready" within 10 seconds\n'
        '  Then while user1 holds "Talk" for 3 seconds, user2 does not see "Alice is talking"\n'
    )
    tickets = write_tickets(tmp_path / "tickets", ticket_yaml("QUIET-1", details=details))
    async with simulator_process(devices=2, apps_dir=APPS) as sim:
        ctx = load_context(tickets_dir=tickets, mobile_mcp_url=sim.url, report_root=tmp_path / "runs")
        outcome = await asyncio.wait_for(run_ticket(ctx, "QUIET-1"), 180)
    assert outcome.verdict.result == "failure", outcome.verdict.justification
    assert "'Alice is talking' (exact match) visible while step" in outcome.verdict.justification
