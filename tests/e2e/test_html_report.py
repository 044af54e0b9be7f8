"""The HTML report, opened in headless Chromium, shows the verdict and loads its screenshots."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from graph.context import load_context
from qa_agent.runner import run_ticket
from tests.browser import dump_dom, needs_chromium

pytestmark = pytest.mark.slow


@needs_chromium
async def test_report_shows_verdict_and_screenshots(jira_url: str, tmp_path: Path) -> None:
    ctx = load_context(jira_mcp_url=jira_url, report_root=tmp_path / "runs")
    outcome = await run_ticket(ctx, "PTT-2")
    assert outcome.verdict.result == "failure"
    html = Path(outcome.report_dir or "") / "report.html"
    dom = await dump_dom(html.as_uri(), tmp_path / "profile")
    assert re.search(r'id="verdict"[^>]*>\s*<b>failure</b>', dom)
    assert "Alice is talking" in dom
    loaded = re.search(r'data-images-loaded="(\d+)"', dom)
    total = re.search(r'data-images-total="(\d+)"', dom)
    assert loaded and total, "the report's load script did not run"
    assert int(total.group(1)) >= 2  # the proving assertion and the failure carry screenshots
    assert loaded.group(1) == total.group(1), "some screenshots did not load"
    # Thumbnails open the full-size image: the link points at the same file, which is larger than shown.
    links = re.findall(r'<a class="full" href="([^"]+)"[^>]*><img class="shot" src="([^"]+)"', dom)
    assert links and all(href == src for href, src in links)
    assert all((html.parent / href).is_file() and not Path(href).is_absolute() for href, _ in links)
    full, shown = re.search(r'data-full-width="(\d+)"', dom), re.search(r'data-shown-width="(\d+)"', dom)
    assert full and shown and int(full.group(1)) > int(shown.group(1))
    assert "step group 1" in dom and "sync point" in dom and "segment" not in dom.lower()
    assert '<a href="report.json">' in dom and '<a href="junit.xml">' in dom


@needs_chromium
async def test_report_header_says_what_ran_where(
    jira_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A relative report folder: evidence paths in the run are relative to the working directory.
    monkeypatch.chdir(tmp_path)
    ctx = load_context(jira_mcp_url=jira_url, report_root=Path("runs"))
    outcome = await run_ticket(ctx, "PTT-2")
    assert outcome.verdict.result == "failure"
    html = tmp_path / (outcome.report_dir or "") / "report.html"
    dom = await dump_dom(html.as_uri(), tmp_path / "profile")
    # Per device: the simulator's model and Android version, and the app under test.
    devices = re.search(r'<table class="devices">(.*?)</table>', dom, re.S)
    assert devices, "no devices table in the header"
    for expected in (
        "driver 1",
        "driver 2",
        "emulator-5554",
        "sdk_gphone64_x86_64",
        "Android 15",
        "com.example.ptt.rc",
    ):
        assert expected in devices.group(1)
    # The ticket links to its page in Jira, as the Jira server gives it.
    assert re.search(r'<a class="ticket" href="http://[^"]+/browse/PTT-2">PTT-2</a>', dom)
    assert re.search(r"steps from the model</td><td>none<", dom)
    # The failing evidence's screenshot is a link relative to the report, not to the working directory.
    evidence = re.search(r"<h2>Evidence</h2><ul>(.*?)</ul>", dom, re.S)
    assert evidence
    links = re.findall(r'<a href="([^"]+)">', evidence.group(1))
    assert links and all(link.startswith("evidence/") and (html.parent / link).is_file() for link in links)
    assert "runs/" not in evidence.group(1)
