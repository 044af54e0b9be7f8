"""The model plans only the Gherkin lines the step library did not match, with the scenario as context.

Its steps go back into the compiler in place of those lines, so segments, barriers and validation are
the same as for a fully compiled ticket; every such step is marked `source="llm"`.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from graph.context import Context
from graph.state import SEMANTIC_ACTIONS, Plan, TicketSummary
from prompts import load
from qa_agent.llm import chat_model, structured_call
from qa_agent.planning.gherkin import GherkinError, Unmatched, compile_gherkin
from qa_agent.planning.llm_planner import PlanRejected
from qa_agent.planning.roles import without_roles


class LineStep(BaseModel):
    driver: int = Field(ge=1, description="1 for user1 / phone 1, ...")
    action: str = Field(description="One of the actions listed in the instructions")
    args: dict[str, Any] = Field(default_factory=dict)


class PlannedLine(BaseModel):
    number: int = Field(description="The number of the line, as listed")
    steps: list[LineStep] = Field(default_factory=list)


class PlannedLines(BaseModel):
    """Steps for the Gherkin lines the step library did not match."""

    lines: list[PlannedLine]


def _question(unmatched: list[Unmatched]) -> str:
    parts = []
    for number, u in enumerate(unmatched, start=1):
        parts.append(f"Line {number} (ticket line {u.line}): {u.text}\nIts scenario:\n{u.scenario}")
    return "Plan these lines:\n\n" + "\n\n".join(parts)


def _resolved(answer: PlannedLines, unmatched: list[Unmatched]) -> tuple[dict[str, list[Any]], list[str]]:
    by_number = {line.number: line for line in answer.lines}
    resolved: dict[str, list[Any]] = {}
    errors: list[str] = []
    for number, u in enumerate(unmatched, start=1):
        planned = by_number.get(number)
        if planned is None or not planned.steps:
            errors.append(f"line {u.line}: no step planned for {u.text!r}")
            continue
        bad = [s.action for s in planned.steps if s.action not in SEMANTIC_ACTIONS or s.action == "tool"]
        if bad:
            errors.append(f"line {u.line}: unknown action(s) {', '.join(bad)}")
            continue
        resolved[u.text] = [(s.driver, s.action, s.args) for s in planned.steps]
    return resolved, errors


async def plan_unmatched_lines(
    ctx: Context, summary: TicketSummary, error: GherkinError
) -> tuple[Plan, list[AIMessage]]:
    """The compiled plan with the model's steps for the unmatched lines. Raises PlanRejected or LLMError."""
    roles = ", ".join(f"user{d} is {r}" for d, r in sorted(error.roles.items())) or "none"
    messages: list[BaseMessage] = [
        SystemMessage(load("gherkin_lines", ctx.prompt_lang, roles=roles)),
        HumanMessage(_question(error.unmatched)),
    ]
    raws: list[AIMessage] = []
    errors: list[str] = []
    async with chat_model(ctx) as llm:
        for _ in range(2):
            answer, more = await structured_call(llm, PlannedLines, messages)
            raws.extend(more)
            resolved, errors = _resolved(answer, error.unmatched)
            if not errors:
                try:
                    plan = compile_gherkin(
                        without_roles(summary.test_details),
                        apps=summary.apps,
                        steps_file=ctx.steps_file,
                        resolved=resolved,
                    )
                except GherkinError as exc:
                    errors = [str(exc)]
                else:
                    return plan, raws
            messages = [*messages, HumanMessage("The answer is invalid:\n- " + "\n- ".join(errors) + "\nFix it.")]
    raise PlanRejected("; ".join(errors))
