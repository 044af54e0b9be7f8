"""Fan-out of one plan segment into parallel driver lanes, and the routing around barriers."""

from __future__ import annotations

from collections.abc import Callable

from langgraph.types import Send

from graph.state import QAState
from nodes.lane import LaneInput
from qa_agent.devices.world import PROCESS_TOKEN
from qa_agent.verdicts import stops_the_attempt


def lanes_for_segment(state: QAState) -> list[Send] | str:
    """Send one lane per driver with steps in the current segment; else go verify.

    Used after the planner (segment 0) and after each barrier. A failed or blocked step
    stops the run at the barrier: later segments would only act on a broken premise (an
    inconclusive check breaks none: see qa_agent.verdicts.stops_the_attempt).
    """
    if state.get("verdict") is not None:
        return "report"
    plan = state["plan"]
    attempt = state.get("attempt", 0)
    current = [r for r in state.get("results", []) if r.attempt == attempt]
    if any(r.error_class == "interrupted" for r in current):
        return "restart_attempt"
    if any(stops_the_attempt(r) for r in current):
        return "verifier"
    segments = plan.segments()
    index = state.get("segment", 0)
    if index >= len(segments):
        return "verifier"
    devices = {a.driver: a for a in state.get("drivers", [])}
    sends: list[Send] = []
    for driver in sorted({s.driver for s in segments[index]}):
        assignment = devices[driver]
        lane: LaneInput = {
            "run_id": state["run_id"],
            "driver": driver,
            "device": assignment.device,
            "package": assignment.package,
            "steps": [s for s in segments[index] if s.driver == driver],
            "segment": index,
            "attempt": attempt,
            "world": state.get("world"),
            "lease": state.get("lease"),
            "sent_by": PROCESS_TOKEN,
        }
        sends.append(Send("lane", lane))
    return sends


def continue_or_report(next_node: str) -> Callable[[QAState], str]:
    """Router for linear nodes: a verdict already reached (blocked) goes straight to the report."""

    def route(state: QAState) -> str:
        return "report" if state.get("verdict") is not None else next_node

    route.__name__ = f"to_{next_node}_or_report"
    return route
