"""A crash report is device text: the report keeps a bounded part of it, whatever its size and however
slowly the server gives it.

Before: the report read every new crash whole and wrote it as is (a 3 MB crash text became a 3 MB evidence
file), and crash ids were cut to 80 safe characters to name their files, so two ids alike in that part
wrote one file, the second crash's text under the first crash's link. Crashes were read one after the
other, each up to its timeout, inside the report's one-minute budget for all the log evidence: a server
slow to give crash reports made the report drop every step's log lines too.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from graph.context import load_context
from qa_agent.reports.device_logs import MAX_CRASH_CHARS, crash_file_name
from qa_agent.runner import run_ticket
from qa_agent.world.jira_server.process import jira_server_process
from qa_agent.world.sim.process import simulator_process
from tests.conftest import APPS, TICKETS
from tests.tickets import CRASHY_SEND_STEPS, crashy_ticket, write_tickets

HUGE = "<b>boom</b>&\x1b[31m " + "X" * 3_000_000
_APP = {
    "package": "com.example.crashy",
    "name": "Crashy",
    "version": "1",
    "start": "main",
    "screens": {
        "main": {
            "elements": [
                {
                    "key": "send",
                    "type": "android.widget.Button",
                    "text": "Send",
                    "bounds": [60, 500, 960, 140],
                    "on": {"tap": [{"crash": HUGE}]},
                },
            ]
        }
    },
}


def test_crash_ids_alike_in_their_safe_part_name_different_files() -> None:
    names = {crash_file_name("emulator-5554", i) for i in ("a/b", "a_b", "a\\b", "x" * 80 + "1", "x" * 80 + "2")}
    assert len(names) == 5
    assert all("/" not in n and "\\" not in n and len(n) < 140 for n in names)


@pytest.mark.slow
async def test_a_huge_crash_text_is_kept_bounded(tmp_path: Path) -> None:
    import yaml

    apps, tickets = tmp_path / "apps", tmp_path / "tickets"
    shutil.copytree(APPS, apps)
    shutil.copytree(TICKETS, tickets)
    (apps / "crashy.yaml").write_text(yaml.safe_dump(_APP, width=10**9), encoding="utf-8")
    write_tickets(tickets, crashy_ticket("CRASH-2"))
    async with jira_server_process(tickets) as jira, simulator_process(devices=1, apps_dir=apps) as sim:
        ctx = load_context(jira_mcp_url=jira.url, mobile_mcp_url=sim.url, report_root=tmp_path / "runs")
        outcome = await run_ticket(ctx, "CRASH-2")
    assert outcome.verdict.result == "failure", outcome.verdict.justification
    folder = Path(outcome.report_dir or "")
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    [entry] = report["device_logs"]["steps"]
    [crash] = entry["crashes"]
    text = Path(crash["file"]).read_text(encoding="utf-8")
    assert "<b>boom</b>" in text and "\x1b" not in text
    assert len(text) < MAX_CRASH_CHARS + 200 and "...[truncated:" in text


def _crash_cycles(n: int) -> str:
    # a crash's id is its second and process: one crash a second
    cycle = '    And the user opens the app\n    And the user taps "Send"\n    And the user waits 1 second\n'
    return CRASHY_SEND_STEPS.replace('    When the user taps "Send"\n', cycle * n)


@pytest.mark.slow
async def test_slow_crash_reads_do_not_cost_the_steps_log_lines(tmp_path: Path) -> None:
    import yaml

    apps, tickets = tmp_path / "apps", tmp_path / "tickets"
    shutil.copytree(APPS, apps)
    shutil.copytree(TICKETS, tickets)
    app = {**_APP, "screens": {"main": {"elements": [{**_APP["screens"]["main"]["elements"][0], "on": {  # type: ignore[index]
        "tap": [{"log": "Net: sending"}, {"crash": "NullPointerException in SendTask"}]}}]}}}  # fmt: skip
    (apps / "crashy.yaml").write_text(yaml.safe_dump(app), encoding="utf-8")
    write_tickets(tickets, crashy_ticket("CRASH-3", _crash_cycles(7)))
    async with jira_server_process(tickets) as jira, simulator_process(devices=1, apps_dir=apps) as sim:
        ctx = load_context(jira_mcp_url=jira.url, mobile_mcp_url=sim.url, report_root=tmp_path / "runs")
        await sim.configure(crash_read_s=15)  # past the agent's 10 s per read
        outcome = await run_ticket(ctx, "CRASH-3")
    assert outcome.verdict.result == "failure", outcome.verdict.justification
    report = json.loads((Path(outcome.report_dir or "") / "report.json").read_text(encoding="utf-8"))
    [entry] = report["device_logs"]["steps"]
    assert entry["lines"], entry
    assert "more new crashes were not read" in entry.get("note", ""), (entry["crashes"], entry.get("note"))
