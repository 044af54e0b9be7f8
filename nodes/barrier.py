"""barrier: every lane of a segment has ended; move to the next segment."""

from __future__ import annotations

from typing import Any

from langgraph.config import get_stream_writer

from graph.state import QAState


async def barrier(state: QAState) -> dict[str, Any]:
    segment = state.get("segment", 0)
    attempt = state.get("attempt", 0)
    done = [r for r in state.get("results", []) if r.attempt == attempt and r.segment == segment]
    get_stream_writer()(
        {
            "event": "barrier",
            "segment": segment,
            "segments": len(state["plan"].segments()),
            "passed": sum(r.status == "passed" for r in done),
            "not_passed": sum(r.status != "passed" for r in done),
        }
    )
    return {"segment": segment + 1}
