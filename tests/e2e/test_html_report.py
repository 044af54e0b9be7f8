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
