"""A BACK of ours hides the soft keyboard once: a second one would leave the screen.

Before: once a BACK of ours had hidden the soft keyboard, any later action (a tap on a switch) made the
agent believe the keyboard might be up again while the field kept its focus, so the next target not on
screen got a second BACK, which left the screen (a plan defect turned into a blocked run, the app left).
On Chatter (examples/apps/chatter.yaml). A toast seen before a `wait`: test_toasts_and_dialogs.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qa_agent.world.sim.process import simulator_process
from tests.conftest import APPS
from tests.verdicts.lanes import lane, step

pytestmark = pytest.mark.slow
CHAT = "com.example.chat"


async def presses(sim: Any) -> list[str]:
    return [a["arguments"]["button"] for a in await sim.actions() if a["tool"] == "mobile_press_button"]


async def test_no_second_back_once_ours_hid_the_keyboard_and_a_button_was_tapped(tmp_path: Path) -> None:
    async with simulator_process(devices=1, apps_dir=APPS) as sim, lane(sim.url, tmp_path, CHAT) as d:
        assert (await step(d, "launch_app")).status == "passed"
        assert (await step(d, "tap_text", target="Settings")).status == "passed"
        assert (await step(d, "type_into", target="name", text="Bob")).status == "passed"
        assert (await step(d, "hide_keyboard")).message.startswith("hid the soft keyboard")
        assert (await step(d, "tap_text", target="Sounds")).status == "passed"
        missing = await step(d, "tap_text", target="Nowhere", timeout_s=2)
        still = await step(d, "assert_visible", text="Chat settings", timeout_s=2)
        pressed = await presses(sim)
    assert (missing.status, missing.error_class) == ("failed", "plan_defect"), missing.message
    assert "no element matching 'Nowhere'" in missing.message
    assert still.status == "passed", still.message
    assert pressed == ["BACK"]
