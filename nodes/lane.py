"""lane: one driver's steps of one segment, in order, on its own device session.

Compiled as a subgraph; the executor sends one lane per driver and they run in parallel.
Each step is its own node run, so a resumed run does not repeat finished steps.
"""

from __future__ import annotations

import operator
import time
from pathlib import Path
from typing import Annotated, Any

from langgraph.config import get_stream_writer
from langgraph.graph import END
from langgraph.runtime import Runtime
from typing_extensions import TypedDict

from graph.context import Context, context_of
from graph.state import DeviceLease, ErrorClass, Step, StepResult, StepStatus, WorldIdentity
from qa_agent.devices.actions import LaneDriver, run_step
from qa_agent.devices.listing import HostDown
from qa_agent.devices.logcapture import LOG_TOOL
from qa_agent.devices.pool import DevicePool, pool_for
from qa_agent.devices.shared_leases import hold_run_lease, holds_lease, lease_lost, until_lease_lost
from qa_agent.devices.world import PROCESS_TOKEN, replaced_because
from qa_agent.reports.paths import inside
from qa_agent.verdicts import stops_the_attempt


class LaneInput(TypedDict):
    run_id: str
    driver: int
    device: str
    package: str | None
    steps: list[Step]
    segment: int
    attempt: int
    world: WorldIdentity | None
    lease: DeviceLease | None  # the run's devices in a shared lab, leased again by a resuming process
    sent_by: str  # the agent process that sent the lane (qa_agent/devices/world.py)


class LaneState(LaneInput, total=False):
    cursor: int
    stopped: bool
    results: Annotated[list[StepResult], operator.add]


class LaneOutput(TypedDict):
    results: Annotated[list[StepResult], operator.add]


async def interrupted_because(state: LaneState, pool: DevicePool) -> str | None:
    """Why this lane must not act on the devices of a resumed run (see qa_agent/devices/world.py)."""
    in_flight = state.get("sent_by") != PROCESS_TOKEN
    recorded = state.get("world")
    acted = state["segment"] > 0 or state.get("cursor", 0) > 0
    if recorded is None or recorded.process == PROCESS_TOKEN or not (in_flight or acted):
        return None
    why = replaced_because(recorded, await pool.world(recorded.devices))
    if why is None and in_flight:
        why = "a step was running when the agent stopped"
    return why


def _not_run(
    state: LaneState, step: Step, status: StepStatus, message: str, error_class: ErrorClass = "none"
) -> StepResult:
    now = time.time()
    return StepResult(
        step_id=step.id,
        driver=state["driver"],
        device=state["device"],
        action=step.action,
        status=status,
        error_class=error_class,
        message=message,
        started_at=now,
        ended_at=now,
        segment=state["segment"],
        attempt=state["attempt"],
        covers=list(step.covers) if status == "skipped" else [],
    )


def evidence_dir(ctx: Context, run_id: str) -> Path:
    return inside(ctx.report_root, run_id, "evidence")


async def _route(pool: DevicePool, device: str) -> tuple[str, str] | str:
    """(host, the host's own id) of the lane's device, or why no host of the lab has it now."""
    try:
        return await pool.route(device)
    except (LookupError, HostDown) as exc:
        return f"the device {device} cannot be reached: {exc}"


async def lane_step(state: LaneState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = context_of(runtime.context)
    cursor = state.get("cursor", 0)
    step = state["steps"][cursor]
    write = get_stream_writer()
    base = {
        "driver": state["driver"],
        "device": state["device"],
        "step": step.id,
        "action": step.action,
        "attempt": state["attempt"],
    }
    if state.get("stopped"):
        result = _not_run(state, step, "skipped", "skipped: an earlier step of this lane did not pass")
    elif (why := await interrupted_because(state, pool_for(state["run_id"], ctx))) is not None:
        result = _not_run(state, step, "blocked", why, "interrupted")
    elif isinstance(route := await _route(pool_for(state["run_id"], ctx), state["device"]), str):
        result = _not_run(state, step, "blocked", route, "cannot_run")
    elif (unleased := await hold_run_lease(ctx, state["run_id"], state.get("lease"), state.get("world"))) is not None:
        result = _not_run(state, step, "blocked", unleased, "cannot_run")
    else:
        write({"event": "step_start", **base, "args": step.args, "segment": state["segment"]})
        pool = pool_for(state["run_id"], ctx)
        key = f"driver-{state['driver']}"
        device = state["device"]

        async def get_session() -> Any:
            return await pool.session(key, device)

        async def reconnect() -> None:
            await pool.drop(key)

        schemas = await pool.schemas(key, device)
        if ctx.device_logs == "auto" and LOG_TOOL in schemas:
            await pool.capture_logs(device)
        driver = LaneDriver(
            ctx=ctx,
            driver=state["driver"],
            device=device,
            server_device=route[1],
            package=state.get("package"),
            schemas=schemas,
            get_session=get_session,
            reconnect=reconnect,
            session_watch=lambda: pool.watch(key),
            lease_lost_now=lambda: lease_lost(state["run_id"]),
            lease_lost=(lambda: until_lease_lost(state["run_id"])) if holds_lease(state["run_id"]) else None,
            evidence_dir=evidence_dir(ctx, state["run_id"]),
            signals=pool.signals,
            screen=pool.screens.of(device),
        )
        result = await run_step(driver, step, segment=state["segment"], attempt=state["attempt"])
    write(
        {
            "event": "step_end",
            **base,
            "status": result.status,
            "message": result.message,
            "duration_s": result.duration_s,
            "tool_calls": result.tool_calls,
        }
    )
    return {
        "results": [result],
        "cursor": cursor + 1,
        "stopped": state.get("stopped") or result.status == "skipped" or stops_the_attempt(result),
    }


def lane_continues(state: LaneState) -> str:
    return "step" if state.get("cursor", 0) < len(state["steps"]) else END
