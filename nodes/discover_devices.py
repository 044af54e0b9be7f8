"""discover_devices: the tools and connected devices of every device server, and the world's identity."""

from __future__ import annotations

from typing import Any

from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from graph.context import ConfigError, Context, context_of
from graph.state import QAState
from qa_agent.devices.listing import HostDown, discover_lab
from qa_agent.devices.pool import pool_for
from qa_agent.verdicts import blocked


async def discover_devices(state: QAState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = context_of(runtime.context)
    pool = pool_for(state["run_id"], ctx)
    try:
        lab = await discover_lab(pool, ctx.step_backoff_base_s)
    except (HostDown, ConfigError) as exc:
        return {"verdict": blocked(str(exc))}
    write = get_stream_writer()
    for host, why in lab.down.items():
        write({"event": "host_down", "host": host, "message": why})
    return {
        "devices": lab.devices,
        "device_info": lab.details,
        "device_tools": lab.schemas,
        "world": await pool.world(lab.devices),
    }
