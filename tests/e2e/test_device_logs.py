"""Device log lines around a failure: captured beside the lanes, shown folded under the failing step,
never written for a passing run, and nothing changes on a server without the log tool."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from graph.context import load_context
from qa_agent.devices.logcapture import LOG_READ_TOOLS
from qa_agent.runner import RunOutcome, run_ticket
from qa_agent.world.jira_server.process import jira_server_process
from qa_agent.world.sim.process import SimulatorHandle, simulator_process
from tests.browser import dump_dom, needs_chromium
from tests.conftest import APPS, TICKETS
from tests.tickets import crashy_ticket, write_tickets

pytestmark = pytest.mark.slow

# What Talkie RC (examples/apps/talkie_rc.yaml) logs on the listener's phone when the release is lost.
DROPPED = "release from Alice dropped: channel talker stays Alice"


async def _run(key: str, jira_url: str, sim: SimulatorHandle, tmp_path: Path, **overrides: Any) -> RunOutcome:
    ctx = load_context(jira_mcp_url=jira_url, mobile_mcp_url=sim.url, report_root=tmp_path / "runs", **overrides)
    return await run_ticket(ctx, key)


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with simulator_process(devices=4, apps_dir=APPS) as handle:
        yield handle


# Opens the first folded log block after recording that it was folded (its text not rendered, so
# innerText, which follows rendering, is empty): the page tells what a person saw before and after.
_OPEN_LOGS = """<script>
window.addEventListener('load', function () {
  var d = document.querySelector('details.logs'), pre = d && d.querySelector('pre');
  if (!d) { return; }
  document.body.setAttribute('data-folded', String(!d.open && !pre.checkVisibility() && pre.innerText === ''));
  d.open = true;
  document.body.setAttribute('data-opened', String(pre.checkVisibility() && pre.innerText.indexOf('DROPPED') >= 0));
});
</script>""".replace("DROPPED", DROPPED)


@needs_chromium
async def test_failing_step_shows_its_device_log_lines_folded(
    jira_url: str, sim: SimulatorHandle, tmp_path: Path
) -> None:
    outcome = await _run("PTT-2", jira_url, sim, tmp_path)
    assert outcome.verdict.result == "failure", outcome.verdict.justification
    folder = Path(outcome.report_dir or "")
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    failed = [r for r in report["results"] if r["status"] == "failed"]
    assert len(failed) == 1, failed
    steps = report["device_logs"]["steps"]
    mine = [s for s in steps if (s["step_id"], s["driver"]) == (failed[0]["step_id"], failed[0]["driver"])]
    assert len(mine) == 1, steps
    assert any(DROPPED in line and " E " in line for line in mine[0]["lines"]), mine[0]["lines"]
    log_file = Path(mine[0]["file"])
    assert log_file.is_file() and log_file.resolve().is_relative_to(folder.resolve())
    assert DROPPED in log_file.read_text(encoding="utf-8")
    assert f"[device log: {log_file}]" in (folder / "junit.xml").read_text(encoding="utf-8")
    assert "capture_errors" not in report["device_logs"]
    # The verdict is the app's defect, as without logs: the capture only observes.
    assert outcome.verdict.failure_class == "app_defect"

    html = (folder / "report.html").read_text(encoding="utf-8")
    assert '<details class="logs">' in html and '<details class="logs" open' not in html
    probe = folder / "probe.html"
    probe.write_text(html.replace("</body>", _OPEN_LOGS + "</body>"), encoding="utf-8")
    dom = await dump_dom(probe.as_uri(), tmp_path / "profile")
    assert 'data-folded="true"' in dom, "the log block is not folded at first"
    assert 'data-opened="true"' in dom, "the opened log block does not show the line"


async def test_passing_run_captures_but_writes_no_log_evidence(
    jira_url: str, sim: SimulatorHandle, tmp_path: Path
) -> None:
    outcome = await _run("PTT-1", jira_url, sim, tmp_path)
    assert outcome.verdict.result == "success", outcome.verdict.justification
    calls = [a for a in await sim.actions() if a["tool"] == "mobile_get_device_logs"]
    assert {a["device"] for a in calls} == {a.device for a in outcome.state["drivers"]}, "no capture per device"
    folder = Path(outcome.report_dir or "")
    assert "device_logs" not in json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert not list(folder.glob("evidence/*.log")) and not list(folder.glob("evidence/crash-*"))
    assert "<details" not in (folder / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("how", ["server without the tool", "QA_DEVICE_LOGS=off"])
async def test_no_capture_and_the_same_verdict_without_logs(
    jira_url: str, tmp_path: Path, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    hidden = ["--without-tool", "mobile_get_device_logs"] if how == "server without the tool" else []
    if how == "QA_DEVICE_LOGS=off":
        monkeypatch.setenv("QA_DEVICE_LOGS", "off")
        assert load_context().device_logs == "off"
    async with simulator_process(devices=4, apps_dir=APPS, extra_args=hidden) as sim:
        outcome = await _run("PTT-2", jira_url, sim, tmp_path)
        actions = await sim.actions()
    assert outcome.verdict.result == "failure" and outcome.verdict.failure_class == "app_defect"
    assert not [a for a in actions if a["tool"] in LOG_READ_TOOLS]
    folder = Path(outcome.report_dir or "")
    assert "device_logs" not in json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert not list(folder.glob("evidence/*.log"))


# An app that crashes when its button is tapped, and a ticket that expects the button to work. The
# ticket waits first: a capture starts with the lane's first step and sees what comes once it is open.
_CRASHY_APP = """
package: com.example.crashy
name: Crashy
version: "1"
description: Crashes on "Send".
start: main
screens:
  main:
    title: Crashy
    elements:
      - key: send
        type: android.widget.Button
        text: Send
        bounds: [60, 500, 960, 140]
        on:
          tap:
            - log: "Net: sending <payload & more>"
              level: Warn
            - crash: "NullPointerException in SendTask"
      - key: status
        text: Idle
        bounds: [60, 800, 960, 120]
"""


async def test_a_crash_during_the_run_is_read_and_linked_under_the_failure(tmp_path: Path) -> None:
    apps, tickets = tmp_path / "apps", tmp_path / "tickets"
    shutil.copytree(APPS, apps)
    shutil.copytree(TICKETS, tickets)
    (apps / "crashy.yaml").write_text(_CRASHY_APP, encoding="utf-8")
    write_tickets(tickets, crashy_ticket("CRASH-1"))
    async with jira_server_process(tickets) as jira, simulator_process(devices=1, apps_dir=apps) as sim:
        outcome = await _run("CRASH-1", jira.url, sim, tmp_path)
    assert outcome.verdict.result == "failure", outcome.verdict.justification
    folder = Path(outcome.report_dir or "")
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    [entry] = report["device_logs"]["steps"]
    assert any("FATAL EXCEPTION" in line for line in entry["lines"]), entry["lines"]
    [crash] = entry["crashes"]
    crash_file = Path(crash["file"])
    assert crash_file.resolve().is_relative_to(folder.resolve())
    assert "NullPointerException in SendTask" in crash_file.read_text(encoding="utf-8")
    # Device text is escaped in the page: the app's "<payload & more>" never becomes markup.
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "sending &lt;payload &amp; more&gt;" in html and "<payload" not in html
    assert f'href="evidence/{crash_file.name}"' in html


async def test_a_failing_capture_is_noted_and_changes_no_verdict(
    jira_url: str, sim: SimulatorHandle, tmp_path: Path
) -> None:
    await sim.configure(logs_fail=True)
    outcome = await _run("PTT-2", jira_url, sim, tmp_path)
    assert outcome.verdict.result == "failure" and outcome.verdict.failure_class == "app_defect"
    folder = Path(outcome.report_dir or "")
    logs = json.loads((folder / "report.json").read_text(encoding="utf-8"))["device_logs"]
    drivers = {a.device for a in outcome.state["drivers"]}
    assert set(logs["capture_errors"]) == drivers, logs
    assert all("logcat exited" in error for error in logs["capture_errors"].values())
    assert "steps" not in logs and not list(folder.glob("evidence/*.log"))
    assert "Device logs not captured" in (folder / "report.html").read_text(encoding="utf-8")
