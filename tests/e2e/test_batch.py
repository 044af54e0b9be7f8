"""Batch runs: concurrent tickets over a device pool, one junit.xml, no device shared between runs."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from graph.context import load_context
from qa_agent.batch import keys_for_jql, run_batch
from tests.browser import CHROMIUM, dump_dom
from tests.conftest import APPS, TICKETS

pytestmark = pytest.mark.slow
EXPECTED = {"PTT-1": "success", "PTT-2": "failure", "LOGIN-1": "success", "CALL-1": "success", "PTT-3": "blocked"}


async def test_batch_leases_devices_and_writes_one_junit(tmp_path: Path) -> None:
    from qa_agent.world.jira_server.process import jira_server_process
    from qa_agent.world.sim.process import simulator_process

    # The example tickets name their users (user1: Alice): leases give each run the right phones.
    async with simulator_process(devices=4, apps_dir=APPS) as sim, jira_server_process(TICKETS) as jira:
        ctx = load_context(jira_mcp_url=jira.url, mobile_mcp_url=sim.url, report_root=tmp_path)
        batch = await run_batch(ctx, list(EXPECTED))
    verdicts = {o.state["ticket_key"]: o.verdict.result for o in batch.outcomes}
    assert verdicts == EXPECTED, {o.state["ticket_key"]: o.verdict.justification for o in batch.outcomes}
    assert batch.exit_code == 1

    # No device served two runs at once: per device, the runs' windows do not overlap.
    windows: dict[str, list[tuple[float, float, str]]] = {}
    for o in batch.outcomes:
        for device in {r.device for r in o.state.get("results") or [] if r.device}:
            mine = [r for r in o.state["results"] if r.device == device]
            windows.setdefault(device, []).append(
                (min(r.started_at for r in mine), max(r.ended_at for r in mine), o.run_id)
            )
    assert sum(len(w) for w in windows.values()) >= 8  # 2+2+1+3 drivers ran
    for device, spans in windows.items():
        for (_s1, e1, r1), (s2, _e2, r2) in itertools.combinations(sorted(spans), 2):
            assert e1 <= s2, f"{device} served {r1} and {r2} at the same time"

    suite = ET.parse(batch.folder / "junit.xml").getroot()
    cases = suite.findall(".//testcase")
    assert sorted(c.find("properties/property[@name='test_key']").get("value") for c in cases) == sorted(EXPECTED)  # type: ignore[union-attr]
    assert suite.get("failures") == "1" and suite.get("errors") == "1"
    if CHROMIUM is not None:  # .ci/run installs it
        await _index_lists_failures_first_and_filters(batch.folder, tmp_path)


async def _index_lists_failures_first_and_filters(folder: Path, tmp_path: Path) -> None:
    index = folder / "index.html"
    dom = await dump_dom(index.as_uri(), tmp_path / "profile")
    order = [m.group(1) for m in re.finditer(r'<tr class="run (\w+)"', dom)]
    assert order == sorted(order, key=["failure", "blocked", "success"].index) and len(order) == len(EXPECTED)
    links = re.findall(r'<a href="([^"#]+/report\.html)">', dom)
    assert len(links) == len(EXPECTED) and all((folder / link).is_file() for link in links)
    filtered = await dump_dom(index.as_uri() + "#failure", tmp_path / "profile")
    assert 'data-shown="1"' in filtered


async def test_jql_selects_tickets(jira_url: str, tmp_path: Path) -> None:
    ctx = load_context(jira_mcp_url=jira_url, report_root=tmp_path)
    assert await keys_for_jql(ctx, "labels = multi-device ORDER BY key") == ["CALL-1", "PTT-1", "PTT-2"]


async def test_cli_batch_with_jql(jira_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "JIRA_MCP_URL": jira_url, "QA_REPORT_DIR": str(tmp_path), "COLUMNS": "200"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "qa_agent.cli", "batch", "--jql", "project = LOGIN", "--devices", "2",
        env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out = (await asyncio.wait_for(proc.communicate(), 120))[0].decode()
    assert proc.returncode == 0, out
    assert "LOGIN-1" in out and "success" in out and "junit.xml" in out
