"""jira_tools: run the Jira tool calls the agent asked for, read-only tools only; others answer with an error."""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import BaseTool
from langchain_mcp_adapters.tools import load_mcp_tools
from langgraph.runtime import Runtime

from graph.context import Context, context_of
from graph.state import QAState, Ticket
from qa_agent.devices.owned import describe
from qa_agent.devices.results import strip_control, truncate
from qa_agent.jira_client import JiraError, run_jira_session
from qa_agent.tickets import parse_issue_text, ticket_from_jira
from qa_agent.verdicts import blocked

MAX_RAW_CHARS = 200_000
# What the jira_agent may call (mcp-atlassian 0.23.1 names): reading only. Ticket text can carry
# instructions the model follows; write-back is the report node's, behind JIRA_WRITEBACK.
READ_ONLY_JIRA_TOOLS: frozenset[str] = frozenset(
    {"jira_get_issue", "jira_search", "jira_search_fields", "jira_get_field_options"}
)


async def read_only_tools(run_id: str, ctx: Context) -> dict[str, BaseTool]:
    """The run's Jira tools the agent is offered and may run (JiraError if the server is unreachable)."""
    tools = await load_mcp_tools(await run_jira_session(run_id, ctx))
    return {t.name: t for t in tools if t.name in READ_ONLY_JIRA_TOOLS}


def _as_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for block in content if isinstance(content, list) else [content]:
        if isinstance(block, dict):
            parts.append(str(block.get("text", "")) if block.get("type") == "text" else f"[{block.get('type')}]")
        else:
            parts.append(str(block))
    return "\n".join(parts)


async def jira_tools(state: QAState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = context_of(runtime.context)
    last = state["messages"][-1]
    assert isinstance(last, AIMessage)
    try:
        tools = await read_only_tools(state["run_id"], ctx)
    except JiraError as exc:
        return {"verdict": blocked(str(exc))}
    replies: list[ToolMessage] = []
    update: dict[str, Any] = {}
    for call in last.tool_calls:
        call_id = call.get("id") or call["name"]
        tool = tools.get(call["name"])
        if tool is None:
            replies.append(
                ToolMessage(
                    f"unknown tool {call['name']!r}: the Jira agent may use only these read-only tools: "
                    f"{', '.join(sorted(tools)) or 'none'}",
                    tool_call_id=call_id,
                    status="error",
                )
            )
            continue
        try:
            reply = await tool.ainvoke({**call, "type": "tool_call"})
            text = _as_text(reply.content if isinstance(reply, ToolMessage) else reply)
            status = reply.status if isinstance(reply, ToolMessage) else "success"
        except Exception as exc:  # a broken tool must not end the run: the model sees the error
            text, status = f"tool {call['name']} failed: {describe(exc)}", "error"
        if status != "error" and "ticket" not in update:
            ticket = issue_in(text, state.get("ticket_key", ""))
            if ticket is not None:
                update["ticket"] = ticket
        replies.append(
            ToolMessage(
                truncate(strip_control(text), ctx.max_tool_chars, ctx.max_tool_lines),
                tool_call_id=call_id,
                status=status,
            )
        )
    return update | {"messages": replies}


def issue_in(text: str, key: str) -> Ticket | None:
    """Parse the ticket from the full tool text, before truncation can cut its JSON."""
    try:
        payload = parse_issue_text(text)
    except (json.JSONDecodeError, ValueError):
        return None
    if not key or str(payload.get("key", "")).upper() != key.upper():
        return None
    ticket = ticket_from_jira(payload)
    if len(text) > MAX_RAW_CHARS:  # the report keeps the fields, not a huge payload
        ticket.raw = {"key": ticket.key, "omitted": f"{len(text)} characters"}
    return ticket
