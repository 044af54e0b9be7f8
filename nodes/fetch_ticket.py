"""fetch_ticket: read the ticket through the Jira MCP server, summarise it without an LLM.

It always runs first: one deterministic call settles whether the ticket exists, and its
content fingerprint finds a stored plan to replay (then no LLM is needed at all).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from pathlib import Path
from typing import Any

from langgraph.config import get_config
from langgraph.runtime import Runtime

from graph.context import Context, context_of
from graph.state import SAFE_RUN_ID, QAState
from qa_agent.jira_client import JiraError, fetch_issue_and_field_names, jira_location
from qa_agent.keys import InvalidKey, is_key, parse_key
from qa_agent.planning.replay import fingerprint, load_plan
from qa_agent.tickets import offline_summary, parse_issue_text, ticket_from_jira
from qa_agent.verdicts import blocked


def new_run_id(key: str) -> str:
    """A fresh run id; it names the run's folder, so only a valid key may be part of it."""
    return f"{key if is_key(key) else 'run'}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def run_id_for(key: str) -> str:
    """The agent makes run ids: the thread id (the CLI's run id; a UUID under the server) when it
    is a safe folder name, else a fresh one. Nothing in the input chooses it."""
    try:
        thread = get_config().get("configurable", {}).get("thread_id")
    except RuntimeError:
        thread = None
    return str(thread) if thread and SAFE_RUN_ID.fullmatch(str(thread)) else new_run_id(key)


async def fetch_ticket(state: QAState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = context_of(runtime.context)
    key = (state.get("ticket_key") or ctx.ticket_key or "").strip()
    run_id = run_id_for(key)
    base: dict[str, Any] = {"run_id": run_id, "ticket_key": key, "attempt": 0, "segment": 0}
    if not key:
        return base | {"verdict": blocked("no ticket key: pass `ticket_key` in the input or set TICKET_KEY")}
    try:
        parse_key(key)
    except InvalidKey as exc:
        return base | {"verdict": blocked(str(exc))}
    try:
        text, field_names = await fetch_issue_and_field_names(ctx, key)
        payload = parse_issue_text(text)
    except JiraError as exc:
        text = str(exc)
        if "not found" in text.lower():
            text = f"ticket {key} does not exist on {jira_location(ctx)} ({text})"
        return base | {"verdict": blocked(text)}
    except (json.JSONDecodeError, ValueError) as exc:
        return base | {"verdict": blocked(f"the Jira server's answer for {key} is not an issue: {exc}")}
    ticket = ticket_from_jira(payload, test_field=ctx.jira_test_details_field, field_names=field_names)
    print_ = fingerprint(ticket)
    replay = await asyncio.to_thread(load_plan, Path(ctx.report_root), print_) if ctx.plan_replay else None
    return base | {
        "ticket": ticket,
        "summary": offline_summary(ticket),
        "fingerprint": print_,
        "replay_plan": replay,
    }


def after_fetch(state: QAState, runtime: Runtime[Context]) -> str:
    """A verdict already (blocked) -> report; a plan to replay or no LLM -> devices; else the jira_agent."""
    if state.get("verdict") is not None:
        return "report"
    if state.get("replay_plan") is not None or not context_of(runtime.context).llm_enabled:
        return "discover_devices"
    return "jira_agent"
