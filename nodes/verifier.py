"""verifier: the verdict from the evidence, and the decision to replan."""

from __future__ import annotations

from typing import Literal

from langgraph.runtime import Runtime
from langgraph.types import Command

from graph.context import Context, context_of
from graph.state import Attempt, QAState
from qa_agent.verdicts import decide


async def verifier(state: QAState, runtime: Runtime[Context]) -> Command[Literal["planner", "report"]]:
    ctx = context_of(runtime.context)
    attempt = state.get("attempt", 0)
    plan = state["plan"]
    results = [r for r in state.get("results", []) if r.attempt == attempt]
    verdict = decide(plan, results)
    # Only a planner that can write a different plan gets another try, and never for an app defect.
    can_replan = ctx.llm_enabled and plan.source == "llm"
    if verdict.failure_class == "plan_defect" and can_replan and attempt < ctx.max_replans:
        verdict = verdict.model_copy(update={"replan": True})
        return Command(
            goto="planner",
            update={
                "history": [Attempt(attempt=attempt, plan=plan, results=results, verdict=verdict)],
                "attempt": attempt + 1,
            },
        )
    return Command(
        goto="report",
        update={
            "verdict": verdict,
            "history": [Attempt(attempt=attempt, plan=plan, results=results, verdict=verdict)],
        },
    )
