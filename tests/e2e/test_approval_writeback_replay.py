"""Plan approval (programmatic and CLI), Jira write-back, and plan replay."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from graph.context import load_context
from qa_agent.runner import resume_run, run_ticket
from qa_agent.world.scripted_llm import ScriptedLLMServer
from tests.conftest import APPS, TICKETS
from tests.llm_scripts import jira_agent_rules

pytestmark = pytest.mark.slow


@pytest.fixture
async def sim() -> AsyncIterator[Any]:
    from qa_agent.world.sim.process import simulator_process

    async with simulator_process(devices=2, apps_dir=APPS) as handle:
        yield handle


@pytest.fixture
def tickets(tmp_path: Path) -> Path:
    folder = tmp_path / "tickets"
    shutil.copytree(TICKETS, folder)
    return folder


async def test_approve_edit_and_reject(jira_url: str, sim: Any, tmp_path: Path) -> None:
    ctx = load_context(jira_mcp_url=jira_url, mobile_mcp_url=sim.url, report_root=tmp_path, approve_plan=True)
    waiting = await run_ticket(ctx, "LOGIN-1")
    assert waiting.exit_code == 4 and waiting.waiting is not None
    plan = waiting.waiting["plan"]
    assert [s["action"] for s in plan["steps"]][:2] == ["launch_app", "type_into"]
    acted = [a for a in await sim.actions() if a["tool"] != "mobile_list_available_devices"]
    assert acted == [], "nothing may run on a device before the plan is approved"

    # the reviewer drops the last check and approves the rest: the ticket still expects what it
    # expects, so the run cannot pass without that evidence; nor is the edited plan stored for replay
    plan["steps"] = plan["steps"][:-1]
    plan["verifications"] = plan["verifications"][:1]
    done = await resume_run(ctx, waiting.run_id, decision={"action": "edit", "plan": plan})
    assert done.verdict.result == "blocked", done.verdict.justification
    assert "edited by the reviewer" in done.state["plan"].notes
    assert done.state["plan"].source == "edited"
    assert len(done.state["plan"].verifications) == 2
    assert len(done.state["results"]) == len(plan["steps"])

    # an edited plan whose checks all hold passes, and a later plain run does not replay it
    third = await run_ticket(ctx, "LOGIN-1")
    assert third.waiting is not None
    full = third.waiting["plan"] | {"verifications": []}  # the reviewer's own list is ignored
    edited = await resume_run(ctx, third.run_id, decision={"action": "edit", "plan": full})
    assert edited.verdict.result == "success", edited.verdict.justification
    assert "plan_stored" not in json.loads((Path(edited.report_dir or "") / "report.json").read_text())
    assert not (tmp_path / "plans").exists() or not list((tmp_path / "plans").iterdir())

    second = await run_ticket(ctx, "LOGIN-1")
    rejected = await resume_run(ctx, second.run_id, decision={"action": "reject", "reason": "wrong build"})
    assert rejected.verdict.result == "blocked"
    assert "plan rejected by the reviewer: wrong build" in rejected.verdict.justification


async def test_cli_approval_without_a_terminal(jira_url: str, sim: Any, tmp_path: Path) -> None:
    env = {**os.environ, "JIRA_MCP_URL": jira_url, "MOBILE_MCP_URL": sim.url, "QA_REPORT_DIR": str(tmp_path)}
    env["COLUMNS"] = "200"
    cli = [sys.executable, "-m", "qa_agent.cli"]

    async def run(*args: str) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            *cli, *args, env=env, cwd=tmp_path, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE
        )
        out = (await asyncio.wait_for(proc.communicate(), 120))[0].decode()
        assert proc.returncode is not None
        return proc.returncode, out

    code, out = await run("run", "LOGIN-1", "--approve")
    assert code == 4, out
    assert "waiting for a plan decision" in out and "type_into" in out
    run_id = out.split("qa-agent approve ")[1].split()[0]
    code, out = await run("approve", run_id, "--reject", "not this sprint")
    assert code == 2, out
    assert "plan rejected by the reviewer: not this sprint" in out


async def test_writeback_comment_reads_back(tickets: Path, sim: Any, tmp_path: Path) -> None:
    from qa_agent.jira_client import call_jira, jira_session
    from qa_agent.world.jira_server.process import jira_server_process

    async with jira_server_process(tickets) as jira:
        ctx = load_context(jira_mcp_url=jira.url, mobile_mcp_url=sim.url, report_root=tmp_path, jira_writeback=True)
        outcome = await run_ticket(ctx, "LOGIN-1")
        assert outcome.verdict.result == "success"
        assert outcome.state["writeback"].startswith("posted:")
        async with jira_session(ctx) as session:
            issue = json.loads(await call_jira(session, "jira_get_issue", {"issue_key": "LOGIN-1"}))
    body = issue["comments"][-1]["body"]
    # "type\_into": stored as mcp-atlassian stores it, the intraword underscore escaped for Jira's renderer
    assert "SUCCESS" in body and "| S1 |" in body and "type\\_into" in body
    assert str(Path(outcome.report_dir or "") / "report.html") in body
    assert "LOGIN-1" in (tickets / "LOGIN-1.yaml").read_text()  # the comment is in the ticket file
    assert "SUCCESS" in (tickets / "LOGIN-1.yaml").read_text()


async def test_replay_skips_the_llm_until_the_ticket_changes(tickets: Path, sim: Any, tmp_path: Path) -> None:
    from qa_agent.world.jira_server.process import jira_server_process

    summary = {"title": "Login", "test_details": "", "expected_results": [], "package": "com.example.login"}
    async with (
        jira_server_process(tickets) as jira,
        ScriptedLLMServer([*jira_agent_rules("LOGIN-1", summary)], api_key="k") as llm,
    ):
        ctx = load_context(
            jira_mcp_url=jira.url, mobile_mcp_url=sim.url, report_root=tmp_path, llm_base_url=llm.base_url,
            llm_api_key="k", llm_max_retries=0,
        )  # fmt: skip
        first = await run_ticket(ctx, "LOGIN-1")
        assert first.verdict.result == "success", first.verdict.justification
        calls_after_first = len(llm.requests)
        assert calls_after_first == 3  # the jira_agent read and summarised it

        await sim.reset()  # fresh phones: the first run left Alice signed in
        second = await run_ticket(ctx, "LOGIN-1")
        assert second.verdict.result == "success", second.verdict.justification
        assert len(llm.requests) == calls_after_first, "a replay makes no LLM call"
        assert second.state["plan"].source == "replay"
        report = json.loads((Path(second.report_dir or "") / "report.json").read_text())
        assert report["plan"]["source"] == "replay" and "replayed from" in report["plan"]["notes"]

        # A changed ticket is planned afresh (the model reads it again).
        path = tickets / "LOGIN-1.yaml"
        path.write_text(path.read_text().replace("Smoke test of the sign-in form", "Sign-in form, build 43"))
        llm.add_rules(*jira_agent_rules("LOGIN-1", summary))
        await sim.reset()
        third = await run_ticket(ctx, "LOGIN-1")
        assert third.verdict.result == "success"
        assert len(llm.requests) == calls_after_first + 3
        assert third.state["plan"].source == "gherkin"


async def test_stale_replay_is_planned_afresh(jira_url: str, sim: Any, tmp_path: Path) -> None:
    ctx = load_context(jira_mcp_url=jira_url, mobile_mcp_url=sim.url, report_root=tmp_path, find_timeout_s=1.0)
    first = await run_ticket(ctx, "LOGIN-1")
    assert first.verdict.result == "success"
    stored = next((tmp_path / "plans").glob("*.json"))
    data = json.loads(stored.read_text())
    for step in data["plan"]["steps"]:
        if step["args"].get("target") == "Sign in":
            step["args"]["target"] = "Log on"  # the button was renamed since: the stored plan is stale
    stored.write_text(json.dumps(data))
    await sim.reset()
    second = await run_ticket(ctx, "LOGIN-1")
    assert second.verdict.result == "success", second.verdict.justification
    history = second.state["history"]
    assert [h.plan.source for h in history] == ["replay", "gherkin"]
    assert history[0].verdict.failure_class == "plan_defect"
