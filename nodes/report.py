"""report: write report.json, junit.xml and report.html (with the device log lines around a failed
step); store a successful plan for replay; comment the verdict on the ticket (JIRA_WRITEBACK=1);
close the run's connections."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from graph.context import Context, context_of
from graph.state import QAState, StepResult, TicketSummary
from nodes.fetch_ticket import new_run_id
from prompts import load
from qa_agent.devices.pool import existing_pool
from qa_agent.planning.replay import save_plan
from qa_agent.reports.device_logs import failure_logs
from qa_agent.reports.paths import OutsideReportFolder, inside
from qa_agent.reports.writer import write_reports
from qa_agent.resources import close_run
from qa_agent.verdicts import blocked
from qa_agent.writeback import post_verdict


def summary_text(summary: TicketSummary, lang: str) -> str:
    """The summary under the headings the reference's users know (French with PROMPT_LANG=fr)."""
    return load(
        "summary_headings",
        lang,
        title=summary.title,
        test_details=summary.test_details.strip(),
        objective=summary.objective,
        platform=summary.platform,
        inputs=", ".join(summary.inputs) or "-",
        expected="; ".join(summary.expected_results) or "-",
    )


async def report(state: QAState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = context_of(runtime.context)
    run_id = state.get("run_id") or "run"
    verdict = state.get("verdict") or blocked("the run ended without a verdict")
    try:
        folder = inside(ctx.report_root, run_id)
    except OutsideReportFolder as exc:  # a run id from outside (server input): never trusted with a path
        verdict = blocked(f"run id {run_id!r} cannot name a report folder ({exc})")
        folder = inside(ctx.report_root, new_run_id(""))
    all_results: list[StepResult] = [r for a in state.get("history") or [] for r in a.results]
    device_logs = await failure_logs(
        existing_pool(run_id), all_results + list(state.get("results") or []), folder, ctx.secrets()
    )
    await close_run(run_id)
    extra: dict[str, Any] = {"verdict": verdict}
    if device_logs:
        extra["device_logs"] = device_logs
    summary = state.get("summary")
    if summary is not None:
        extra["summary_text"] = summary_text(summary, ctx.prompt_lang)
    plan = state.get("plan")
    if (
        verdict.result == "success"
        and plan is not None
        and plan.source in ("gherkin", "llm")
        and state.get("fingerprint")
    ):
        saved = await asyncio.to_thread(
            save_plan, Path(ctx.report_root), state["fingerprint"], plan, state.get("ticket_key", ""), run_id
        )
        extra["plan_stored"] = str(saved)
    if ctx.jira_writeback:
        extra["writeback"] = await post_verdict(ctx, dict(state), verdict, folder)
    await asyncio.to_thread(write_reports, folder, dict(state) | extra, ctx.secrets())
    return {k: v for k, v in extra.items() if k in ("verdict", "writeback")} | {"report_dir": str(folder)}
