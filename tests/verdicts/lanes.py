"""One driver's step executor on a real simulated phone, over streamable HTTP, for verdict-truth tests.

The lane gets what the graph's lane node gives it: a session from the run's device pool, the one
reconnect, the session watch and the run's action signals.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from graph.context import load_context
from graph.state import Step, StepResult
from qa_agent.devices.actions import LaneDriver, run_step
from qa_agent.devices.pool import DevicePool

DEVICE = "emulator-5554"
_ids = itertools.count(1)


def write_app(folder: Path, model: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{model['package']}.yaml").write_text(yaml.safe_dump(model, sort_keys=False))
    return folder


@asynccontextmanager
async def lane(sim_url: str, tmp_path: Path, package: str | None = None, **settings: Any) -> AsyncIterator[LaneDriver]:
    ctx = load_context(mobile_mcp_url=sim_url, report_root=tmp_path / "runs", **settings)
    pool = DevicePool(ctx, f"verdicts-{next(_ids)}")
    key = "driver-1"

    async def get_session() -> Any:
        return await pool.session(key)

    async def reconnect() -> None:
        await pool.drop(key)

    try:
        yield LaneDriver(
            ctx=ctx,
            driver=1,
            device=DEVICE,
            package=package,
            schemas=await pool.schemas(key),
            get_session=get_session,
            reconnect=reconnect,
            session_watch=lambda: pool.watch(key),
            evidence_dir=tmp_path / "evidence",
            signals=pool.signals,
            screen=pool.screens.of(DEVICE),
        )
    finally:
        await pool.aclose()


async def step(d: LaneDriver, action: str, **args: Any) -> StepResult:
    """One step on a fresh executor, as the lane node builds one per step: only the pool's per-device
    screen memory carries over."""
    fresh = replace(d, calls=0, last_elements=[], last_elements_text="")
    return await run_step(fresh, Step(id=f"S{next(_ids)}", driver=1, action=action, args=args), segment=0, attempt=0)
