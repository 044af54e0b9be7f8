"""The latency profiles: ``realistic`` charges a phone's time to every way into the world (the simulator's
MCP tools and the fake adb), ``fast`` charges nothing; the embedded simulator takes it from ``QA_SIM_PROFILE``.

Proved from the phone time the simulator drew (``/sim/health``'s ``device_time_s``), not from the clock.
"""

from __future__ import annotations

import httpx
import pytest

from graph.context import load_context
from qa_agent.devices.pool import DevicePool
from qa_agent.world.sim.latency import REALISTIC, Latency
from qa_agent.world.sim.process import simulator_process
from qa_agent.world.sim.testing import http_session
from tests.conftest import APPS

ALICE, BOB = "emulator-5554", "emulator-5556"


def test_delays_are_seeded_per_device_and_within_the_documented_ranges() -> None:
    def draws(seed: int, device: str) -> list[float]:
        latency = Latency(seed)
        return [latency.delay("realistic", device, kind) for kind in ("dump", "input", "screenshot", "dump")]

    first = draws(7, ALICE)
    assert first == draws(7, ALICE)
    assert first != draws(8, ALICE) and first != draws(7, BOB)
    warm_up = REALISTIC["first_call"]
    assert warm_up.low + REALISTIC["dump"].low <= first[0] <= warm_up.high + REALISTIC["dump"].high
    assert REALISTIC["input"].low <= first[1] <= REALISTIC["input"].high
    assert REALISTIC["screenshot"].low <= first[2] <= REALISTIC["screenshot"].high
    assert REALISTIC["dump"].low <= first[3] <= REALISTIC["dump"].high
    assert Latency(7).delay("fast", ALICE, "dump") == 0.0


async def test_realistic_profile_charges_mcp_tools_and_the_fake_adb() -> None:
    async with simulator_process(devices=3, profile="realistic", seed=5) as sim, http_session(sim.url) as s:
        await s.call_tool("mobile_list_elements_on_screen", {"device": ALICE})
        async with httpx.AsyncClient(base_url=sim.base_url, timeout=60) as client:
            answer = await client.post("/sim/adb", json={"argv": ["-s", BOB, "exec-out", "uiautomator", "dump"]})
            assert answer.json()["code"] == 0
        health = await sim.health()
    assert health["knobs"]["profile"] == "realistic"
    spent = health["device_time_s"]
    floor = REALISTIC["first_call"].low + REALISTIC["dump"].low
    assert spent[ALICE] >= floor and spent[BOB] >= floor
    assert "emulator-5558" not in spent  # a device nobody used costs nothing


async def test_fast_profile_is_the_default_and_draws_nothing() -> None:
    async with simulator_process(devices=1) as sim, http_session(sim.url) as s:
        await s.call_tool("mobile_list_elements_on_screen", {"device": ALICE})
        health = await sim.health()
    assert health["knobs"]["profile"] == "fast" and health["device_time_s"] == {}


async def test_embedded_simulator_takes_the_profile_from_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_SIM_PROFILE", "realistic")
    ctx = load_context(sim_apps_dir=APPS, sim_devices=1)
    assert ctx.sim_profile == "realistic"
    pool = DevicePool(ctx, "profile-run")
    try:
        url = (await pool._url()).removesuffix("/mcp")
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            knobs = (await client.get("/sim/health")).json()["knobs"]
    finally:
        await pool.aclose()
    assert knobs["profile"] == "realistic"


async def test_action_log_names_each_calls_nominal_device_time() -> None:
    """What the benchmark's wall / nominal sums: the latency a call was told to take (fixed latency, the
    profile's draw, a long press's hold), whatever the simulator itself took on a busy machine."""
    async with simulator_process(devices=2, apps_dir=APPS, latency_ms=30) as sim, http_session(sim.url) as s:
        await s.call_tool("mobile_launch_app", {"device": ALICE, "packageName": "com.example.ptt"})
        await s.call_tool("mobile_list_elements_on_screen", {"device": ALICE})
        await s.call_tool(
            "mobile_long_press_on_screen_at_coordinates", {"device": ALICE, "x": 1, "y": 1, "duration": 200}
        )
        fast = [a["nominal_s"] for a in await sim.actions()]
    assert fast == pytest.approx([0.03, 0.03, 0.23])
    async with (
        simulator_process(devices=2, apps_dir=APPS, profile="realistic", seed=3) as sim,
        http_session(sim.url) as s,
    ):
        for tool in ("mobile_list_elements_on_screen", "mobile_take_screenshot"):
            await s.call_tool(tool, {"device": BOB})
        nominal = sum(a["nominal_s"] for a in await sim.actions() if a["device"] == BOB)
        assert nominal == pytest.approx((await sim.health())["device_time_s"][BOB])
