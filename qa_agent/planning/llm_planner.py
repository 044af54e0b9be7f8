"""Plan with the LLM: structured output, validated like any plan, repaired once, then blocked."""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from graph.context import Context
from graph.state import Attempt, Plan, Step, TicketSummary
from prompts import load
from qa_agent.llm import chat_model, structured_call
from qa_agent.planning.validate import launchable_packages, validate_plan


class PlannedStep(BaseModel):
    id: str = Field(description="S1, S2, ...")
    driver: int = Field(ge=1, description="1 for user1 / phone 1, ...")
    action: str = Field(description="One of the actions listed in the instructions")
    args: dict[str, Any] = Field(default_factory=dict)
    expect: str = Field(default="", description="What this step should achieve, in the ticket's words")
    covers: list[int] = Field(default_factory=list, description="Numbers of the expected results it proves")
    barrier: bool = Field(default=False, description="Every driver waits here before going on")
    timeout_s: float | None = None


class PlannedTest(BaseModel):
    """An executable test plan for the ticket."""

    steps: list[PlannedStep]
    notes: str = ""


class PlanRejected(Exception):
    pass


def _ticket_message(summary: TicketSummary, packages: dict[int, str | None]) -> str:
    expected = "\n".join(f"{i}. {e}" for i, e in enumerate(summary.expected_results)) or "(none stated)"
    known = ", ".join(f"driver {d}: {p}" for d, p in packages.items() if p) or "none known"
    return (
        f"Ticket {summary.key}: {summary.title}\nObjective: {summary.objective}\n"
        f"Test details:\n{summary.test_details}\nInputs: {', '.join(summary.inputs) or '-'}\n"
        f"Packages: {known}\nExpected results:\n{expected}"
    )


def _previous_attempt(previous: Attempt, max_chars: int) -> str:
    lines = [f"Attempt {previous.attempt + 1} ended {previous.verdict.result}: {previous.verdict.justification}"]
    for r in previous.results:
        lines.append(f"- {r.step_id} driver {r.driver} {r.action}: {r.status}. {r.message[:600]}")
        if r.status != "passed" and r.evidence and r.evidence.elements:
            lines.append(f"  screen elements then:\n{r.evidence.elements[:1500]}")
    plan = json.dumps([s.model_dump(exclude_defaults=True) for s in previous.plan.steps], ensure_ascii=False)
    text = "\n".join(lines) + f"\nThat plan was: {plan}\nWrite a corrected plan."
    return text[:max_chars]


def to_plan(planned: PlannedTest, summary: TicketSummary) -> Plan:
    steps = [Step(**s.model_dump()) for s in planned.steps]
    return Plan(
        steps=steps,
        verifications=list(summary.expected_results),
        drivers_needed=max((s.driver for s in steps), default=1),
        source="llm",
        notes=planned.notes,
    )


async def plan_with_llm(
    ctx: Context,
    summary: TicketSummary,
    *,
    devices: list[str],
    packages: dict[int, str | None],
    server_tools: dict[str, dict[str, Any]],
    allowed: frozenset[str],
    previous: Attempt | None,
) -> tuple[Plan, list[AIMessage]]:
    """Raise PlanRejected (with every validation error) or LLMError; never return an invalid plan."""
    usable = sorted(t for t in server_tools if t in allowed) or sorted(allowed)
    assignments = ", ".join(f"driver {i} = device {d}" for i, d in enumerate(devices, start=1))
    system = load(
        "planner",
        ctx.prompt_lang,
        tools=", ".join(usable),
        drivers=len(devices),
        assignments=assignments or "none",
    )
    messages: list[BaseMessage] = [SystemMessage(system), HumanMessage(_ticket_message(summary, packages))]
    if previous is not None:
        messages.append(HumanMessage(_previous_attempt(previous, ctx.max_tool_chars)))
    raws: list[AIMessage] = []
    errors: list[str] = []
    async with chat_model(ctx) as llm:
        for _ in range(2):
            planned, more = await structured_call(llm, PlannedTest, messages)
            raws.extend(more)
            plan = to_plan(planned, summary)
            all_packages = {d: packages.get(d) for d in range(1, max(len(devices), plan.drivers_needed) + 1)}
            errors = validate_plan(
                plan,
                server_tools=server_tools,
                allowed=allowed,
                packages=all_packages,
                launchable=launchable_packages(ctx, summary),
            )
            errors += [
                f"step {s.id}: driver {s.driver} is out of range: {len(devices)} device(s) connected"
                for s in plan.steps
                if s.driver > len(devices)
            ]
            if not plan.verifications:
                errors.append("the ticket states no expected result to prove")
            elif not errors:
                return plan, raws
            messages = [
                *messages,
                HumanMessage("The plan is invalid:\n- " + "\n- ".join(errors) + "\nFix it."),
            ]
    raise PlanRejected("; ".join(errors))
