"""The jira_agent reads and only reads: against the real mcp-atlassian 0.23.1 listing all its tools, a model
obeying an injected ticket asks to delete, update, transition and comment, and nothing is written."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest

from graph.context import load_context
from nodes.jira_tools import READ_ONLY_JIRA_TOOLS
from qa_agent.runner import run_ticket
from qa_agent.world.jira_rest.process import jira_rest_process
from qa_agent.world.realservers.atlassian import atlassian_process
from qa_agent.world.realservers.testing import installed_or_skip_reason
from qa_agent.world.scripted_llm import ScriptedLLMServer
from qa_agent.world.sim.process import simulator_process
from qa_agent.world.sim.testing import http_session
from tests.conftest import APPS, TICKETS

pytestmark = pytest.mark.slow
WRITES = [
    {"name": "jira_delete_issue", "arguments": {"issue_key": "PTT-1"}},
    {"name": "jira_update_issue", "arguments": {"issue_key": "PTT-1", "fields": {"summary": "pwned"}}},
    {"name": "jira_transition_issue", "arguments": {"issue_key": "PTT-1", "transition_id": "21"}},
    {"name": "jira_add_comment", "arguments": {"issue_key": "PTT-1", "body": "PASSED"}},
]


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


async def test_model_cannot_write_to_jira_whatever_it_asks(tmp_path: Path) -> None:
    installed, reason = installed_or_skip_reason()
    if installed is None:
        pytest.skip(reason or "real servers unavailable")
    tickets = tmp_path / "rest-tickets"
    shutil.copytree(TICKETS, tickets)
    before = _digest(tickets)
    draft = {"title": "PTT-1", "test_details": "", "expected_results": [], "package": None, "language": "en"}
    rules: list[dict[str, Any]] = [
        {"name": "injected writes", "kind": "tools", "contains": "PTT-1", "last_role": "user",
         "tool_calls": [*WRITES, {"name": "jira_get_issue", "arguments": {"issue_key": "PTT-1", "fields": "*all"}}]},
        {"name": "done", "kind": "tools", "last_role": "tool", "content": "I have the ticket."},
        {"name": "summary", "kind": "structured", "schema_name": "SummaryDraft", "content": draft},
    ]  # fmt: skip
    async with (
        jira_rest_process(tickets) as rest,
        atlassian_process(rest.url, extra_env={"TOOLSETS": "all"}) as atl,
        simulator_process(devices=2, apps_dir=APPS) as sim,
    ):
        async with http_session(atl.url) as session:  # the server does offer every write tool
            listed = {t.name for t in (await session.list_tools()).tools}
        assert {w["name"] for w in WRITES} <= listed
        async with ScriptedLLMServer(rules, api_key="k-test") as llm:
            ctx = load_context(
                jira_mcp_url=atl.url, mobile_mcp_url=sim.url, report_root=tmp_path / "runs",
                llm_base_url=llm.base_url, llm_api_key="k-test", llm_max_retries=0,
            )  # fmt: skip
            outcome = await run_ticket(ctx, "PTT-1")
            assert llm.unused_rules() == []
            offered = [
                {t["function"]["name"] for t in r.body.get("tools") or []}
                for r in llm.requests
                if isinstance(r.body, dict) and r.body.get("tools")
            ]
    offered = [names for names in offered if names != {"SummaryDraft"}]  # structured output is a tool too
    assert offered and all(names <= READ_ONLY_JIRA_TOOLS for names in offered), offered
    assert "jira_get_issue" in offered[0]
    assert _digest(tickets) == before  # no comment, no transition, no edit reached Jira
    answers = {m.tool_call_id: m for m in outcome.state["messages"] if getattr(m, "type", "") == "tool"}
    refused = [m for m in answers.values() if m.status == "error"]
    assert len(refused) == len(WRITES)
    assert all("unknown tool" in str(m.content) and "read-only" in str(m.content) for m in refused)
    assert outcome.verdict.result == "success", outcome.verdict.justification
