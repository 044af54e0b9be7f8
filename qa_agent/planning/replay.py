"""Plans that led to success, stored by a fingerprint of the ticket's content, replayed with no LLM call."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from graph.state import Plan, Ticket
from qa_agent.reports.paths import atomic_write, inside


def fingerprint(ticket: Ticket) -> str:
    """Changes whenever what the test is about changes (not on comments or status)."""
    content = json.dumps(
        [ticket.key, ticket.summary, ticket.description, ticket.test_details], ensure_ascii=False
    ).encode()
    return hashlib.sha256(content).hexdigest()[:32]


def plan_path(root: Path, print_: str) -> Path:
    return inside(root, "plans", f"{print_}.json")


def load_plan(root: Path, print_: str) -> Plan | None:
    """Blocking file IO: call through asyncio.to_thread from async code."""
    path = plan_path(root, print_)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        plan = Plan.model_validate(data["plan"])
    except (OSError, ValueError, KeyError):
        return None
    return plan.model_copy(
        update={
            "source": "replay",
            "notes": f"replayed from {path} (first planned by {plan.source}, run {data.get('run_id')})",
        }
    )


def save_plan(root: Path, print_: str, plan: Plan, ticket_key: str, run_id: str) -> Path:
    path = plan_path(root, print_)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"ticket_key": ticket_key, "run_id": run_id, "saved_at": time.time(), "plan": plan.model_dump()}
    atomic_write(path, json.dumps(payload, ensure_ascii=False, indent=2))
    return path
