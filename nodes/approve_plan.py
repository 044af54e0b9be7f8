"""approve_plan: with APPROVE_PLAN=1 a person approves, edits or rejects the plan before it runs.

The node interrupts; the run resumes with one of:
  {"action": "approve"}
  {"action": "edit", "plan": {...a Plan...}}   (validated like any plan)
  {"action": "reject", "reason": "..."}
It re-runs from its start on resume, so it has no side effect before `interrupt`.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt
from pydantic import ValidationError

from graph.context import Context, context_of
from graph.state import DeviceLease, DriverAssignment, Plan, QAState, WorldIdentity
from nodes.planner import driver_packages
from qa_agent.devices.calls import allowed_tools
from qa_agent.devices.discovery import NotEnoughDevices, assign_devices
from qa_agent.devices.isolation import isolation_keys
from qa_agent.devices.shared_leases import run_leaser
from qa_agent.devices.world import world_of_this_process
from qa_agent.planning.roles import RoleError, parse_roles
from qa_agent.planning.validate import launchable_packages, validate_plan
from qa_agent.resources import close_run
from qa_agent.verdicts import blocked

HOW = 'resume with {"action": "approve"}, {"action": "edit", "plan": {...}} or {"action": "reject", "reason": "..."}'


def _decision(raw: Any) -> dict[str, Any]:
    if isinstance(raw, str):
        return {"action": raw.strip().lower()}
    return dict(raw) if isinstance(raw, dict) else {"action": ""}


async def _lease_again(
    ctx: Context, state: QAState, plan: Plan, drivers: list[DriverAssignment], world: WorldIdentity | None
) -> dict[str, Any]:
    """The pause gave the devices back; a shared lab may have lent them out meanwhile: wait for them.
    The update: the new lease, or a blocked verdict."""
    leaser = run_leaser(ctx, state.get("devices", []), world)
    if leaser is None or not drivers:
        return {}
    keys = isolation_keys(ctx.batch_isolation, plan, state.get("ticket"), state["summary"].test_details)
    devices = frozenset(d.device for d in drivers)
    try:
        taken = await leaser.acquire(state["run_id"], len(drivers), devices, keys=keys)
    except NotEnoughDevices as exc:
        return {"verdict": blocked(str(exc))}
    return {"lease": DeviceLease(devices=taken, keys=sorted(keys))}


async def approve_plan(state: QAState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = context_of(runtime.context)
    plan = state["plan"]
    # A person may take hours, or never answer: hold no device session (or embedded simulator)
    # meanwhile. Safe to repeat, as the node re-runs on resume; lanes reconnect on first use.
    await close_run(state["run_id"])
    raw = interrupt(
        {
            "run_id": state.get("run_id"),
            "ticket_key": state.get("ticket_key"),
            "attempt": state.get("attempt", 0),
            "plan": plan.model_dump(mode="json"),
            "drivers": [d.model_dump(mode="json") for d in state.get("drivers", [])],
            "how": HOW,
        }
    )
    decision = _decision(raw)
    action = decision.get("action")
    # The decision may come to another process: the lanes act on the world it sees.
    world = await world_of_this_process(ctx, state["run_id"], state.get("world"))
    seen = {"world": world} if world is not None else {}
    if action == "approve":
        leased = await _lease_again(ctx, state, plan, state.get("drivers", []), world)
        return leased if "verdict" in leased else {"plan_approved": True} | seen | leased
    if action == "reject":
        reason = str(decision.get("reason") or "no reason given")
        return {"verdict": blocked(f"plan rejected by the reviewer: {reason}")}
    if action != "edit":
        return {"verdict": blocked(f"unknown plan decision {raw!r}: {HOW}")}
    try:
        edited = Plan.model_validate(decision.get("plan"))
    except ValidationError as exc:
        return {"verdict": blocked(f"the edited plan is not a plan: {exc.errors()[0]['msg']}", "plan_defect")}
    edited.drivers_needed = max([s.driver for s in edited.steps], default=1)
    # The reviewer changes how the ticket is tested, not what it expects; and an edited plan is never
    # stored for replay (a later run of the ticket must not inherit a hand-made pass).
    edited.verifications = list(plan.verifications)
    edited.source = "edited"
    packages = driver_packages(ctx, state["summary"], edited.drivers_needed)
    errors = validate_plan(
        edited,
        server_tools=state.get("device_tools", {}),
        allowed=allowed_tools(ctx.allow_unsafe_tools),
        packages=packages,
        launchable=launchable_packages(ctx, state["summary"]),
    )
    if errors:
        return {"verdict": blocked("the edited plan is invalid: " + "; ".join(errors), "plan_defect")}
    try:
        roles = parse_roles(state["summary"].test_details)
        accounts = world.accounts if world is not None else {}
        drivers = assign_devices(
            state.get("devices", []), edited.drivers_needed, ctx.force_devices, packages, roles, accounts
        )
    except (NotEnoughDevices, RoleError) as exc:
        return {"verdict": blocked(str(exc))}
    leased = await _lease_again(ctx, state, edited, drivers, world)
    if "verdict" in leased:
        return leased
    edited.notes = (edited.notes + " (edited by the reviewer)").strip()
    return {"plan": edited, "drivers": drivers, "plan_approved": True} | seen | leased
