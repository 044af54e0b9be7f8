"""The identity of the device world a run acts on, and the check a resumed lane makes against it.

A run records its world at discovery (`WorldIdentity`). When the agent process dies mid-run,
the next process cannot take the devices on trust: the embedded simulator died with the agent
(fresh phones on the launcher), and a step that was running may have left a device half-way
(a finger still down). A lane that runs in a process other than the one that sent it, or on a
world recorded by another process after its attempt already acted, reports `interrupted`
instead of acting, and the attempt restarts from its first segment (nodes/restart_attempt.py).

Why the check lives in the lane: a resumed LangGraph run continues with the pending tasks,
which are lanes whenever devices are involved (barrier, verifier and report do not touch
devices), so the lane is the one place every resume path (CLI, SDK, server) goes through.
A checkpoint is saved before a superstep starts and all its lanes start together, so a lane
sent by a dead process was running (or about to, a window too small to matter) when it died.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from graph.context import Context
from graph.state import WorldIdentity

# Identifies this agent process in lane inputs and recorded worlds (see the module docstring).
PROCESS_TOKEN = secrets.token_hex(8)
PROBE_TIMEOUT_S = 10.0


async def simulator_world(base_url: str | None) -> dict[str, Any] | None:
    """`GET /sim/world` of a simulator, or None when the server is not one (404, not JSON, down)."""
    if not base_url:
        return None
    try:
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_S) as client:
            resp = await client.get(base_url.rstrip("/") + "/sim/world")
        payload = resp.json() if resp.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("world_id"), str):
        return None
    return payload


def identity(devices: list[str], sim: dict[str, Any] | None, configured: dict[str, str]) -> WorldIdentity:
    """The world as seen now: the simulator's id and accounts, else DEVICE_ACCOUNTS for the accounts."""
    accounts: dict[str, str] = {}
    if sim is not None:
        for item in sim.get("devices") or []:
            if isinstance(item, dict) and isinstance(item.get("id"), str) and isinstance(item.get("account"), str):
                accounts[item["id"]] = item["account"]
    accounts |= {d: a for d, a in configured.items() if d in devices}
    return WorldIdentity(
        world_id=sim["world_id"] if sim is not None else None,
        devices=list(devices),
        accounts=accounts,
        process=PROCESS_TOKEN,
    )


def replaced_because(recorded: WorldIdentity, current: WorldIdentity) -> str | None:
    """Why `current` is not provably the world `recorded` describes; None when it provably is."""
    if recorded.world_id is None or current.world_id is None:
        return "the device world cannot be proved to be the same (the device server gives no world id)"
    if recorded.world_id != current.world_id:
        return "the device world was replaced"
    gone = sorted(set(recorded.devices) - set(current.devices))
    if gone:
        return f"the device world lost {', '.join(gone)}"
    return None


async def world_of_this_process(ctx: Context, run_id: str, recorded: WorldIdentity | None) -> WorldIdentity | None:
    """The world as this process sees it, for nodes that come before an attempt's first segment
    (planner, approve_plan): a run resumed there has not acted yet, so the current world is the one."""
    if recorded is None or recorded.process == PROCESS_TOKEN:
        return recorded
    from qa_agent.devices.pool import pool_for

    return await pool_for(run_id, ctx).world(recorded.devices)
