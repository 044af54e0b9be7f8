"""Every example ticket through the real graph, the embedded Jira server and the simulator."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from graph.context import load_context
from graph.state import StepResult
from qa_agent.runner import RunOutcome, run_ticket
from tests.conftest import APPS
from tests.tickets import ticket_yaml, write_tickets

pytestmark = pytest.mark.slow


async def _run(key: str, jira_url: str, sim_url: str, tmp_path: Path, **overrides: Any) -> RunOutcome:
    ctx = load_context(jira_mcp_url=jira_url, mobile_mcp_url=sim_url, report_root=tmp_path / "runs", **overrides)
    events: list[dict[str, Any]] = []
    outcome = await run_ticket(ctx, key, on_event=events.append)
    outcome.state["events"] = events
    return outcome


@pytest.fixture
async def sim() -> Any:
    from qa_agent.world.sim.process import simulator_process

    async with simulator_process(devices=4, apps_dir=APPS) as handle:
        yield handle


async def test_ptt_runs_lanes_concurrently_and_passes(jira_url: str, sim: Any, tmp_path: Path) -> None:
    outcome = await _run("PTT-1", jira_url, sim.url, tmp_path)
    assert outcome.verdict.result == "success", outcome.verdict.justification
    assert outcome.exit_code == 0
    results: list[StepResult] = outcome.state["results"]
    drivers = {a.driver: a.device for a in outcome.state["drivers"]}
    actions = await sim.actions()

    # Concurrency, proved from the simulator's log: while device 1's long press lasted,
    # device 2 listed its elements (the assertion polling) inside that interval.
    press = next(
        a for a in actions if a["tool"] == "mobile_long_press_on_screen_at_coordinates" and a["device"] == drivers[1]
    )
    overlapping = [
        a
        for a in actions
        if a["device"] == drivers[2]
        and a["tool"] == "mobile_list_elements_on_screen"
        and a["start"] < press["end"]
        and a["end"] > press["start"]
    ]
    assert overlapping, "driver 2 did nothing while driver 1 held the talk button"

    # Barrier ordering: no step of segment k+1 starts before every step of segment k ended.
    segments = sorted({r.segment for r in results})
    for k, nxt in itertools.pairwise(segments):
        ended = max(r.ended_at for r in results if r.segment == k)
        started = min(r.started_at for r in results if r.segment == nxt)
        assert ended <= started, f"segment {nxt} started before segment {k} ended"
    # and the same from the device side: every device action of a segment lies inside its window
    for r in results:
        mine = [a for a in actions if a["device"] == r.device and r.started_at <= a["start"] <= r.ended_at]
        assert mine or r.action == "wait"

    report = Path(outcome.report_dir or "")
    assert (report / "report.json").is_file() and (report / "junit.xml").is_file()
    assert "success" in (report / "report.html").read_text()
    kinds = {e["event"] for e in outcome.state["events"]}
    assert {"step_start", "step_end", "barrier"} <= kinds


async def test_seeded_defect_is_a_failure_with_evidence(jira_url: str, sim: Any, tmp_path: Path) -> None:
    outcome = await _run("PTT-2", jira_url, sim.url, tmp_path)
    assert outcome.verdict.result == "failure", outcome.verdict.justification
    assert outcome.exit_code == 1
    assert "Alice is talking" in outcome.verdict.justification
    failed = [r for r in outcome.state["results"] if r.status == "failed"]
    assert failed and failed[0].evidence is not None
    assert failed[0].evidence.screenshot and Path(failed[0].evidence.screenshot).stat().st_size > 0
    assert "Alice is talking" in (failed[0].evidence.elements or "")


async def test_login_single_device(jira_url: str, sim: Any, tmp_path: Path) -> None:
    outcome = await _run("LOGIN-1", jira_url, sim.url, tmp_path)
    assert outcome.verdict.result == "success", outcome.verdict.justification
    # No evidence after plain actions: only assertions and failures capture screenshots.
    actions = await sim.actions()
    shots = [a for a in actions if a["tool"] == "mobile_take_screenshot"]
    assertions = [r for r in outcome.state["results"] if r.action.startswith("assert_")]
    assert len(shots) == len(assertions)


async def test_group_call_on_three_devices(jira_url: str, sim: Any, tmp_path: Path) -> None:
    outcome = await _run("CALL-1", jira_url, sim.url, tmp_path)
    assert outcome.verdict.result == "success", outcome.verdict.justification
    assert len({r.device for r in outcome.state["results"]}) == 3


async def test_missing_package_is_blocked_before_any_device_action(jira_url: str, sim: Any, tmp_path: Path) -> None:
    outcome = await _run("PTT-3", jira_url, sim.url, tmp_path)
    assert outcome.verdict.result == "blocked" and outcome.exit_code == 2
    assert "missing package name" in outcome.verdict.justification
    assert "GLOBAL_PACKAGE" in outcome.verdict.justification
    acting = [a for a in await sim.actions() if a["tool"] not in ("mobile_list_available_devices",)]
    assert acting == []


async def test_global_package_unblocks_the_same_ticket(jira_url: str, sim: Any, tmp_path: Path) -> None:
    outcome = await _run("PTT-3", jira_url, sim.url, tmp_path, global_package="com.example.ptt")
    assert outcome.verdict.result == "success", outcome.verdict.justification


async def test_french_free_text_offline_is_blocked_with_help(jira_url: str, sim: Any, tmp_path: Path) -> None:
    outcome = await _run("PTT-4", jira_url, sim.url, tmp_path)
    assert outcome.verdict.result == "blocked"
    assert "LLM_BASE_URL" in outcome.verdict.justification
    assert outcome.state["summary"].language == "fr"


async def test_unknown_ticket_is_blocked_with_a_clear_message(jira_url: str, sim: Any, tmp_path: Path) -> None:
    outcome = await _run("NOPE-404", jira_url, sim.url, tmp_path)
    assert outcome.verdict.result == "blocked"
    assert "NOPE-404 does not exist" in outcome.verdict.justification


async def test_fewer_devices_than_needed(jira_url: str, tmp_path: Path) -> None:
    from qa_agent.world.sim.process import simulator_process

    async with simulator_process(devices=2, apps_dir=APPS) as small:
        outcome = await _run("CALL-1", jira_url, small.url, tmp_path)
    assert outcome.verdict.result == "blocked"
    assert "needs 3 devices, found 2" in outcome.verdict.justification


@pytest.mark.parametrize(("mode", "expected_shots"), [("proofs", 2), ("failures", 0)])
async def test_screenshot_setting(jira_url: str, sim: Any, tmp_path: Path, mode: str, expected_shots: int) -> None:
    outcome = await _run("PTT-1", jira_url, sim.url, tmp_path, screenshots=mode)
    assert outcome.verdict.result == "success"
    shots = [a for a in await sim.actions() if a["tool"] == "mobile_take_screenshot"]
    assert len(shots) == expected_shots  # PTT-1 has 4 passing assertions, 2 of them prove expected results
    assertions = [r for r in outcome.state["results"] if r.action.startswith("assert_")]
    assert all(r.evidence and r.evidence.elements for r in assertions)  # the element list is always kept


CHAT_SETTINGS = """@package:com.example.chat
Feature: Chat settings
  Scenario: Sounds are on by default and a new display name is saved
    Given the user opens the app
    When the user taps "Settings"
    Then the "Sounds" switch is on
    And the "Vibrate" checkbox is off
    And the "General" tab is selected
    And "Save" is disabled
    When the user enters "Bob" in the "name" field
    And the user taps "Save"
    Then the "Saved" toast appears within 5 seconds
    And "Save" is disabled
"""


async def test_chat_settings_states_keyboard_and_toast(sim: Any, tmp_path: Path) -> None:
    """Chatter's settings (examples/apps/chatter.yaml) in Gherkin: state checks, a Save button under the
    soft keyboard (hidden with BACK, reported), a toast. A ticket of the test's own: the example
    tickets' folder is counted by the Jira tests."""
    tickets = write_tickets(tmp_path / "tickets", ticket_yaml("CHAT-1", details=CHAT_SETTINGS))
    ctx = load_context(tickets_dir=tickets, mobile_mcp_url=sim.url, report_root=tmp_path / "runs")
    outcome = await run_ticket(ctx, "CHAT-1")
    assert outcome.verdict.result == "success", outcome.verdict.justification
    results: list[StepResult] = outcome.state["results"]
    save = next(r for r in results if r.action == "tap_text" and "'Save'" in r.message)
    assert "hid the soft keyboard (BACK)" in save.message, save.message
    assert sum(r.action == "assert_state" and r.status == "passed" for r in results) == 5
