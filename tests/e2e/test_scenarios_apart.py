"""Several test cases in one ticket (scenarios, Examples rows) stay apart in JUnit: one testcase each."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from graph.context import load_context
from qa_agent.runner import RunOutcome, run_ticket
from qa_agent.world.sim.process import simulator_process
from tests.conftest import APPS
from tests.tickets import ticket_yaml, write_tickets

OUTLINE = """@package:com.example.login
Feature: Sign in
  Scenario Outline: sign in with <password>
    Given the user opens the app
    When the user types "alice@example.com" into "Email"
    And the user types "<password>" into "Password"
    And the user taps "Sign in"
    Then the user sees "<message>" within 5 seconds
    Examples:
      | password | message             |
      | secret   | Welcome, Alice      |
      | wrong    | {second}            |
"""


@pytest.fixture
async def sim() -> AsyncIterator[Any]:
    async with simulator_process(devices=1, apps_dir=APPS) as handle:
        yield handle


async def _run(second: str, sim: Any, tmp_path: Path) -> tuple[RunOutcome, list[ET.Element]]:
    details = OUTLINE.replace("{second}", second)
    tickets = write_tickets(tmp_path / "tickets", ticket_yaml("CASES-1", details=details))
    ctx = load_context(tickets_dir=tickets, mobile_mcp_url=sim.url, report_root=tmp_path / "runs", find_timeout_s=3)
    outcome = await asyncio.wait_for(run_ticket(ctx, "CASES-1"), 150)
    junit = ET.parse(Path(outcome.report_dir) / "junit.xml").getroot()
    return outcome, junit.findall(".//testcase")


async def test_each_example_row_is_a_testcase_and_all_pass(sim: Any, tmp_path: Path) -> None:
    outcome, cases = await _run("Invalid credentials", sim, tmp_path)
    assert outcome.verdict.result == "success", outcome.verdict.justification
    assert outcome.state["plan"].cases == ["sign in with secret", "sign in with wrong"]
    assert [c.get("name") for c in cases] == ["CASES-1: sign in with secret", "CASES-1: sign in with wrong"]
    assert all(c.find("failure") is None and c.find("error") is None for c in cases)


async def test_a_failing_row_fails_alone(sim: Any, tmp_path: Path) -> None:
    outcome, cases = await _run("Welcome, Alice", sim, tmp_path)  # the wrong password cannot sign in
    assert outcome.verdict.result == "failure", outcome.verdict.justification
    first, second = cases
    assert first.find("failure") is None and first.find("error") is None
    assert second.find("failure") is not None
    report = (Path(outcome.report_dir) / "report.html").read_text(encoding="utf-8")
    assert "sign in with secret: success · sign in with wrong: failure" in report
