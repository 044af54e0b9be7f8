"""A step line the compiler does not understand refuses the plan; it is never skipped.

A misspelled keyword used to drop the check it carried, and the ticket passed without it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from graph.context import load_context
from qa_agent.planning.gherkin import GherkinError, compile_gherkin
from qa_agent.runner import run_ticket
from qa_agent.world.sim.process import simulator_process
from tests.conftest import APPS
from tests.tickets import ticket_yaml, write_tickets

PTT_WITH_TYPOS = """@package:com.example.ptt
Feature: Push-to-talk on build 42
  Scenario: The banner goes away after release
    Given user1 opens the app
    And user2 opens the app
    When user1 sees "Talk" within 10 seconds
    Then while user1 holds "Talk" for 2 seconds, user2 sees "Alice is talking" within 3 seconds
    Thne user2 does not see "Alice is talking" within 5 seconds
    Also user2 sees "Ready"
"""


@pytest.mark.parametrize("typo", ["Thne", "Also", "Ands", "Whenn"])
def test_a_misspelled_keyword_refuses_the_plan(typo: str) -> None:
    text = f'Scenario: s\n  Given user1 opens the app\n  {typo} user1 sees "Home"\n'
    with pytest.raises(GherkinError) as caught:
        compile_gherkin(text)
    assert f"line 3: not a step (Given/When/Then/And/But): '{typo} user1 sees \"Home\"'" in str(caught.value)


def test_every_line_not_understood_is_listed() -> None:
    with pytest.raises(GherkinError) as caught:
        compile_gherkin(PTT_WITH_TYPOS)
    message = str(caught.value)
    assert "line 8: not a step" in message and "Thne user2 does not see" in message
    assert "line 9: not a step" in message and "Also user2 sees" in message


def test_uncompilable_steps_are_all_listed_too() -> None:
    text = 'Scenario: s\n  Given user1 opens the app\n  When user1 juggles "A"\n  Then user1 frobs "B"\n'
    with pytest.raises(GherkinError) as caught:
        compile_gherkin(text)
    assert "line 3" in str(caught.value) and "line 4" in str(caught.value)


def test_feature_description_and_doc_strings_are_not_steps() -> None:
    text = (
        "Feature: Login\n  Free text that describes the feature.\n"
        '  Scenario: s\n    Given user1 opens the app\n    When user1 types "x" into "Email"\n'
        '    Then user1 sees "Welcome"\n'
    )
    assert len(compile_gherkin(text).steps) == 3


def test_a_placeholder_without_an_examples_column_is_refused_not_typed() -> None:
    text = (
        "Scenario Outline: s\n  Given user1 opens the app\n"
        '  When user1 types "<email>" into "Email"\n  Examples:\n    | mail |\n    | a@b.c |\n'
    )
    with pytest.raises(GherkinError, match="line 3: placeholder <email> has no column in the Examples table"):
        compile_gherkin(text)


def test_a_misspelled_keyword_before_the_first_step_is_refused() -> None:
    """The official parser reads it as the scenario's description: it must not vanish."""
    with pytest.raises(GherkinError, match=r"line 2: not a step \(Given/When/Then/And/But\): 'Givn user1 opens"):
        compile_gherkin('Scenario: s\n  Givn user1 opens the app\n  Then user1 sees "Home"\n')


@pytest.fixture
async def sim() -> AsyncIterator[Any]:
    async with simulator_process(devices=2, apps_dir=APPS) as handle:
        yield handle


async def test_a_run_with_a_dropped_check_is_blocked_not_passed(sim: Any, tmp_path: Path) -> None:
    """PTT-2's seeded defect (the banner stays) is caught only by the misspelled line: it must block, not pass."""
    tickets = write_tickets(
        tmp_path / "tickets",
        ticket_yaml("TYPO-1", details=PTT_WITH_TYPOS.replace("com.example.ptt", "com.example.ptt.rc")),
    )
    ctx = load_context(report_root=tmp_path / "runs", tickets_dir=tickets, mobile_mcp_url=sim.url)
    outcome = await asyncio.wait_for(run_ticket(ctx, "TYPO-1"), 120)
    assert outcome.verdict.result == "blocked"
    assert "line 8: not a step" in outcome.verdict.justification
    assert "line 9: not a step" in outcome.verdict.justification
