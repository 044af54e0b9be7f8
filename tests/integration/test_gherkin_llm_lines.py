"""With an LLM, only the Gherkin lines no step matched go to it; an LLM that is down blocks nothing it need not.

Real runs: the embedded Jira server, the simulator over HTTP, and the scripted OpenAI-compatible server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from graph.context import load_context
from qa_agent.runner import RunOutcome, run_ticket
from qa_agent.world.scripted_llm import ScriptedLLMServer
from qa_agent.world.sim.process import simulator_process
from tests.conftest import APPS
from tests.llm_scripts import jira_agent_rules
from tests.tickets import ticket_yaml, write_tickets

pytestmark = pytest.mark.slow
API_KEY = "sk-test-lines"
UNMATCHED = 'user1 makes sure the "Talk" button is on screen before anything else'
DETAILS = f"""@package:com.example.ptt
Feature: Channel screen
  Scenario: ready to talk
    Given user1 opens the app
    When {UNMATCHED}
    Then user1 sees "Ready" within 10 seconds
"""
COMPILED = DETAILS.replace(f"When {UNMATCHED}", 'When user1 sees "Talk" within 10 seconds')
SUMMARY = {"title": "Channel screen", "test_details": DETAILS, "expected_results": [], "package": "com.example.ptt"}
DOWN = {"name": "endpoint down", "status": 503, "error": "the model is overloaded", "repeat": True}


@pytest.fixture
async def sim() -> AsyncIterator[Any]:
    async with simulator_process(devices=1, apps_dir=APPS) as handle:
        yield handle


async def _run(key: str, details: str, llm: ScriptedLLMServer, sim: Any, tmp_path: Path) -> RunOutcome:
    tickets = write_tickets(tmp_path / "tickets", ticket_yaml(key, details=details))
    ctx = load_context(
        tickets_dir=tickets,
        mobile_mcp_url=sim.url,
        llm_base_url=llm.base_url,
        llm_api_key=API_KEY,
        llm_max_retries=0,
        report_root=tmp_path / "runs",
        plan_replay=False,
    )
    return await asyncio.wait_for(run_ticket(ctx, key), 150)


async def test_only_the_unmatched_line_goes_to_the_llm(sim: Any, tmp_path: Path) -> None:
    talk = {"driver": 1, "action": "assert_visible", "args": {"text": "Talk"}}
    line_plan = {"lines": [{"number": 1, "steps": [talk]}]}
    rules = [*jira_agent_rules("LINES-1", SUMMARY), {"schema_name": "PlannedLines", "content": line_plan}]
    async with ScriptedLLMServer(rules, api_key=API_KEY) as llm:
        outcome = await _run("LINES-1", DETAILS, llm, sim, tmp_path)
        asked = [r for r in llm.requests if r.schema_name == "PlannedLines"]
    assert outcome.verdict.result == "success", outcome.verdict.justification
    assert len(asked) == 1
    question = str(asked[0].body)
    assert "Line 1 (ticket line 5)" in question and "makes sure the" in question
    assert "Line 2" not in question  # the lines the library compiled are context, not questions
    plan = outcome.state["plan"]
    assert [(s.action, s.source) for s in plan.steps] == [
        ("launch_app", ""),
        ("assert_visible", "llm"),
        ("assert_visible", ""),
    ]
    assert "planned by the LLM" in plan.notes
    report = (Path(outcome.report_dir) / "report.html").read_text(encoding="utf-8")
    assert report.count("(planned by the LLM)") == 1  # the report marks the model's step
    assert outcome.state["usage"]["planner"].calls == 1


async def test_an_llm_that_is_down_does_not_block_a_ticket_that_compiles(sim: Any, tmp_path: Path) -> None:
    async with ScriptedLLMServer([DOWN], api_key=API_KEY) as llm:
        outcome = await _run("LINES-2", COMPILED, llm, sim, tmp_path)
    assert outcome.verdict.result == "success", outcome.verdict.justification
    assert "compiled offline without the LLM" in outcome.state["plan"].notes
    assert "503" in outcome.state["plan"].notes or "overloaded" in outcome.state["plan"].notes


async def test_an_llm_that_is_down_gives_the_offline_result_and_says_so(sim: Any, tmp_path: Path) -> None:
    async with ScriptedLLMServer([DOWN], api_key=API_KEY) as llm:
        outcome = await _run("LINES-3", DETAILS, llm, sim, tmp_path)
    verdict = outcome.verdict
    assert verdict.result == "blocked"
    assert "line 5: cannot compile step" in verdict.justification and "nearest known phrasing" in verdict.justification
    assert "the LLM that would plan them failed" in verdict.justification
