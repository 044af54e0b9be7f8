"""report: write report.json, junit.xml and report.html; close the run's device sessions."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from graph.context import Context, context_of
from graph.state import QAState
from qa_agent.reports.writer import write_reports
from qa_agent.resources import close_run
from qa_agent.verdicts import blocked


async def report(state: QAState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = context_of(runtime.context)
    run_id = state.get("run_id") or "run"
    await close_run(run_id)
    verdict = state.get("verdict") or blocked("the run ended without a verdict")
    folder = Path(ctx.report_root) / run_id
    await asyncio.to_thread(write_reports, folder, dict(state) | {"verdict": verdict}, ctx.secrets())
    return {"verdict": verdict, "report_dir": str(folder)}
