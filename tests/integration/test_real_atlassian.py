"""The real mcp-atlassian 0.23.1 (streamable HTTP) over our Jira Server REST stand-in, against our embedded
Jira MCP server on the same tickets; and the agent reading PTT-1 through the real server.

Skipped (loudly) when PyPI (or Node/npm, installed by the same fixture) is missing.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from graph.context import load_context
from qa_agent.jira_client import fetch_issue
from qa_agent.runner import run_ticket
from qa_agent.tickets import offline_summary, parse_issue_text, ticket_from_jira
from qa_agent.world.jira_rest.process import jira_rest_process
from qa_agent.world.jira_server.process import jira_server_process
from qa_agent.world.realservers.atlassian import atlassian_process
from qa_agent.world.realservers.install import Installed
from qa_agent.world.realservers.testing import installed_or_skip_reason
from qa_agent.world.sim.process import simulator_process
from qa_agent.world.sim.testing import http_session, result_text
from tests.conftest import APPS, TICKETS

pytestmark = pytest.mark.slow
IGNORED = {"id", "url", "browse_url", "thumbnail_url", "created", "updated"}


@pytest.fixture(scope="module")
def real_servers() -> Installed:
    installed, reason = installed_or_skip_reason()
    if installed is None:
        pytest.skip(reason or "real servers unavailable")
    return installed


@dataclass
class Jiras:
    real: str  # mcp-atlassian's /mcp
    ours: str  # embedded server's /mcp
    real_tickets: Path
    our_tickets: Path


@pytest.fixture
async def jiras(real_servers: Installed, tmp_path: Path) -> AsyncIterator[Jiras]:
    real_tickets, our_tickets = tmp_path / "rest-tickets", tmp_path / "embedded-tickets"
    shutil.copytree(TICKETS, real_tickets)
    shutil.copytree(TICKETS, our_tickets)
    async with (
        jira_rest_process(real_tickets) as rest,
        atlassian_process(rest.url) as atl,
        jira_server_process(our_tickets) as ours,
    ):
        yield Jiras(atl.url, ours.url, real_tickets, our_tickets)


def _strip(value: Any) -> Any:
    """Drop ids, urls and timestamps (they legitimately differ), keep every key and value shape."""
    if isinstance(value, dict):
        return {k: (_strip(v) if k not in IGNORED else type(v).__name__) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


async def _call_both(j: Jiras, tool: str, args: dict[str, Any]) -> tuple[Any, Any]:
    async with http_session(j.real) as real, http_session(j.ours) as ours:
        r = await real.call_tool(tool, args)
        o = await ours.call_tool(tool, args)
    assert bool(r.isError) == bool(o.isError), (result_text(r), result_text(o))
    assert (r.structuredContent is None) == (o.structuredContent is None)
    if r.isError:
        return result_text(r), result_text(o)
    return json.loads(result_text(r)), json.loads(result_text(o))


@pytest.mark.parametrize(
    "args",
    [
        {"issue_key": "PTT-1"},
        {"issue_key": "PTT-1", "fields": "*all"},
        {"issue_key": "CALL-1", "fields": "*all", "comment_limit": 0},
        {"issue_key": "LOGIN-1", "fields": "summary,customfield_11504,attachment,comment"},
        {"issue_key": "NOPE-1"},
    ],
    ids=["default", "all", "all-no-comments", "named-fields", "missing"],
)
async def test_get_issue_contract(jiras: Jiras, args: dict[str, Any]) -> None:
    real, ours = await _call_both(jiras, "jira_get_issue", args)
    if isinstance(real, str):
        assert real == ours
        return
    assert list(real) == list(ours)  # same keys, same order
    assert _strip(real) == _strip(ours)
    if "created" in real:
        assert real["created"] == ours["created"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", real["created"])


async def test_search_contract(jiras: Jiras) -> None:
    for args in (
        {"jql": "project = PTT ORDER BY key ASC", "limit": 3},
        {"jql": 'labels = regression AND status = "To Do" ORDER BY key', "fields": "summary,status,labels"},
    ):
        real, ours = await _call_both(jiras, "jira_search", args)
        assert _strip(real) == _strip(ours), args


async def test_add_comment_contract(jiras: Jiras) -> None:
    body = "**Verdict**: PASS\nall steps ok, see `report.html`"
    real, ours = await _call_both(jiras, "jira_add_comment", {"issue_key": "PTT-1", "body": body})
    assert list(real) == list(ours) == ["id", "body", "created", "author"]
    assert real["body"] == ours["body"] == body
    assert real["author"] == ours["author"] == "QA Agent"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00:00", real["created"])
    for folder in (jiras.real_tickets, jiras.our_tickets):  # appended to the ticket file, as wiki markup
        stored = yaml.safe_load((folder / "PTT-1.yaml").read_text())
        assert stored["comments"][-1]["body"] == "*Verdict*: PASS\nall steps ok, see {{report.html}}"


async def test_agent_fetch_path_same_summary(jiras: Jiras, tmp_path: Path) -> None:
    summaries = []
    for url in (jiras.real, jiras.ours):
        ctx = load_context(jira_mcp_url=url, report_root=tmp_path / "runs")
        text = await fetch_issue(ctx, "PTT-1")
        summaries.append(offline_summary(ticket_from_jira(parse_issue_text(text))))
    assert summaries[0] == summaries[1]
    assert summaries[0].key == "PTT-1"


async def test_agent_run_with_real_mcp_atlassian(jiras: Jiras, tmp_path: Path) -> None:
    async with simulator_process(devices=3, apps_dir=APPS) as sim:
        ctx = load_context(jira_mcp_url=jiras.real, mobile_mcp_url=sim.url, report_root=tmp_path / "runs")
        outcome = await run_ticket(ctx, "PTT-1")
    assert outcome.verdict.result == "success", outcome.verdict


async def test_jira_agent_and_writeback_through_real_mcp_atlassian(jiras: Jiras, tmp_path: Path) -> None:
    """The LLM path reads PTT-1 with mcp-atlassian's own tool, and the verdict is commented back through it."""
    from qa_agent.world.scripted_llm import ScriptedLLMServer
    from tests.llm_scripts import jira_agent_rules

    draft = {"title": "PTT-1", "test_details": "", "expected_results": [], "package": None, "language": "en"}
    summaries = {}
    async with simulator_process(devices=2, apps_dir=APPS) as sim:
        for name, url in (("real", jiras.real), ("ours", jiras.ours)):
            await sim.reset()
            async with ScriptedLLMServer(jira_agent_rules("PTT-1", draft), api_key="k-test") as llm:
                ctx = load_context(
                    jira_mcp_url=url, mobile_mcp_url=sim.url, report_root=tmp_path / name, llm_base_url=llm.base_url,
                    llm_api_key="k-test", llm_max_retries=0, jira_writeback=True,
                )  # fmt: skip
                outcome = await run_ticket(ctx, "PTT-1")
                assert llm.unused_rules() == []
            assert outcome.verdict.result == "success", outcome.verdict.justification
            assert outcome.state["writeback"].startswith("posted:"), outcome.state["writeback"]
            summaries[name] = outcome.state["summary"]
    assert summaries["real"] == summaries["ours"]
    for folder in (jiras.real_tickets, jiras.our_tickets):
        body = yaml.safe_load((folder / "PTT-1.yaml").read_text())["comments"][-1]["body"]
        assert "SUCCESS" in body and "S1" in body
