"""planner: a validated Plan and a device for each of its drivers.

Offline, Gherkin test details are compiled; free text needs an LLM. Whatever wrote the
plan, one validation decides whether it may run.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Overwrite

from graph.context import Context, context_of
from graph.state import Plan, QAState, TicketSummary
from qa_agent.devices.calls import allowed_tools
from qa_agent.devices.discovery import NotEnoughDevices, assign_devices
from qa_agent.planning.gherkin import GherkinError, compile_gherkin
from qa_agent.planning.validate import validate_plan
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
    reset: dict[str, Any] = {"segment": 0, "results": Overwrite([]), "verdict": None}
    if not summary.is_gherkin:
        return reset | {"verdict": blocked(f"cannot plan {summary.key} offline: {NO_LLM_HELP}")}
    try:
        plan: Plan = compile_gherkin(summary.test_details)
    except GherkinError as exc:
        return reset | {"verdict": blocked(f"cannot compile the test details of {summary.key}: {exc}")}
    packages = driver_packages(ctx, summary, plan.drivers_needed)
    plan.packages = {d: p for d, p in packages.items() if p}
    errors = validate_plan(
        plan,
        server_tools=state.get("device_tools", {}),
        allowed=allowed_tools(ctx.allow_unsafe_tools),
        packages=packages,
    )
    if errors:
        return reset | {"plan": plan, "verdict": blocked("invalid plan: " + "; ".join(errors), "plan_defect")}
    try:
        drivers = assign_devices(state.get("devices", []), plan.drivers_needed, ctx.force_devices, packages)
    except NotEnoughDevices as exc:
        return reset | {"plan": plan, "verdict": blocked(str(exc))}
    return reset | {"plan": plan, "drivers": drivers}
