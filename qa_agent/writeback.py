"""The verdict as a Jira comment (Markdown, as mcp-atlassian's jira_add_comment expects)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graph.context import Context
from graph.state import StepResult, Verdict
from qa_agent.jira_client import JiraError, call_jira, jira_session

_ICON = {"success": "✅", "failure": "❌", "blocked": "⚠️"}


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())[:160]


def comment_body(key: str, verdict: Verdict, results: list[StepResult], report_dir: Path) -> str:
    headline = f"**mobile-qa-agent: {_ICON.get(verdict.result, '')} {verdict.result.upper()}**"
    lines = [
        f"{headline} — {_cell(verdict.justification)}",
        "",
        "| step | driver | device | action | status | time | detail |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.step_id} | {r.driver} | {r.device or '-'} | {r.action} | {r.status} | {r.duration_s:.1f}s "
            f"| {_cell(r.message)} |"
        )
    lines += ["", f"Report: `{report_dir / 'report.html'}` (run folder `{report_dir}`)"]
    return "\n".join(lines)


async def post_verdict(ctx: Context, state: dict[str, Any], verdict: Verdict, report_dir: Path) -> str:
    """Post the comment; return what happened. Never raises: a write-back must not lose the verdict."""
    key = str(state.get("ticket_key") or "")
    if not key or state.get("ticket") is None:
        return "skipped: the ticket was not read"
    body = comment_body(key, verdict, list(state.get("results") or []), report_dir)
    try:
        async with jira_session(ctx) as session:
            text = await call_jira(session, "jira_add_comment", {"issue_key": key, "body": body})
    except JiraError as exc:
        return f"failed: {exc}"
    return f"posted: {text.strip()[:300]}"
