"""The write-back comment: the verdict, the failing step and its message, a table that stays a table in Jira."""

from __future__ import annotations

from pathlib import Path

from graph.state import StepResult, Ticket, Verdict
from qa_agent.jira_server.wiki import markdown_to_wiki
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
