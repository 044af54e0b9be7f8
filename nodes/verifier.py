"""verifier: the verdict from the evidence, and the decision to replan.

Assertions decide what they cover; the model, when configured, judges only expected
results that no assertion proves. Only plan defects are replanned (never app defects),
at most MAX_REPLANS times; a transient device problem (an inconclusive assertion) runs the
same plan once more; every attempt is kept in `history`.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import Command

from graph.context import Context, context_of
from graph.state import Attempt, QAState
from qa_agent.llm import LLMError, usage_of
from qa_agent.llm_verifier import judge_uncovered
from qa_agent.verdicts import blocked, decide, uncovered


async def verifier(state: QAState, runtime: Runtime[Context]) -> Command[Literal["planner", "report"]]:
    ctx = context_of(runtime.context)
    attempt = state.get("attempt", 0)
    plan = state["plan"]
    results = [r for r in state.get("results", []) if r.attempt == attempt]
    verdict = decide(plan, results)
    update: dict[str, Any] = {}
    missing = uncovered(plan, results)
    all_passed = bool(results) and all(r.status == "passed" for r in results)
    if all_passed and missing and plan.verifications and ctx.llm_enabled:
        try:
            verdict, raws = await judge_uncovered(ctx, state["summary"], plan, results, missing)
            update["usage"] = {"verifier": usage_of(raws)}
        except LLMError as exc:
            verdict = blocked(f"verification failed: {exc}")
    can_replan = ctx.llm_enabled or plan.source == "replay"  # a stale replay is planned afresh
    # restarts on resume and the one rerun of an inconclusive attempt are not replans
    replans = sum(h.verdict.replan and h.verdict.failure_class == "plan_defect" for h in state.get("history") or [])
    retried = any(a.verdict.failure_class == "transient" for a in state.get("history") or [])
    if (verdict.failure_class == "plan_defect" and can_replan and replans < ctx.max_replans) or (
        verdict.failure_class == "transient" and not retried
    ):
        verdict = verdict.model_copy(update={"replan": True})
        update |= {
            "history": [Attempt(attempt=attempt, plan=plan, results=results, verdict=verdict)],
            "attempt": attempt + 1,
        }
        return Command(goto="planner", update=update)
    update |= {
        "verdict": verdict,
        "history": [Attempt(attempt=attempt, plan=plan, results=results, verdict=verdict)],
    }
    return Command(goto="report", update=update)
