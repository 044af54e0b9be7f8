"""The verdict on the Jira ticket: a comment (Markdown, as mcp-atlassian's jira_add_comment expects), and
when configured a verdict label and the failing step's screenshot. Never raises: a failed write-back is
reported, it never changes the verdict."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from mcp import ClientSession

from graph.context import Context
from graph.state import StepResult, Ticket, Verdict
from qa_agent.devices.owned import describe
from qa_agent.jira_client import JiraError, call_jira, jira_session

LIST_TOOLS_TIMEOUT_S = 30.0
_ICON = {"success": "✅", "failure": "❌", "blocked": "⚠️"}


# mcp-atlassian splits table rows on every "|" (an escaped one too), and Jira wiki reads "{x}" as a
# macro and "[x]" as a link: in step texts they become look-alikes that stay plain text.
_PLAIN = str.maketrans("|{}[]`", "¦()()'")


def _cell(text: str, limit: int = 160) -> str:
    return " ".join(text.translate(_PLAIN).split())[:limit] or "-"


def _failing(results: list[StepResult]) -> StepResult | None:
    return next((r for r in results if r.status != "passed"), None)


def comment_body(key: str, verdict: Verdict, results: list[StepResult], report_dir: Path, steps_from: str = "") -> str:
    headline = f"**mobile-qa-agent: {_ICON.get(verdict.result, '')} {verdict.result.upper()}**"
    lines = [f"{headline} — {_cell(verdict.justification, 400)}", ""]
    failing = _failing(results) if verdict.result != "success" else None
    if failing is not None:
        where = f"driver {failing.driver}" + (f", device {_cell(failing.device)}" if failing.device else "")
        lines += [f"**Failing step {_cell(failing.step_id)}** ({where}): {_cell(failing.message, 600)}", ""]
    if results:
        lines += ["| step | driver | device | action | status | time | detail |", "|---|---|---|---|---|---|---|"]
        for r in results:
            lines.append(
                f"| {_cell(r.step_id)} | {r.driver} | {_cell(r.device or '-')} | {_cell(r.action)} | {r.status} "
                f"| {r.duration_s:.1f}s | {_cell(r.message)} |"
            )
        lines.append("")
    if steps_from:
        lines.append(f"Test steps from: {_cell(steps_from)}")
    lines.append(f"Report: `{report_dir / 'report.html'}` (run folder `{report_dir}`)")
    return "\n".join(lines)


def verdict_labels(ticket: Ticket, prefix: str, result: str) -> list[str]:
    """The ticket's labels with this run's `<prefix>:<verdict>` in place of an earlier run's."""
    kept = [label for label in ticket.labels if not label.startswith(f"{prefix}:")]
    return [*kept, f"{prefix}:{result}"]


def _attachment_outcome(answer: str, filename: str) -> str:
    """mcp-atlassian answers success even when no file was uploaded: its `attachment_results` tells."""
    try:
        results = json.loads(answer)["issue"]["attachment_results"]
        uploaded = [u.get("filename") for u in results.get("uploaded") or []]
        failed = [f"{f.get('filename')}: {f.get('error')}" for f in results.get("failed") or []]
    except (ValueError, KeyError, TypeError, AttributeError):
        return f"screenshot {filename}: the server's answer does not say whether it was attached"
    if filename in uploaded:
        return f"screenshot {filename} attached"
    return "screenshot failed: " + ("; ".join(failed) or "not uploaded")


async def _tool_schemas(session: ClientSession) -> dict[str, dict[str, Any]]:
    listing = await asyncio.wait_for(session.list_tools(), LIST_TOOLS_TIMEOUT_S)
    return {tool.name: tool.inputSchema for tool in listing.tools}


async def post_verdict(ctx: Context, state: dict[str, Any], verdict: Verdict, report_dir: Path) -> str:
    """Post the comment (then the label and screenshot when configured); return what happened."""
    key = str(state.get("ticket_key") or "")
    ticket = state.get("ticket")
    if not key or ticket is None:
        return "skipped: the ticket was not read"
    results = list(state.get("results") or [])
    summary = state.get("summary")
    body = comment_body(key, verdict, results, report_dir, summary.test_details_source if summary else "")
    outcome: list[str] = []
    try:
        async with jira_session(ctx) as session:
            text = await call_jira(session, "jira_add_comment", {"issue_key": key, "body": body})
            outcome.append(f"posted: {text.strip()[:300]}")
            extras = await _extras(ctx, session, key, ticket, verdict, results, report_dir)
            outcome += extras
    except JiraError as exc:
        outcome.append(f"failed: {exc}")
    return "; ".join(outcome)


async def _extras(
    ctx: Context,
    session: ClientSession,
    key: str,
    ticket: Ticket,
    verdict: Verdict,
    results: list[StepResult],
    report_dir: Path,
) -> list[str]:
    """The label (JIRA_WRITEBACK_LABEL) and the failing screenshot (JIRA_WRITEBACK_ATTACH), through the
    server's `jira_update_issue`; each reported on its own, a failure of one never hides the comment."""
    wants_label = bool(ctx.jira_writeback_label)
    failing = _failing(results) if verdict.result == "failure" else None
    shot = failing.evidence.screenshot if failing is not None and failing.evidence else None
    wants_shot = ctx.jira_writeback_attach and shot is not None
    if not (wants_label or wants_shot):
        return []
    try:
        tools = await _tool_schemas(session)
    except Exception as exc:  # a write-back problem is reported, never raised
        return [f"label/attachment skipped: the Jira server did not list its tools ({describe(exc)})"]
    update = tools.get("jira_update_issue")
    out: list[str] = []
    if wants_label:
        if update is None:
            out.append("label skipped: the Jira server has no jira_update_issue tool")
        else:
            labels = verdict_labels(ticket, str(ctx.jira_writeback_label), verdict.result)
            try:
                await call_jira(
                    session, "jira_update_issue", {"issue_key": key, "fields": json.dumps({"labels": labels})}
                )
                out.append(f"label {labels[-1]} set")
            except JiraError as exc:
                out.append(f"label failed: {exc}")
    if wants_shot and shot is not None:
        path = Path(shot) if Path(shot).is_absolute() else report_dir / shot
        if update is None or "attachments" not in (update.get("properties") or {}):
            out.append("screenshot not attached: the Jira server offers no attachment upload")
        else:
            args = {"issue_key": key, "fields": "{}", "attachments": json.dumps([str(path)])}
            try:
                answer = await call_jira(session, "jira_update_issue", args)
            except JiraError as exc:
                out.append(f"screenshot failed: {exc}")
            else:
                out.append(_attachment_outcome(answer, path.name))
    return out
