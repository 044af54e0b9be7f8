"""Several MCP clients sharing one simulated world: HTTP sessions and attached stdio fronts."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest
from mcp import ClientSession

from qa_agent.world.sim.process import simulator_process, stdio_command
from qa_agent.world.sim.testing import http_session, result_text, stdio_session

ALICE, BOB = "emulator-5554", "emulator-5556"
TALK = {"x": 540, "y": 1750}


async def call(s: ClientSession, tool: str, **args: Any) -> str:
    return result_text(await s.call_tool(tool, args))


async def hold_and_watch(talker: ClientSession, listener: ClientSession, pkg: str) -> tuple[bool, bool, str]:
    """Alice holds Talk 1.5 s; returns (Bob saw the banner during the hold, Alice saw Transmitting, after)."""
    await call(talker, "mobile_launch_app", device=ALICE, packageName=pkg)
    await call(listener, "mobile_launch_app", device=BOB, packageName=pkg)
    assert 'text="Ready"' in await call(listener, "mobile_list_elements_on_screen", device=BOB)
    press = asyncio.create_task(
        call(talker, "mobile_long_press_on_screen_at_coordinates", device=ALICE, duration=1500, **TALK)
    )
    seen = transmitting = False
    for _ in range(20):
        await asyncio.sleep(0.1)
        if 'text="Alice is talking"' in await call(listener, "mobile_list_elements_on_screen", device=BOB):
            seen = True
            break
    transmitting = 'text="Transmitting"' in await call(talker, "mobile_list_elements_on_screen", device=ALICE)
    assert await press == "Long pressed on screen at coordinates: 540, 1750 for 1500ms"
    await asyncio.sleep(0.4)
    after = await call(listener, "mobile_list_elements_on_screen", device=BOB)
    assert 'text="Ready"' in await call(talker, "mobile_list_elements_on_screen", device=ALICE)
    return seen, transmitting, after


async def test_ptt_two_http_sessions() -> None:
    async with simulator_process(devices=2) as sim, http_session(sim.url) as a, http_session(sim.url) as b:
        seen, transmitting, after = await hold_and_watch(a, b, "com.example.ptt")
        assert seen and transmitting
        assert "is talking" not in after
        actions = await sim.actions()
        press = next(x for x in actions if x["tool"] == "mobile_long_press_on_screen_at_coordinates")
        overlapping = [
            x for x in actions
            if x["device"] == BOB and x["tool"] == "mobile_list_elements_on_screen"
            and x["start"] < press["end"] and x["end"] > press["start"]
        ]  # fmt: skip
        assert overlapping, "listener calls must run while the talker's long press is in progress"
        assert press["end"] - press["start"] >= 1.5


@pytest.mark.parametrize(("pkg", "banner_stays"), [("com.example.ptt", False), ("com.example.ptt.rc", True)])
async def test_ptt_two_stdio_processes_attached(pkg: str, banner_stays: bool) -> None:
    async with simulator_process(devices=2) as sim:
        command, args = stdio_command(sim.url)
        assert command == sys.executable
        async with stdio_session(command, args) as a, stdio_session(command, args) as b:
            assert len((await a.list_tools()).tools) == 26
            seen, _transmitting, after = await hold_and_watch(a, b, pkg)
            assert seen
            assert ('text="Alice is talking"' in after) is banner_stays
        assert {x["device"] for x in await sim.actions()} >= {ALICE, BOB}


async def test_reset_and_health() -> None:
    async with simulator_process(devices=2) as sim, http_session(sim.url) as s:
        await call(s, "mobile_launch_app", device=ALICE, packageName="com.example.ptt")
        health = await sim.health()
        assert health["ok"] and health["devices"] == [ALICE, BOB]
        await sim.reset()
        assert await sim.actions() == []
        assert "Pixel Launcher" in await call(s, "mobile_get_foreground_app", device=ALICE)
