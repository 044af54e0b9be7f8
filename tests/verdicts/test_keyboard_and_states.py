"""The soft keyboard hides the lower screen, and a state check reads only what the element reports.

Before: after typing in a field, a tap on "Save" (under the keyboard, so absent from the element list)
failed the step as if the plan named a button that does not exist; "hides the keyboard" pressed BACK even
with no keyboard up, leaving the screen; state checks ("the 'Sounds' switch is on", "'Save' is disabled")
were refused as not supported. Now the keyboard is hidden (BACK, reported) only while a field has focus,
and a state check passes only on an element that reports the state: one that cannot tell (a TextView has
no `checked`) blocks the check, never passes it. On the example app Chatter (examples/apps/chatter.yaml).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from qa_agent.world.sim.process import simulator_process
from tests.conftest import APPS
from tests.verdicts.lanes import lane, step

pytestmark = pytest.mark.slow
CHAT = "com.example.chat"


@pytest.fixture
async def sim() -> AsyncIterator[Any]:
    async with simulator_process(devices=1, apps_dir=APPS) as handle:
        yield handle


async def presses(sim: Any) -> list[str]:
    return [a["arguments"]["button"] for a in await sim.actions() if a["tool"] == "mobile_press_button"]


@pytest.mark.parametrize("profile", ["fast", "realistic"])
async def test_a_target_under_the_keyboard_is_uncovered_then_tapped(profile: str, tmp_path: Path) -> None:
    async with (
        simulator_process(devices=1, apps_dir=APPS, profile=profile) as sim,  # type: ignore[arg-type]
        lane(sim.url, tmp_path, CHAT) as d,
    ):
        assert (await step(d, "launch_app")).status == "passed"
        assert (await step(d, "tap_text", target="Settings")).status == "passed"
        typed = await step(d, "type_into", target="name", text="Bob")
        saved = await step(d, "tap_text", target="Save")
        toast = await step(d, "assert_visible", text="Saved", timeout_s=5)
        pressed = await presses(sim)
    assert typed.status == "passed", typed.message
    assert saved.status == "passed", saved.message
    assert "hid the soft keyboard (BACK) over EditText" in saved.message
    assert toast.status == "passed", toast.message
    assert pressed == ["BACK"]


async def test_hiding_the_keyboard_presses_back_only_while_a_field_has_focus(sim: Any, tmp_path: Path) -> None:
    async with lane(sim.url, tmp_path, CHAT) as d:
        assert (await step(d, "launch_app")).status == "passed"
        assert (await step(d, "tap_text", target="Settings")).status == "passed"
        idle = await step(d, "hide_keyboard")
        assert (await step(d, "tap_text", target="name")).status == "passed"
        hidden = await step(d, "hide_keyboard")
        again = await step(d, "hide_keyboard")
        still = await step(d, "assert_visible", text="Chat settings", timeout_s=1)
        save = await step(d, "assert_visible", text="Save", timeout_s=1)
    assert (idle.status, hidden.status, again.status) == ("passed",) * 3, [idle.message, hidden.message]
    assert "BACK not pressed" in idle.message and "no text field has focus" in idle.message
    assert hidden.message.startswith("hid the soft keyboard (BACK) over EditText")
    assert "BACK not pressed" in again.message
    assert still.status == save.status == "passed", (still.message, save.message)
    assert await presses(sim) == ["BACK"]


async def test_state_checks_pass_fail_or_block_on_what_the_element_reports(sim: Any, tmp_path: Path) -> None:
    async with lane(sim.url, tmp_path, CHAT) as d:
        assert (await step(d, "launch_app")).status == "passed"
        assert (await step(d, "tap_text", target="Settings")).status == "passed"
        checks = {
            name: await step(d, "assert_state", target=target, state=state, value=value, timeout_s=1)
            for name, target, state, value in [
                ("sounds on", "Sounds", "checked", True),
                ("vibrate off", "Vibrate", "checked", False),
                ("general tab", "General", "selected", True),
                ("save disabled", "Save", "enabled", False),
                ("vibrate on", "Vibrate", "checked", True),
                ("title unchecked", "Chat settings", "checked", False),
            ]
        }
    for name in ("sounds on", "vibrate off", "general tab", "save disabled"):
        assert checks[name].status == "passed", (name, checks[name].message)
    assert "Switch 'Sounds' at [40,400 1000x120] reports checked=true" in checks["sounds on"].message
    wrong = checks["vibrate on"]
    assert (wrong.status, wrong.error_class) == ("failed", "app_defect"), wrong.message
    assert "CheckBox 'Vibrate'" in wrong.message and "still reports checked=false" in wrong.message
    unknown = checks["title unchecked"]
    assert (unknown.status, unknown.error_class) == ("blocked", "cannot_run"), unknown.message
    assert "TextView 'Chat settings'" in unknown.message and "does not report whether it is checked" in unknown.message
    assert all(r.evidence and r.evidence.elements for r in checks.values())  # the listing that decided
