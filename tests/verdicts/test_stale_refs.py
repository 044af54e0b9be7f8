"""A ref names the element at that place of the list at tap time: a screen that changed after the listing
makes the same ref tap another element (mobilecli re-dumps the UI for `io tap @eN`).

Before: the agent tapped by the ref of the first listing that showed its target; a button that appeared
above it between that listing and the tap took the ref, and the agent tapped "Cancel order" instead of "OK"
(the app then did something the plan never asked for). Now a tap uses a listing equal to the one before it
(nothing changed in between), so the ref is the target's at tap time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_agent.world.sim.process import simulator_process
from tests.verdicts.lanes import DEVICE, lane, step, write_app

pytestmark = pytest.mark.slow
PACKAGE = "com.example.stale"
BUTTON = "android.widget.Button"
APP = {
    "package": PACKAGE,
    "name": "Stale",
    "start": "main",
    "state": {"banner": False, "result": "none"},
    "screens": {
        "main": {
            "elements": [
                # 800 ms after "Start", a button appears before "OK" in the listing: OK's ref moves by one
                {
                    "key": "start",
                    "type": BUTTON,
                    "text": "Start",
                    "bounds": [40, 200, 400, 120],
                    "on": {"tap": [{"set": {"banner": True}, "after_ms": 800}]},
                },
                {
                    "key": "cancel",
                    "type": BUTTON,
                    "text": "Cancel order",
                    "bounds": [40, 400, 600, 120],
                    "visible": "state.banner",
                    "on": {"tap": [{"set": {"result": "cancelled"}}]},
                },
                {
                    "key": "ok",
                    "type": BUTTON,
                    "text": "OK",
                    "bounds": [40, 600, 400, 120],
                    "on": {"tap": [{"set": {"result": "ok"}}]},
                },
                {"key": "result", "text": "Result: {state.result}", "bounds": [40, 800, 1000, 100]},
            ]
        }
    },
}


async def test_a_screen_that_changes_after_the_listing_does_not_redirect_the_tap(tmp_path: Path) -> None:
    async with simulator_process(devices=1, apps_dir=write_app(tmp_path / "apps", APP)) as sim:
        async with lane(sim.url, tmp_path, PACKAGE) as d:
            assert (await step(d, "launch_app")).status == "passed"
            # every call now takes 500 ms: the first listing after "Start" is taken before the change,
            # a tap right after it lands after the change
            await sim.configure(latency_ms=500)
            assert (await step(d, "tap_text", target="Start")).status == "passed"
            ok = await step(d, "tap_text", target="OK")
            await sim.configure(latency_ms=0)
            result = await step(d, "assert_visible", text="Result: ok", timeout_s=5)
        taps = [a["arguments"] for a in await sim.actions() if a["tool"] == "mobile_click_on_screen_at_coordinates"]
    assert ok.status == "passed", ok.message
    assert result.status == "passed", result.message
    assert taps[-1] == {"device": DEVICE, "ref": "@e3"}, taps  # OK after "Cancel order" appeared
