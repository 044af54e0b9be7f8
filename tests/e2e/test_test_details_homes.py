"""Test steps where teams keep them: a "Test Details" field with another id, Xray's "Cucumber Scenario",
a "Test steps" section of an ADF description. Each ticket runs end to end offline and passes, and the
report names the field the steps came from."""

from __future__ import annotations

import html
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from graph.context import load_context
from qa_agent.runner import run_ticket
from qa_agent.world.jira_server.process import jira_server_process
from qa_agent.world.sim.process import simulator_process
from tests.conftest import APPS
from tests.tickets import ptt_where_teams_keep_steps, write_tickets

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]
HOMES = ptt_where_teams_keep_steps()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def servers(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[str, Any]]:
    folder = write_tickets(tmp_path_factory.mktemp("tickets"), *(ticket for ticket, _ in HOMES.values()))
    async with jira_server_process(folder) as jira, simulator_process(devices=2, apps_dir=APPS) as sim:
        yield jira.url, sim


@pytest.mark.parametrize("key", sorted(HOMES))
async def test_steps_found_and_run(servers: tuple[str, Any], key: str, tmp_path: Path) -> None:
    jira_url, sim = servers
    await sim.reset()
    ctx = load_context(jira_mcp_url=jira_url, mobile_mcp_url=sim.url, report_root=tmp_path / "runs")
    outcome = await run_ticket(ctx, key)
    assert outcome.verdict.result == "success", outcome.verdict.justification
    summary = outcome.state["summary"]
    assert summary.test_details_source == HOMES[key][1]
    assert summary.is_gherkin and "Alice is talking" in summary.test_details
    report = json.loads((Path(str(outcome.report_dir)) / "report.json").read_text())
    assert report["summary"]["test_details_source"] == HOMES[key][1]
    assert html.escape(HOMES[key][1]) in (Path(str(outcome.report_dir)) / "report.html").read_text()
