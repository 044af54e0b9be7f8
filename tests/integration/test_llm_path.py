"""The LLM path over the wire: ChatOpenAI against a scripted OpenAI-compatible HTTP server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from graph.context import load_context
from qa_agent.runner import RunOutcome, run_ticket
from qa_agent.world.scripted_llm import ScriptedLLMServer
from tests.conftest import APPS
from tests.llm_scripts import PTT4_SUMMARY, jira_agent_rules, ptt_plan

pytestmark = pytest.mark.slow
API_KEY = "sk-test-Zq8vN3-never-log-me"


@pytest.fixture
async def sim() -> AsyncIterator[Any]:
    from qa_agent.world.sim.process import simulator_process

    async with simulator_process(devices=3, apps_dir=APPS) as handle:
        yield handle


async def _run(
    key: str, llm: ScriptedLLMServer, jira_url: str, sim_url: str, tmp_path: Path, **overrides: Any
) -> RunOutcome:
    ctx = load_context(
        jira_mcp_url=jira_url,
        mobile_mcp_url=sim_url,
        llm_base_url=llm.base_url,
        llm_api_key=API_KEY,
        llm_max_retries=0,
        report_root=tmp_path / "runs",
        **overrides,
    )
    return await run_ticket(ctx, key)


def _planner_requests(llm: ScriptedLLMServer) -> list[Any]:
    return [r for r in llm.requests if r.schema_name == "PlannedTest"]


async def test_french_free_text_is_summarised_planned_and_passed(jira_url: str, sim: Any, tmp_path: Path) -> None:
    rules = [*jira_agent_rules("PTT-4", PTT4_SUMMARY), {"schema_name": "PlannedTest", "content": ptt_plan()}]
    async with ScriptedLLMServer(rules, api_key=API_KEY) as llm:
        outcome = await _run("PTT-4", llm, jira_url, sim.url, tmp_path)
        assert outcome.verdict.result == "success", outcome.verdict.justification
        assert llm.unused_rules() == []
        # The jira_agent saw the real ticket through the MCP tool.
        assert any("maintenir le bouton" in str(r.body) for r in llm.requests if r.last_role == "tool")
    summary = outcome.state["summary"]
    assert summary.language == "fr" and summary.package == "com.example.ptt"
    usage = outcome.state["usage"]
    assert usage["jira_agent"].calls == 3 and usage["jira_agent"].input_tokens > 0
    assert usage["planner"].calls == 1 and usage["planner"].output_tokens > 0
    assert "verifier" not in usage  # every expected result was covered by an assertion


async def test_wrong_element_is_replanned_to_success(jira_url: str, sim: Any, tmp_path: Path) -> None:
    rules = [
        *jira_agent_rules("PTT-4", PTT4_SUMMARY),
        {"name": "first plan", "schema_name": "PlannedTest", "content": ptt_plan(target="Parler")},
        {
            "name": "replan",
            "schema_name": "PlannedTest",
            "contains": "no element matching",
            "content": ptt_plan(),
        },
    ]
    async with ScriptedLLMServer(rules, api_key=API_KEY) as llm:
        outcome = await _run("PTT-4", llm, jira_url, sim.url, tmp_path, find_timeout_s=1.0)
        assert outcome.verdict.result == "success", outcome.verdict.justification
        assert len(_planner_requests(llm)) == 2
    history = outcome.state["history"]
    assert [h.verdict.replan for h in history] == [True, False]
    assert history[0].verdict.failure_class == "plan_defect"
    # results of the failed attempt were not carried into the second one
    assert {r.attempt for r in outcome.state["results"]} == {1}
    assert outcome.state["usage"]["planner"].calls == 2


async def test_app_defect_is_never_replanned(jira_url: str, sim: Any, tmp_path: Path) -> None:
    summary = dict(PTT4_SUMMARY, package="com.example.ptt.rc")
    rules = [
        *jira_agent_rules("PTT-2", summary),
        {"schema_name": "PlannedTest", "content": ptt_plan(), "repeat": True},
    ]
    async with ScriptedLLMServer(rules, api_key=API_KEY) as llm:
        outcome = await _run("PTT-2", llm, jira_url, sim.url, tmp_path)
        assert outcome.verdict.result == "failure", outcome.verdict.justification
        assert outcome.verdict.failure_class == "app_defect"
        # PTT-2 is Gherkin: compiled without the model, and a failure is not replanned.
        assert _planner_requests(llm) == []
    assert len(outcome.state["history"]) == 1


async def test_invalid_plan_output_twice_is_blocked(jira_url: str, sim: Any, tmp_path: Path) -> None:
    rules = [
        *jira_agent_rules("PTT-4", PTT4_SUMMARY),
        {"schema_name": "PlannedTest", "raw_content": "{not json at all", "repeat": True},
    ]
    async with ScriptedLLMServer(rules, api_key=API_KEY) as llm:
        outcome = await _run("PTT-4", llm, jira_url, sim.url, tmp_path)
        assert len(_planner_requests(llm)) == 2
    assert outcome.verdict.result == "blocked"
    assert "no valid PlannedTest after 2 tries" in outcome.verdict.justification


async def test_invalid_plan_is_repaired_once_then_blocked_with_the_errors(
    jira_url: str, sim: Any, tmp_path: Path
) -> None:
    bad = {"steps": [{"id": "S1", "driver": 7, "action": "teleport", "args": {}}]}
    rules = [
        *jira_agent_rules("PTT-4", PTT4_SUMMARY),
        {"schema_name": "PlannedTest", "content": bad, "repeat": True},
    ]
    async with ScriptedLLMServer(rules, api_key=API_KEY) as llm:
        outcome = await _run("PTT-4", llm, jira_url, sim.url, tmp_path)
        second = _planner_requests(llm)[1]
        assert "unknown action" in str(second.body) and "out of range" in str(second.body)
    assert outcome.verdict.result == "blocked"
    assert "unknown action" in outcome.verdict.justification
    assert "driver 7 is out of range: 3 device(s) connected" in outcome.verdict.justification


async def test_unknown_tool_call_is_answered_and_the_agent_recovers(jira_url: str, sim: Any, tmp_path: Path) -> None:
    rules = [
        {"kind": "tools", "contains": "PTT-4", "last_role": "user",
         "tool_calls": [{"name": "jira_get_ticket", "arguments": {"key": "PTT-4"}}]},
        *jira_agent_rules("PTT-4", PTT4_SUMMARY),
        {"schema_name": "PlannedTest", "content": ptt_plan()},
    ]  # fmt: skip
    rules[1]["last_role"] = "tool"
    async with ScriptedLLMServer(rules, api_key=API_KEY) as llm:
        outcome = await _run("PTT-4", llm, jira_url, sim.url, tmp_path)
        assert any("unknown tool 'jira_get_ticket'" in str(r.body) for r in llm.requests)
    assert outcome.verdict.result == "success", outcome.verdict.justification


async def test_agent_looping_past_the_bound_is_blocked(jira_url: str, sim: Any, tmp_path: Path) -> None:
    rules = [
        {"kind": "tools", "repeat": True,
         "tool_calls": [{"name": "jira_search", "arguments": {"jql": "project = PTT"}}]},
    ]  # fmt: skip
    async with ScriptedLLMServer(rules, api_key=API_KEY) as llm:
        outcome = await _run("PTT-4", llm, jira_url, sim.url, tmp_path, jira_agent_max_rounds=3)
        assert len(llm.requests) == 3
    assert outcome.verdict.result == "blocked"
    assert "3 rounds of tool calls without finishing" in outcome.verdict.justification


async def test_unreachable_llm_endpoint_is_blocked(jira_url: str, sim: Any, tmp_path: Path) -> None:
    ctx = load_context(
        jira_mcp_url=jira_url,
        mobile_mcp_url=sim.url,
        llm_base_url="http://127.0.0.1:9/v1",
        llm_api_key=API_KEY,
        llm_max_retries=0,
        report_root=tmp_path / "runs",
    )
    outcome = await run_ticket(ctx, "PTT-4")
    assert outcome.verdict.result == "blocked" and outcome.exit_code == 2
    assert "LLM endpoint failed" in outcome.verdict.justification


@pytest.mark.parametrize("images", [False, True], ids=["text-only", "with-screenshots"])
async def test_uncovered_expected_result_is_judged_by_the_model(
    jira_url: str, sim: Any, tmp_path: Path, images: bool
) -> None:
    summary = dict(PTT4_SUMMARY, expected_results=[*PTT4_SUMMARY["expected_results"], "Le bouton Talk reste visible"])
    judgement = {
        "result": "success",
        "justification": "Button 'Talk' is listed on phone 1",
        "evidence": ["S4 elements: Button 'Talk'"],
        "failure_class": "none",
    }
    rules = [
        *jira_agent_rules("PTT-4", summary),
        {"schema_name": "PlannedTest", "content": ptt_plan()},
        {"schema_name": "Judgement", "content": judgement},
    ]
    async with ScriptedLLMServer(rules, api_key=API_KEY) as llm:
        outcome = await _run("PTT-4", llm, jira_url, sim.url, tmp_path, llm_accepts_images=images)
        judged = [r for r in llm.requests if r.schema_name == "Judgement"]
        assert len(judged) == 1 and "Le bouton Talk reste visible" in str(judged[0].body)
        assert ("data:image/jpeg;base64," in str(judged[0].body)) is images
        assert "Alice is talking" not in str(judged[0].body).split("Expected results to judge:")[1].split("Step")[0]
    assert outcome.verdict.result == "success"
    assert outcome.verdict.justification.startswith("(model judgement)")
    assert outcome.state["usage"]["verifier"].calls == 1


async def test_api_key_never_reaches_logs_reports_or_checkpoints(
    jira_url: str,
    sim: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rules = [*jira_agent_rules("PTT-4", PTT4_SUMMARY), {"schema_name": "PlannedTest", "content": ptt_plan()}]
    caplog.set_level("DEBUG")
    async with ScriptedLLMServer(rules, api_key=API_KEY) as llm:
        outcome = await _run("PTT-4", llm, jira_url, sim.url, tmp_path)
    assert outcome.verdict.result == "success"
    captured = capsys.readouterr()
    assert API_KEY not in caplog.text + captured.out + captured.err
    for path in (tmp_path / "runs").rglob("*"):
        if path.is_file():
            assert API_KEY.encode() not in path.read_bytes(), f"key found in {path}"
