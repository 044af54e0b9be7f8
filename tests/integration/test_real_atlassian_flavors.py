"""The real mcp-atlassian 0.23.1 over the REST stand-in as Jira Server/DC and as Jira Cloud (Cloud mode: e-mail
+ API token, v3 search and ADF comments): the agent passes PTT-1 and fails PTT-2 through each, finds test steps
where teams keep them, and the write-back comment is stored as valid markup (Cloud: ADF that Jira accepts).

One stand-in, one mcp-atlassian and one simulator per flavor serve every check of that flavor.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml

from graph.context import load_context
from qa_agent.jira_client import call_jira, fetch_issue_and_field_names, jira_session, parse_field_list
from qa_agent.runner import run_ticket
from qa_agent.tickets import parse_issue_text, ticket_from_jira
from qa_agent.world.jira_rest.process import jira_rest_process
from qa_agent.world.realservers.atlassian import atlassian_process
from qa_agent.world.realservers.testing import installed_or_skip_reason
from qa_agent.world.sim.process import simulator_process
from tests.conftest import APPS, TICKETS
from tests.tickets import ptt_where_teams_keep_steps, write_tickets

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]
HOMES = ptt_where_teams_keep_steps()


@dataclass
class Setup:
    flavor: str
    mcp_url: str
    sim: Any
    tickets: Path
    runs: Path


@pytest_asyncio.fixture(loop_scope="module", scope="module", params=["server", "cloud"])
async def setup(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Setup]:
    installed, reason = installed_or_skip_reason()
    if installed is None:
        pytest.skip(reason or "real servers unavailable")
    flavor = request.param
    folder = tmp_path_factory.mktemp(f"{flavor}-tickets")
    shutil.copytree(TICKETS, folder, dirs_exist_ok=True)
    write_tickets(folder, *(ticket for ticket, _ in HOMES.values()))
    async with (
        jira_rest_process(folder, flavor=flavor) as rest,
        atlassian_process(rest.url, cloud=flavor == "cloud") as atl,
        simulator_process(devices=2, apps_dir=APPS) as sim,
    ):
        # Runs go under mcp-atlassian's working directory: it uploads attachments from there only.
        yield Setup(flavor, atl.url, sim, folder, Path(atl.workdir) / "runs")


def _last_comment(folder: Path, key: str) -> str:
    return str(yaml.safe_load((folder / f"{key}.yaml").read_text())["comments"][-1]["body"])


def _assert_valid_wiki_table(body: str) -> list[list[str]]:
    """Jira wiki markup: one ||header|| row, then |cell| rows with as many cells; nothing left as Markdown."""
    lines = [line for line in body.splitlines() if line.startswith("|")]
    assert lines and lines[0].startswith("||") and lines[0].endswith("||"), body
    width = len(lines[0].strip("|").split("||"))
    rows = []
    for line in lines[1:]:
        assert not line.startswith("||") and line.endswith("|") and "---" not in line, body
        cells = line[1:-1].split("|")
        assert len(cells) == width, f"{line!r} has {len(cells)} cells, the header {width}"
        rows.append(cells)
    assert "**" not in body and "`" not in body, body  # Markdown converted, not stored verbatim
    return rows


@pytest.mark.parametrize(("key", "expected"), [("PTT-1", "success"), ("PTT-2", "failure")])
async def test_verdict_and_writeback(setup: Setup, key: str, expected: str) -> None:
    await setup.sim.reset()
    ctx = load_context(
        jira_mcp_url=setup.mcp_url, mobile_mcp_url=setup.sim.url, report_root=setup.runs, jira_writeback=True,
        jira_writeback_label="qa-agent", jira_writeback_attach=True,
    )  # fmt: skip
    outcome = await run_ticket(ctx, key)
    assert outcome.verdict.result == expected, outcome.verdict.justification
    writeback = outcome.state["writeback"]
    assert writeback.startswith("posted:") and f"label qa-agent:{expected} set" in writeback, writeback
    stored = yaml.safe_load((setup.tickets / f"{key}.yaml").read_text())
    assert f"qa-agent:{expected}" in stored["labels"]
    if expected == "failure":
        shot = re.search(r"screenshot (\S+) attached", writeback)
        assert shot, writeback
        assert shot.group(1) in [a["filename"] for a in stored["attachments"]]
    body = _last_comment(setup.tickets, key)
    rows = _assert_valid_wiki_table(body)
    assert len(rows) == len(outcome.state["results"])
    assert expected.upper() in body and "report.html" in body
    if expected == "failure":
        failed = next(r for r in outcome.state["results"] if r.status != "passed")
        assert f"Failing step {failed.step_id}" in body
        assert all(word in body for word in failed.message.split()[:6] if word.isalnum()), (failed.message, body)


async def test_test_details_found_through_the_real_server(setup: Setup) -> None:
    ctx = load_context(jira_mcp_url=setup.mcp_url, report_root=setup.runs)
    for key, (_, source) in HOMES.items():
        text, names = await fetch_issue_and_field_names(ctx, key)
        ticket = ticket_from_jira(parse_issue_text(text), field_names=names)
        assert ticket.test_details_source == source, (setup.flavor, key, ticket.test_details_source)
        assert 'user2 sees "Alice is talking"' in ticket.test_details
    async with jira_session(ctx) as session:  # the fields list, for servers that do not name custom fields
        listing = await call_jira(session, "jira_search_fields", {"keyword": "", "limit": 1000})
    names = parse_field_list(listing)
    assert names["customfield_10201"] == "Cucumber Scenario" and names["customfield_10057"] == "Test Details"
    configured = load_context(
        jira_mcp_url=setup.mcp_url, report_root=setup.runs, jira_test_details_field="Test Details"
    )
    text, names = await fetch_issue_and_field_names(configured, "PTT-11")
    assert ticket_from_jira(parse_issue_text(text), test_field="test details").test_details_source.startswith(
        "Test Details"
    )
