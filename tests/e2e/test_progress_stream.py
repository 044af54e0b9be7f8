"""Programmatic progress: `graph.astream(..., stream_mode="custom", subgraphs=True)` yields each driver's steps.

The step events are written inside the `lane` subgraph, so `subgraphs=True` is required: without
it LangGraph delivers only the parent graph's custom events (the barriers).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from graph.builder import graph
from graph.context import load_context

pytestmark = pytest.mark.slow


async def _custom_events(jira_url: str, report_root: Path, key: str, *, subgraphs: bool) -> list[Any]:
    ctx = load_context(jira_mcp_url=jira_url, report_root=report_root)
    return [
        item
        async for item in graph.astream({"ticket_key": key}, context=ctx, stream_mode="custom", subgraphs=subgraphs)
    ]


def _verdict(report_root: Path) -> str:
    (report,) = report_root.glob("*/report.json")
    return str(json.loads(report.read_text())["verdict"]["result"])


async def test_custom_stream_gives_each_driver_steps_in_order(jira_url: str, tmp_path: Path) -> None:
    items = await _custom_events(jira_url, tmp_path, "PTT-1", subgraphs=True)
    assert _verdict(tmp_path) == "success"
    assert all(isinstance(ns, tuple) and isinstance(event, dict) for ns, event in items)

    steps = [(ns, e) for ns, e in items if e["event"] in ("step_start", "step_end")]
    barriers = [(ns, e) for ns, e in items if e["event"] == "barrier"]
    # Lane events come from a `lane:<task id>` namespace, barriers from the parent graph.
    assert all(len(ns) == 1 and ns[0].startswith("lane:") for ns, _ in steps)
    assert all(ns == () for ns, _ in barriers)
    assert [e["segment"] for _, e in barriers] == list(range(len(barriers))) and barriers

    events = [e for _, e in steps]
    assert {e["driver"] for e in events} == {1, 2}
    position = {(e["step"], e["event"]): i for i, e in enumerate(events)}
    assert len(position) == len(events), "a step started or ended twice"
    for step in {e["step"] for e in events}:
        assert position[(step, "step_start")] < position[(step, "step_end")], step
    assert all(e["status"] == "passed" for e in events if e["event"] == "step_end")

    # The `while` segment: user1 holds Talk while user2 looks for the banner, so both start before either ends.
    (hold,) = [e for e in events if e["event"] == "step_start" and e["action"] == "long_press_text"]
    together = [e for e in events if e["event"] == "step_start" and e["segment"] == hold["segment"]]
    assert {e["driver"] for e in together} == {1, 2}
    last_start = max(position[(e["step"], "step_start")] for e in together)
    first_end = min(position[(e["step"], "step_end")] for e in together)
    assert last_start < first_end, events


async def test_without_subgraphs_only_parent_events_arrive(jira_url: str, tmp_path: Path) -> None:
    items = await _custom_events(jira_url, tmp_path, "LOGIN-1", subgraphs=False)
    assert _verdict(tmp_path) == "success"
    assert items and {e["event"] for e in items} == {"barrier"}
