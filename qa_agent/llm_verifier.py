"""The LLM judges only what no assertion covers, from the steps' element evidence."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any, Literal

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


MAX_IMAGES = 4


def _screenshots(results: list[StepResult]) -> list[str | dict[str, Any]]:
    """The last screenshots taken, as image parts (LLM_ACCEPTS_IMAGES=true); blocking file reads."""
    parts: list[str | dict[str, Any]] = []
    shots = [r for r in results if r.evidence and r.evidence.screenshot][-MAX_IMAGES:]
    for r in shots:
        path = Path(r.evidence.screenshot)  # type: ignore[union-attr,arg-type]
        try:
            data = base64.b64encode(path.read_bytes()).decode()
        except OSError:
            continue
        mime = "image/png" if path.suffix == ".png" else "image/jpeg"
        parts.append({"type": "text", "text": f"Screenshot after {r.step_id} on driver {r.driver}:"})
        parts.append({"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}})
    return parts


async def judge_uncovered(
    ctx: Context, summary: TicketSummary, plan: Plan, results: list[StepResult], missing: list[int]
) -> tuple[Verdict, list[AIMessage]]:
    expected = "\n".join(f"- {plan.verifications[i]}" for i in missing)
    text = (
        f"Ticket {summary.key}: {summary.title}\nExpected results to judge:\n{expected}\n"
        f"Step evidence:\n{_evidence(results, ctx.max_tool_chars)}"
    )
    content: list[str | dict[str, Any]] = [{"type": "text", "text": text}]
    if ctx.llm_accepts_images:
        content += await asyncio.to_thread(_screenshots, results)
    messages: list[BaseMessage] = [SystemMessage(load("verifier", ctx.prompt_lang)), HumanMessage(content=content)]
    async with chat_model(ctx) as llm:
        judgement, raws = await structured_call(llm, Judgement, messages)
    verdict = Verdict(
        result=judgement.result,
        justification=f"(model judgement) {judgement.justification}",
        evidence=judgement.evidence,
        failure_class=judgement.failure_class if judgement.result != "success" else "none",
    )
    return verdict, raws
