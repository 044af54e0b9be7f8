"""Device log lines around a failure: captured beside the lanes, shown folded under the failing step,
never written for a passing run, and nothing changes on a server without the log tool."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from graph.context import load_context
from qa_agent.runner import RunOutcome, run_ticket
from qa_agent.world.sim.process import SimulatorHandle, simulator_process
from tests.browser import dump_dom, needs_chromium
from tests.conftest import APPS

pytestmark = pytest.mark.slow

# What Talkie RC (examples/apps/talkie_rc.yaml) logs on the listener's phone when the release is lost.
DROPPED = "release from Alice dropped: channel talker stays Alice"
LOG_TOOLS = {"mobile_get_device_logs", "mobile_list_crashes", "mobile_get_crash"}


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
    assert not [a for a in actions if a["tool"] in LOG_TOOLS]
    folder = Path(outcome.report_dir or "")
    assert "device_logs" not in json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert not list(folder.glob("evidence/*.log"))
