"""restart_attempt: a resumed run whose devices cannot be trusted starts its attempt again.

Lanes report `interrupted` when the agent stopped mid-attempt and the world is not provably
the one the finished steps acted on, or a step was running (qa_agent/devices/world.py). What
the dead process saw is kept in `history`; the same plan runs again from its first segment
with cold starts, on the world as it is now, so state lost to a crash never becomes an app defect.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Overwrite

from graph.context import Context, context_of
from graph.state import Attempt, QAState
from qa_agent.devices.discovery import roles_moved
from qa_agent.devices.pool import pool_for
from qa_agent.planning.roles import RoleError, parse_roles
from qa_agent.planning.validate import mark_cold_starts
from qa_agent.verdicts import blocked


async def restart_attempt(state: QAState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = context_of(runtime.context)
    attempt = state.get("attempt", 0)
    results = [r for r in state.get("results", []) if r.attempt == attempt]
    reasons = sorted({r.message for r in results if r.error_class == "interrupted"})
    note = f"attempt {attempt + 2}: restarted on resume, {'; '.join(reasons)}"
    world = state.get("world")
    devices = world.devices if world is not None else state.get("devices", [])
    interrupted = Attempt(attempt=attempt, plan=state["plan"], results=results, verdict=blocked(note, "interrupted"))
    world_now = await pool_for(state["run_id"], ctx).world(devices)
    update: dict[str, Any] = {
        "history": [interrupted],
        "attempt": attempt + 1,
        "segment": 0,
        "results": Overwrite([]),
        "plan": mark_cold_starts(state["plan"].model_copy(deep=True)),
        "world": world_now,
    }
    # The devices were picked for the ticket's users on the old world: on this one they may be others'.
    try:
        roles = parse_roles(state["summary"].test_details)
    except RoleError:
        roles = {}  # refused at planning already
    if moved := roles_moved(state.get("drivers", []), roles, world_now.accounts):
        why = f"{note}; the replaced world signs other users in: {'; '.join(moved)}: run the ticket again"
        update["verdict"] = blocked(why, "cannot_run")
    return update
