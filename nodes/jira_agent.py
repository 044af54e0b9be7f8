"""jira_agent: the LLM reads the ticket with the Jira MCP server's tools, then summarises it.

Bounded: after `jira_agent_max_rounds` rounds of tool calls the run is blocked. The
summary is a structured TicketSummary; the ticket's own fields are parsed from the tool
results too, so the report and package detection do not depend on the model.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from graph.context import Context, context_of
from graph.state import QAState, Ticket, TicketSummary
from nodes.fetch_ticket import run_id_for
from nodes.jira_tools import read_only_tools
from prompts import load
from qa_agent.jira_client import JiraError
from qa_agent.llm import LLMError, chat_model, describe_llm_error, structured_call, usage_of
from qa_agent.planning.gherkin import looks_like_gherkin
from qa_agent.tickets import find_app_names, find_package, parse_issue_text, ticket_from_jira
from qa_agent.verdicts import blocked


class SummaryDraft(BaseModel):
    """What the model fills in; the key and the Gherkin flag are set by us."""

    title: str
    test_details: str = Field(description="The test steps as written in the ticket, verbatim")
    objective: str = ""
    platform: str = "Android"
    inputs: list[str] = Field(default_factory=list, description="Input values the test uses")
    expected_results: list[str] = Field(default_factory=list, description="One checkable outcome each")
    package: str | None = Field(default=None, description="Android package name if the ticket names one")
    language: str = Field(default="en", description="fr or en")


def fetched_ticket(messages: list[BaseMessage], key: str) -> Ticket | None:
    """The issue as a tool returned it, if the agent did read it."""
    for message in messages:
        if not isinstance(message, ToolMessage) or message.status == "error":
            continue
        try:
            payload = parse_issue_text(str(message.content))
        except (json.JSONDecodeError, ValueError):
            continue
        if str(payload.get("key", "")).upper() == key.upper():
            return ticket_from_jira(payload)
    return None


def _not_found(messages: list[BaseMessage], key: str) -> bool:
    return any(
        isinstance(m, ToolMessage) and key.upper() in str(m.content).upper() and "not found" in str(m.content).lower()
        for m in messages
    )


async def jira_agent(state: QAState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = context_of(runtime.context)
    key = (state.get("ticket_key") or ctx.ticket_key or "").strip()
    run_id = state.get("run_id") or run_id_for(key)  # set by fetch_ticket, which runs first
    base: dict[str, Any] = {"run_id": run_id, "ticket_key": key}
    if not key:
        return base | {"verdict": blocked("no ticket key: pass `ticket_key` in the input or set TICKET_KEY")}
    history: list[BaseMessage] = list(state.get("messages") or [])
    new: list[BaseMessage] = []
    if not history:
        new = [
            SystemMessage(load("jira_agent", ctx.prompt_lang, ticket_key=key)),
            HumanMessage(f"Ticket: {key}"),
        ]
        history = list(new)
        base |= {"attempt": 0, "segment": 0}
    rounds = sum(1 for m in history if isinstance(m, AIMessage) and m.tool_calls)
    try:
        tools = list((await read_only_tools(run_id, ctx)).values())
    except JiraError as exc:
        return base | {"messages": new, "verdict": blocked(str(exc))}
    try:
        async with chat_model(ctx) as llm:
            if rounds >= ctx.jira_agent_max_rounds:
                return base | {
                    "messages": new,
                    "verdict": blocked(
                        f"the Jira agent made {rounds} rounds of tool calls without finishing "
                        f"(JIRA_AGENT_MAX_ROUNDS={ctx.jira_agent_max_rounds})"
                    ),
                }
            try:
                answer = await llm.bind_tools(tools).ainvoke(history)
            except Exception as exc:
                raise LLMError(f"the LLM endpoint failed: {describe_llm_error(exc)}") from None
            if answer.tool_calls:
                return base | {"messages": [*new, answer], "usage": {"jira_agent": usage_of([answer])}}
            new.append(answer)
            history.append(answer)
            ticket = state.get("ticket") or fetched_ticket(history, key)
            if ticket is None:
                text = (
                    f"ticket {key} does not exist on the Jira server"
                    if _not_found(history, key)
                    else f"the Jira agent did not read {key} with a Jira tool"
                )
                return base | {"messages": new, "verdict": blocked(text), "usage": {"jira_agent": usage_of(new)}}
            ask = HumanMessage(load("summarize", ctx.prompt_lang, ticket_key=key))
            draft, raws = await structured_call(llm, SummaryDraft, [*history, ask])
    except LLMError as exc:
        offline = _gherkin_offline(state, exc)
        if offline is not None:
            return base | {"messages": new, "summary": offline, "usage": {"jira_agent": usage_of(new)}}
        return base | {"messages": new, "verdict": blocked(str(exc)), "usage": {"jira_agent": usage_of(new)}}
    # The ticket's own test field, verbatim, beats the model's copy of it (which may paraphrase).
    details = ticket.test_details or draft.test_details.strip() or ticket.description
    summary = TicketSummary(
        key=key,
        title=draft.title or ticket.summary,
        test_details=details,
        test_details_source=ticket.test_details_source
        if ticket.test_details
        else ("the model's reading of the ticket" if draft.test_details.strip() else "description"),
        objective=draft.objective,
        platform=draft.platform or "Android",
        inputs=draft.inputs,
        expected_results=draft.expected_results,
        package=draft.package or find_package(ticket.test_details, ticket.description, ticket.summary),
        language=draft.language if draft.language in ("en", "fr") else "en",
        is_gherkin=looks_like_gherkin(details),
        apps=find_app_names(ticket.test_details, ticket.description, ticket.summary),
    )
    return base | {
        "messages": new,
        "ticket": ticket,
        "summary": summary,
        "usage": {"jira_agent": usage_of([*new, *raws])},
    }


def _gherkin_offline(state: QAState, exc: LLMError) -> TicketSummary | None:
    """An LLM that is down must not block a ticket the step library compiles on its own: Gherkin
    goes on with the offline summary (the planner says what the model would have planned)."""
    summary = state.get("summary")
    if summary is None or not summary.is_gherkin:
        return None
    return summary.model_copy(update={"planning_note": f"{exc}; the Gherkin was compiled offline without the LLM"})


def jira_agent_next(state: QAState) -> str:
    if state.get("verdict") is not None:
        return "report"
    messages = state.get("messages") or []
    if messages and isinstance(messages[-1], AIMessage) and messages[-1].tool_calls:
        return "jira_tools"
    return "discover_devices"
