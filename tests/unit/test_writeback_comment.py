"""The write-back comment: the verdict, the failing step and its message, a table that stays a table in Jira."""

from __future__ import annotations

import json
from pathlib import Path

from graph.state import StepResult, Ticket, Verdict
from qa_agent.world.jira_server.wiki import markdown_to_wiki
from qa_agent.writeback import comment_body, verdict_labels


def _result(step: str, status: str, message: str) -> StepResult:
    return StepResult(step_id=step, driver=2, device="emulator-5556", action="assert_visible", status=status,  # type: ignore[arg-type]
                      message=message, started_at=1.0, ended_at=2.5)  # fmt: skip


def test_failure_comment_names_the_failing_step_and_keeps_the_table_valid() -> None:
    results = [
        _result("S1", "passed", "saw | Talk | {code} [x]"),
        _result("S6", "failed", 'user2 still sees "Alice is talking" after 5 s | elements: [Ready]'),
    ]
    verdict = Verdict(result="failure", justification="the banner | stayed")
    body = comment_body("PTT-2", verdict, results, Path("/runs/PTT-2-x"), "Cucumber Scenario (customfield_10201)")
    assert "FAILURE" in body and "Failing step S6** (driver 2, device emulator-5556)" in body
    assert 'user2 still sees "Alice is talking" after 5 s' in body
    assert "Test steps from: Cucumber Scenario (customfield_10201)" in body
    assert "`/runs/PTT-2-x/report.html`" in body
    rows = [line for line in markdown_to_wiki(body).splitlines() if line.startswith("|")]
    assert rows[0] == "||step||driver||device||action||status||time||detail||"
    assert [len(row.strip("|").split("|")) for row in rows[1:]] == [7, 7]
    assert "{code}" not in body and "[x]" not in body


def test_verdict_label_replaces_the_previous_runs() -> None:
    ticket = Ticket(key="PTT-2", labels=["ptt", "qa-agent:success"])
    assert verdict_labels(ticket, "qa-agent", "failure") == ["ptt", "qa-agent:failure"]


def test_an_upload_the_server_reports_as_failed_is_not_called_attached() -> None:
    from qa_agent.writeback import _attachment_outcome

    refused = {"failed": [{"filename": "s6.jpg", "error": "Path traversal detected"}], "uploaded": [], "success": True}
    answer = json.dumps({"message": "Issue updated successfully", "issue": {"attachment_results": refused}})
    assert _attachment_outcome(answer, "s6.jpg") == "screenshot failed: s6.jpg: Path traversal detected"
    done = {"failed": [], "uploaded": [{"filename": "s6.jpg"}], "success": True}
    assert (
        _attachment_outcome(json.dumps({"issue": {"attachment_results": done}}), "s6.jpg")
        == "screenshot s6.jpg attached"
    )
    assert "does not say" in _attachment_outcome('{"issue": {}}', "s6.jpg")
