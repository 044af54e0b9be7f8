"""discover_devices: list the device server's tools and the connected devices, and record the world's identity."""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.runtime import Runtime

from graph.context import Context, context_of
from graph.state import QAState
from qa_agent.devices.calls import CallPolicy, SessionLost, call_tool, inject_arguments
from qa_agent.devices.discovery import parse_device_details, parse_device_ids
from qa_agent.devices.owned import describe
from qa_agent.devices.pool import pool_for
from qa_agent.devices.sessions import tool_schemas
from qa_agent.verdicts import blocked

LIST_TOOL = "mobile_list_available_devices"
DISCOVERY_TRIES = 4


async def discover_devices(state: QAState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = context_of(runtime.context)
    pool = pool_for(state["run_id"], ctx)
    try:
        session = await pool.session("driver-1")
        schemas = tool_schemas((await session.list_tools()).tools)
        pool.remember_schemas(schemas)
    except Exception as exc:
        await pool.drop("driver-1")
        return {"verdict": blocked(f"device MCP server unreachable ({pool.transport}): {describe(exc)}")}
    if LIST_TOOL not in schemas:
        return {"verdict": blocked(f"the device server ({pool.transport}) has no {LIST_TOOL} tool")}
    policy = CallPolicy(
        timeout_s=30.0, attempts=2, backoff_base_s=ctx.step_backoff_base_s, allowed=frozenset({LIST_TOOL})
    )
    last = ""
    for attempt in range(1, DISCOVERY_TRIES + 1):
        try:
            outcome = await call_tool(
                session, LIST_TOOL, inject_arguments(LIST_TOOL, {}, schemas[LIST_TOOL], None, None), policy
            )
        except SessionLost as exc:
            return {"verdict": blocked(f"device server connection lost during discovery: {exc}")}
        last = outcome.text
        devices = parse_device_ids(outcome.text) if outcome.ok else []
        if devices:
            return {
                "devices": devices,
                "device_info": parse_device_details(outcome.text),
                "device_tools": schemas,
                "world": await pool.world(devices),
            }
        await asyncio.sleep(0.5 * attempt)
    return {"verdict": blocked(f"no device connected ({pool.transport}); the server said: {last.strip()[:300]}")}
