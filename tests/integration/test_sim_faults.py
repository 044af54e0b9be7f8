"""Fault knobs: seeded transient errors, vanishing devices, hangs and latency."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from mcp import ClientSession

from qa_agent.world.sim.process import simulator_process
from qa_agent.world.sim.testing import http_session, result_text

ALICE, BOB = "emulator-5554", "emulator-5556"


async def call(s: ClientSession, tool: str, **args: Any) -> Any:
    return await s.call_tool(tool, args)


async def failure_pattern(seed: int) -> list[bool]:
    async with simulator_process(devices=2, seed=seed, error_rate=0.4) as sim, http_session(sim.url) as s:
        pattern = []
        for _ in range(15):
            r = await call(s, "mobile_get_orientation", device=ALICE)
            if r.isError:
                assert result_text(r) == (
                    f"Error: device offline: {ALICE} is temporarily unreachable (simulated transient fault), try again"
                )
            pattern.append(bool(r.isError))
        return pattern


async def test_error_rate_is_reproducible_by_seed() -> None:
    first, second = await failure_pattern(7), await failure_pattern(7)
    assert first == second
    assert any(first) and not all(first)
    assert await failure_pattern(8) != first


async def test_vanish_after_k_calls_and_runtime_config() -> None:
    async with (
        simulator_process(devices=2, extra_args=["--vanish", f"{BOB}:2"]) as sim,
        http_session(sim.url) as s,
    ):
        for _ in range(2):
            assert not (await call(s, "mobile_get_orientation", device=BOB)).isError
        r = await call(s, "mobile_get_orientation", device=BOB)
        assert result_text(r).startswith(f'Device "{BOB}" not found.')
        devices = json.loads(result_text(await call(s, "mobile_list_available_devices")))
        assert [d["id"] for d in devices["devices"]] == [ALICE]
        knobs = await sim.configure(latency_ms=120)
        assert knobs["knobs"]["latency_ms"] == 120
        await call(s, "mobile_get_orientation", device=ALICE)
        last = (await sim.actions())[-1]
        assert last["end"] - last["start"] >= 0.12


async def test_hang_makes_client_timeout_fire() -> None:
    async with (
        simulator_process(devices=1, hang_rate=1.0, extra_args=["--hang-s", "3"]) as sim,
        http_session(sim.url) as s,
    ):
        try:
            await asyncio.wait_for(call(s, "mobile_get_orientation", device=ALICE), timeout=0.5)
        except TimeoutError:
            timed_out = True
        else:
            timed_out = False
        assert timed_out
        await sim.configure(hang_rate=0.0)


async def test_latency_visible_and_devices_run_concurrently() -> None:
    async with simulator_process(devices=2, latency_ms=300) as sim, http_session(sim.url) as s:
        await asyncio.gather(
            call(s, "mobile_get_orientation", device=ALICE), call(s, "mobile_get_orientation", device=BOB)
        )
        acts = await sim.actions()
        a = next(x for x in acts if x["device"] == ALICE)
        b = next(x for x in acts if x["device"] == BOB)
        assert a["end"] - a["start"] >= 0.3 and b["end"] - b["start"] >= 0.3
        assert a["start"] < b["end"] and b["start"] < a["end"], "two devices must overlap in time"
        # one device is serialised
        await asyncio.gather(*(call(s, "mobile_get_orientation", device=ALICE) for _ in range(2)))
        mine = [x for x in await sim.actions() if x["device"] == ALICE][-2:]
        first, second = sorted(mine, key=lambda x: x["end"])
        assert second["end"] - first["end"] >= 0.29
