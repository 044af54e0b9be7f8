"""The LLM judges only what no assertion covers, from the steps' element evidence."""

from __future__ import annotations

from typing import Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from graph.context import Context
from graph.state import Plan, StepResult, TicketSummary, Verdict
from prompts import load
from qa_agent.llm import chat_model, structured_call


class Judgement(BaseModel):
    """Verdict on the expected results listed, from the evidence given."""

    result: Literal["success", "failure", "blocked"]
    justification: str
    evidence: list[str] = Field(default_factory=list)
    failure_class: Literal["none", "app_defect", "plan_defect"] = "none"


def _evidence(results: list[StepResult], limit: int) -> str:
    lines = []
    for r in results:
        lines.append(f"{r.step_id} driver {r.driver} {r.action} {r.status}: {r.message[:300]}")
        if r.evidence and r.evidence.elements:
            lines.append(f"  elements: {r.evidence.elements[:1200]}")
    return "\n".join(lines)[:limit]


async def judge_uncovered(
    ctx: Context, summary: TicketSummary, plan: Plan, results: list[StepResult], missing: list[int]
) -> tuple[Verdict, list[AIMessage]]:
    expected = "\n".join(f"- {plan.verifications[i]}" for i in missing)
    messages: list[BaseMessage] = [
        SystemMessage(load("verifier", ctx.prompt_lang)),
        HumanMessage(
            f"Ticket {summary.key}: {summary.title}\nExpected results to judge:\n{expected}\n"
            f"Step evidence:\n{_evidence(results, ctx.max_tool_chars)}"
        ),
    ]
    async with chat_model(ctx) as llm:
        judgement, raws = await structured_call(llm, Judgement, messages)
    verdict = Verdict(
        result=judgement.result,
        justification=f"(model judgement) {judgement.justification}",
        evidence=judgement.evidence,
        failure_class=judgement.failure_class if judgement.result != "success" else "none",
    )
    return verdict, raws
