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
from graph.state import Step, StepResult
from qa_agent.devices.actions import LaneDriver, run_step
from qa_agent.devices.pool import pool_for


class LaneInput(TypedDict):
    run_id: str
    driver: int
    device: str
    package: str | None
    steps: list[Step]
    segment: int
    attempt: int


class LaneState(LaneInput, total=False):
    cursor: int
    stopped: bool
    results: Annotated[list[StepResult], operator.add]


class LaneOutput(TypedDict):
    results: Annotated[list[StepResult], operator.add]


def evidence_dir(ctx: Context, run_id: str) -> Path:
    return ctx.report_root / run_id / "evidence"


async def lane_step(state: LaneState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = context_of(runtime.context)
    cursor = state.get("cursor", 0)
    step = state["steps"][cursor]
    write = get_stream_writer()
    base = {"driver": state["driver"], "device": state["device"], "step": step.id, "action": step.action}
    if state.get("stopped"):
        now = time.time()
        result = StepResult(
            step_id=step.id,
            driver=state["driver"],
            device=state["device"],
            action=step.action,
            status="skipped",
            message="skipped: an earlier step of this lane did not pass",
            started_at=now,
            ended_at=now,
            segment=state["segment"],
            attempt=state["attempt"],
            covers=list(step.covers),
        )
    else:
        write({"event": "step_start", **base, "args": step.args, "segment": state["segment"]})
        pool = pool_for(state["run_id"], ctx)
        key = f"driver-{state['driver']}"

        async def get_session() -> Any:
            return await pool.session(key)

        async def reconnect() -> None:
            await pool.drop(key)

        driver = LaneDriver(
            ctx=ctx,
            driver=state["driver"],
            device=state["device"],
            package=state.get("package"),
            schemas=await pool.schemas(key),
            get_session=get_session,
            reconnect=reconnect,
            session_lost=lambda: pool.lost(key),
            evidence_dir=evidence_dir(ctx, state["run_id"]),
            signals=pool.signals,
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
        "stopped": state.get("stopped") or result.status != "passed",
    }


def lane_continues(state: LaneState) -> str:
    return "step" if state.get("cursor", 0) < len(state["steps"]) else END
