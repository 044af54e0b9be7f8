"""A toast lasts two to three and a half seconds: a check that it appeared must not miss it because a
slower step ran between the tap and the check.

Before: "the 'Saved' toast appears within 3 seconds", checked after another check and a slow step, looked
only from its own start, after the toast was gone, and failed the app (a false failure). Now a listing the
lane took since its last action, inside the check's window, proves it, and is the evidence. A dialog that
appears, a tap on its button and the toast after it, on the realistic latency profile too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_agent.world.sim.process import simulator_process
from tests.verdicts.lanes import lane, step, write_app

pytestmark = pytest.mark.slow
PACKAGE = "com.example.toasts"
BUTTON = "android.widget.Button"
APP = {
    "package": PACKAGE,
    "name": "Toasts",
    "start": "main",
    "state": {"saved": False, "synced": False, "confirm": False, "deleted": False},
    "screens": {
        "main": {
            "elements": [
                {
                    "key": "save",
                    "type": BUTTON,
                    "text": "Save",
                    "bounds": [40, 200, 400, 120],
                    "on": {
                        "tap": [
                            {"set": {"saved": True}},
                            {"toast": "Saved", "duration_ms": 3000},
                            {"set": {"synced": True}, "after_ms": 3500},
                        ]
                    },
                },
                {"key": "note", "text": "Name saved", "bounds": [40, 400, 1000, 100], "visible": "state.saved"},
                {"key": "synced", "text": "Synced", "bounds": [40, 1000, 1000, 100], "visible": "state.synced"},
                {
                    "key": "delete",
                    "type": BUTTON,
                    "text": "Delete chat",
                    "bounds": [40, 600, 600, 120],
                    "on": {"tap": [{"set": {"confirm": True}}]},
                },
                {"key": "gone", "text": "No chat", "bounds": [40, 800, 1000, 100], "visible": "state.deleted"},
                {
                    "key": "dialog",
                    "type": "android.widget.FrameLayout",
                    "identifier": f"{PACKAGE}:id/confirm",
                    "bounds": [90, 900, 900, 500],
                    "modal": True,
                    "visible": "state.confirm",
                    "on": {"back": [{"set": {"confirm": False}}]},
                    "children": [
                        {
                            "key": "title",
                            "text": "Delete chat?",
                            "identifier": "android:id/alertTitle",
                            "bounds": [140, 950, 800, 100],
                        },
                        {
                            "key": "cancel",
                            "type": BUTTON,
                            "text": "Cancel",
                            "bounds": [440, 1250, 240, 120],
                            "on": {"tap": [{"set": {"confirm": False}}]},
                        },
                        {
                            "key": "yes",
                            "type": BUTTON,
                            "text": "Delete",
                            "bounds": [700, 1250, 240, 120],
                            "on": {
                                "tap": [
                                    {"set": {"confirm": False, "deleted": True}},
                                    {"toast": "Chat deleted", "duration_ms": 3500},
                                ]
                            },
                        },
                    ],
                },
            ]
        }
    },
}


async def test_a_toast_seen_by_an_earlier_listing_since_the_tap_proves_it_appeared(tmp_path: Path) -> None:
    async with (
        simulator_process(devices=1, apps_dir=write_app(tmp_path / "apps", APP)) as sim,
        lane(sim.url, tmp_path, PACKAGE) as d,
    ):
        assert (await step(d, "launch_app")).status == "passed"
        assert (await step(d, "tap_text", target="Save")).status == "passed"
        # a slow step (it looks until "Synced" shows, 3.5 s after the tap): the toast came and went meanwhile
        assert (await step(d, "assert_visible", text="Synced", timeout_s=8)).status == "passed"
        toast = await step(d, "assert_visible", text="Saved", timeout_s=5)
    assert toast.status == "passed", toast.message
    assert "TextView 'Saved'" in toast.message and "after the device's last action, before this step looked" in (
        toast.message
    )
    assert toast.evidence and toast.evidence.elements and 'text="Saved"' in toast.evidence.elements


async def test_a_toast_after_the_tap_window_does_not_count(tmp_path: Path) -> None:
    """Only listings inside the check's window (from the device's last action) count."""
    async with (
        simulator_process(devices=1, apps_dir=write_app(tmp_path / "apps", APP)) as sim,
        lane(sim.url, tmp_path, PACKAGE) as d,
    ):
        assert (await step(d, "launch_app")).status == "passed"
        assert (await step(d, "tap_text", target="Save")).status == "passed"
        assert (await step(d, "assert_visible", text="Name saved", timeout_s=3)).status == "passed"
        assert (await step(d, "tap_text", target="Delete chat")).status == "passed"  # an action: a new window
        assert (await step(d, "tap_text", target="Cancel")).status == "passed"
        assert (await step(d, "wait", seconds=3.5)).status == "passed"
        toast = await step(d, "assert_visible", text="Saved", timeout_s=1)
    assert (toast.status, toast.error_class) == ("failed", "app_defect"), toast.message


async def test_after_an_explicit_wait_an_earlier_sighting_proves_nothing(tmp_path: Path) -> None:
    """'waits 4 seconds, then sees X' asks about the screen after the wait: a toast seen before it and
    gone since does not pass the check."""
    async with (
        simulator_process(devices=1, apps_dir=write_app(tmp_path / "apps", APP)) as sim,
        lane(sim.url, tmp_path, PACKAGE) as d,
    ):
        assert (await step(d, "launch_app")).status == "passed"
        assert (await step(d, "tap_text", target="Save")).status == "passed"
        assert (await step(d, "assert_visible", text="Name saved", timeout_s=3)).status == "passed"
        assert (await step(d, "wait", seconds=3.5)).status == "passed"
        toast = await step(d, "assert_visible", text="Saved", timeout_s=3)
    assert (toast.status, toast.error_class) == ("failed", "app_defect"), toast.message


async def test_a_dialog_its_button_and_the_toast_on_a_realistic_phone(tmp_path: Path) -> None:
    async with (
        simulator_process(devices=1, apps_dir=write_app(tmp_path / "apps", APP), profile="realistic") as sim,
        lane(sim.url, tmp_path, PACKAGE) as d,
    ):
        assert (await step(d, "launch_app")).status == "passed"
        assert (await step(d, "tap_text", target="Delete chat")).status == "passed"
        dialog = await step(d, "assert_visible", text="Delete chat?", timeout_s=10)
        tapped = await step(d, "tap_text", target="Delete")
        toast = await step(d, "assert_visible", text="Chat deleted", timeout_s=5)
        gone = await step(d, "assert_visible", text="No chat", timeout_s=10)
    assert dialog.status == "passed", dialog.message
    assert tapped.status == "passed" and "Button 'Delete' at [700,1250 240x120]" in tapped.message, tapped.message
    assert toast.status == "passed", toast.message
    assert gone.status == "passed", gone.message
