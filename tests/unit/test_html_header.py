"""report.html's header from a report's data: the model's steps are named, Jira's links are only web addresses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qa_agent.reports.html_report import render_html


def _data(browse_url: Any) -> dict[str, Any]:
    return {
        "ticket_key": "PTT-9",
        "run_id": "PTT-9-run",
        "ticket": {"key": "PTT-9", "raw": {"browse_url": browse_url}},
        "plan": {
            "source": "gherkin",
            "steps": [
                {"id": "S1", "driver": 1, "action": "launch_app", "source": ""},
                {"id": "S2", "driver": 1, "action": "tap_text", "source": "llm"},
                {"id": "S3", "driver": 2, "action": "tap_text", "source": "llm"},
            ],
        },
        "drivers": [
            {"driver": 1, "device": "Pixel_7_API_34", "package": "com.example.ptt"},
            {"driver": 2, "device": "R58M123", "package": None},
        ],
        "device_info": {
            "Pixel_7_API_34": {
                "id": "Pixel_7_API_34",
                "name": "Pixel 7 API 34",
                "model": "sdk_gphone64_x86_64",
                "platform": "android",
                "os_version": "14",
            },
        },
        "verdict": {"result": "blocked", "justification": "x", "evidence": []},
    }


def test_header_names_the_models_steps_and_each_device(tmp_path: Path) -> None:
    html = render_html(_data("https://jira.example.com/browse/PTT-9"), tmp_path)
    assert "<td>steps from the model</td><td>S2, S3</td>" in html
    assert '<a class="ticket" href="https://jira.example.com/browse/PTT-9">PTT-9</a>' in html
    assert "<td>Pixel 7 API 34 · sdk_gphone64_x86_64</td><td>Android 14</td><td>com.example.ptt</td>" in html
    # A device the server did not describe, and a driver with no package, say so.
    assert "<td>R58M123</td><td>not reported</td><td>not reported</td><td>none named</td>" in html


def test_a_browse_url_that_is_not_a_web_address_is_not_linked(tmp_path: Path) -> None:
    for url in ("javascript:alert(1)", 'https://x.example/"><script>', 42):
        html = render_html(_data(url), tmp_path)
        assert 'class="ticket"' not in html and '"><script>' not in html
        assert "<td>ticket</td><td>PTT-9</td>" in html
