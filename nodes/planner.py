"""planner: a validated Plan and a device for each of its drivers.

Gherkin test details are compiled (no model needed, deterministic); with an LLM, only the
lines no step matched go to it. Free text, and any replan after a plan defect, go to the LLM.
Whoever wrote the plan, one validation decides whether it may run.
"""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Overwrite

from graph.context import Context, context_of
from graph.state import DeviceLease, DriverAssignment, QAState, TicketSummary
from qa_agent.devices.calls import allowed_tools
from qa_agent.devices.discovery import NotEnoughDevices, assign_devices
from qa_agent.devices.isolation import isolation_keys
from qa_agent.devices.lab import wanted_labels, with_labels
from qa_agent.devices.pool import pool_for
from qa_agent.devices.shared_leases import run_leaser
from qa_agent.devices.world import world_of_this_process
from qa_agent.llm import LLMError, usage_of
from qa_agent.planning.gherkin import GherkinError, compile_gherkin
from qa_agent.planning.llm_lines import plan_unmatched_lines
from qa_agent.planning.llm_planner import PlanRejected, plan_with_llm
from qa_agent.planning.roles import RoleError, parse_roles, without_roles
from qa_agent.planning.validate import launchable_packages, mark_cold_starts, validate_plan
from qa_agent.verdicts import blocked

NO_LLM_HELP = (
    "its test details are free text, and without an LLM only Gherkin (Given/When/Then) is compiled. "
    "Set LLM_BASE_URL (an OpenAI-compatible endpoint), LLM_API_KEY and LLM_MODEL, or write the test "
    "details as Gherkin"
)


def driver_packages(ctx: Context, summary: TicketSummary, drivers: int) -> dict[int, str | None]:
    """DRIVER<n>_PACKAGE, then GLOBAL_PACKAGE, then the package the ticket names."""
    return {d: ctx.package_for(d) or summary.package for d in range(1, drivers + 1)}


async def planner(state: QAState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = context_of(runtime.context)
    summary = state["summary"]
    devices = state.get("devices", [])
    allowed = allowed_tools(ctx.allow_unsafe_tools)
    history = state.get("history") or []
    previous = history[-1] if state.get("attempt", 0) > 0 and history else None
    update: dict[str, Any] = {"segment": 0, "results": Overwrite([]), "verdict": None, "plan_approved": False}
    if not summary.test_details.strip():
        why = "fill its 'Test Details' field (customfield_11504) or describe the steps in the description"
        return update | {"verdict": blocked(f"{summary.key} has no test details: {why}")}
    replay = state.get("replay_plan") if previous is None else None
    # After a replayed plan failed, plan afresh as if there had been none.
    fresh_after_replay = previous is not None and previous.plan.source == "replay"

    if replay is not None:
        plan = replay
    elif previous is not None and previous.verdict.failure_class == "transient":
        plan = previous.plan  # the device, not the plan, was the trouble: the same plan once more
    elif ctx.llm_enabled and ((previous is not None and not fresh_after_replay) or not summary.is_gherkin):
        packages = driver_packages(ctx, summary, max(len(devices), 1))
        try:
            plan, raws = await plan_with_llm(
                ctx,
                summary,
                devices=devices,
                packages=packages,
                server_tools=state.get("device_tools", {}),
                allowed=allowed,
                previous=previous,
            )
        except PlanRejected as exc:
            return update | {"verdict": blocked(f"the LLM's plan stayed invalid: {exc}", "plan_defect")}
        except LLMError as exc:
            return update | {"verdict": blocked(f"planning failed: {exc}")}
        update["usage"] = {"planner": usage_of(raws)}
    elif not summary.is_gherkin:
        return update | {"verdict": blocked(f"cannot plan {summary.key} offline: {NO_LLM_HELP}")}
    else:
        try:
            plan = compile_gherkin(without_roles(summary.test_details), apps=summary.apps, steps_file=ctx.steps_file)
        except GherkinError as exc:
            offline = f"cannot compile the test details of {summary.key}: {exc}"
            if not (ctx.llm_enabled and exc.unmatched):
                return update | {"verdict": blocked(offline)}
            try:
                plan, raws = await plan_unmatched_lines(ctx, summary, exc)
            except PlanRejected as rejected:
                return update | {"verdict": blocked(f"{offline}; the LLM's steps for them stayed invalid: {rejected}")}
            except LLMError as llm_error:
                return update | {"verdict": blocked(f"{offline}; the LLM that would plan them failed: {llm_error}")}
            update["usage"] = {"planner": usage_of(raws)}
            plan.notes = "lines no step matched were planned by the LLM (steps marked source=llm)"
        plan.notes = "; ".join(n for n in (summary.planning_note, plan.notes) if n)
        if summary.expected_results and not plan.verifications:
            plan.verifications = list(summary.expected_results)

    plan = mark_cold_starts(plan)
    packages = driver_packages(ctx, summary, plan.drivers_needed)
    plan.packages = {d: p for d, p in packages.items() if p}
    errors = validate_plan(
        plan,
        server_tools=state.get("device_tools", {}),
        allowed=allowed,
        packages=packages,
        launchable=launchable_packages(ctx, summary),
    )
    if errors:
        return update | {
            "plan": plan,
            "verdict": blocked("invalid plan: " + "; ".join(errors), "plan_defect"),
        }
    try:
        roles = {n: a for n, a in parse_roles(summary.test_details).items() if n <= plan.drivers_needed}
    except RoleError as exc:
        return update | {"plan": plan, "verdict": blocked(str(exc), "plan_defect")}
    world = await world_of_this_process(ctx, state["run_id"], state.get("world"))
    if world is not None:
        update["world"] = world
    accounts = world.accounts if world is not None else {}
    labels = wanted_labels(state.get("ticket"), summary.test_details)
    if labels and not (devices := with_labels(devices, world.labels if world is not None else {}, labels)):
        why = f"the ticket asks for devices labelled {', '.join(sorted(labels))}; no device of the lab has them all"
        return update | {"plan": plan, "verdict": blocked(why + " (labels come from QA_LAB_FILE)")}
    try:
        leaser = run_leaser(ctx, devices, world)
        if leaser is not None:  # a batch or a lab shared by agents: only the devices leased to this run
            pinned = frozenset(d for n, d in ctx.force_devices.items() if n <= plan.drivers_needed)
            keys = isolation_keys(ctx.batch_isolation, plan, state.get("ticket"), summary.test_details)
            devices = await leaser.acquire(
                state["run_id"], plan.drivers_needed, pinned, frozenset(roles.values()), keys,
                among=devices if labels else None,
            )  # fmt: skip
            update["lease"] = DeviceLease(devices=devices, keys=sorted(keys))
        drivers = assign_devices(devices, plan.drivers_needed, ctx.force_devices, packages, roles, accounts)
    except NotEnoughDevices as exc:
        why = str(exc)
        if ctx.embedded_simulator and len(devices) < plan.drivers_needed:
            need = plan.drivers_needed
            why += f"; the embedded simulator has QA_SIM_DEVICES={ctx.sim_devices}: set it to {need} or more"
        return update | {"plan": plan, "verdict": blocked(why)}
    await _warm_up(ctx, state["run_id"], drivers)
    return update | {"plan": plan, "drivers": drivers}


async def _warm_up(ctx: Context, run_id: str, drivers: list[DriverAssignment]) -> None:
    """Open every driver's session now, together, instead of in each lane's first step.

    Best effort: a session that cannot open is reported by the lane that needs it."""
    pool = pool_for(run_id, ctx)
    await asyncio.gather(*(pool.session(f"driver-{d.driver}") for d in drivers), return_exceptions=True)
