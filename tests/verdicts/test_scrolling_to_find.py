"""A target in a list's off-screen rows is absent from mobile-mcp's element list, not missing from the app.

Before: "scrolls to X" was refused as not supported, and a tap on a row below the fold failed the step
("no element matching") although one swipe would have shown it. Now the agent scrolls the list (bounded,
down then up, stopping at each end), says how it found the target, calls it missing only after both ends,
and never scrolls for a "sees" check: a row off screen is not seen by the user.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from qa_agent.world.sim.process import simulator_process
from tests.verdicts.lanes import lane, step, write_app

pytestmark = pytest.mark.slow
PACKAGE = "com.example.rows"
LIST = {
    "key": "rows",
    "type": "androidx.recyclerview.widget.RecyclerView",
    "identifier": f"{PACKAGE}:id/rows",
    "bounds": [0, 240, 1080, 900],  # 9 rows of 100 px
    "item": {
        "key": "row",
        "text": "{item}",
        "bounds": [40, 0, 1000, 100],
        "on": {"tap": [{"set": {"picked": "=item"}}]},
    },
}
APP = {
    "package": PACKAGE,
    "name": "Rows",
    "start": "short",
    "state": {"picked": ""},
    "shared": {"rows": [f"Row {i}" for i in range(1, 31)], "many": [f"Item {i}" for i in range(1, 201)]},
    "screens": {
        "short": {
            "elements": [
                {**LIST, "items": "shared.rows"},
                {"key": "picked", "text": "Picked {state.picked}", "bounds": [40, 1200, 1000, 100]},
                {
                    "key": "more",
                    "type": "android.widget.Button",
                    "text": "Many",
                    "bounds": [40, 1400, 400, 120],
                    "on": {"tap": [{"go": "long"}]},
                },
            ]
        },
        "long": {"elements": [{**LIST, "items": "shared.many"}]},
    },
}


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[Any]:
    async with simulator_process(devices=1, apps_dir=write_app(tmp_path / "apps", APP)) as handle:
        yield handle


async def swipes(sim: Any) -> list[str]:
    return [a["arguments"]["direction"] for a in await sim.actions() if a["tool"] == "mobile_swipe_on_screen"]


@pytest.mark.parametrize("profile", ["fast", "realistic"])
async def test_scroll_to_finds_a_row_below_the_fold_and_says_how(profile: str, tmp_path: Path) -> None:
    apps = write_app(tmp_path / "apps", APP)
    async with (
        simulator_process(devices=1, apps_dir=apps, profile=profile) as sim,  # type: ignore[arg-type]
        lane(sim.url, tmp_path, PACKAGE) as d,
    ):
        assert (await step(d, "launch_app")).status == "passed"
        found = await step(d, "scroll_to", target="Row 30")
        seen = await step(d, "assert_visible", text="Row 30", timeout_s=10)
    assert found.status == "passed", found.message
    assert "TextView 'Row 30'" in found.message and "found after 3 swipe(s) scrolling down" in found.message
    assert seen.status == "passed", seen.message


async def test_a_tap_on_an_off_screen_row_scrolls_to_it_first(sim: Any, tmp_path: Path) -> None:
    async with lane(sim.url, tmp_path, PACKAGE) as d:
        assert (await step(d, "launch_app")).status == "passed"
        tapped = await step(d, "tap_text", target="Row 27")
        picked = await step(d, "assert_visible", text="Picked Row 27", timeout_s=2)
    assert tapped.status == "passed", tapped.message
    assert "scrolling down" in tapped.message, tapped.message
    assert picked.status == "passed", picked.message


async def test_a_sees_check_never_scrolls(sim: Any, tmp_path: Path) -> None:
    async with lane(sim.url, tmp_path, PACKAGE) as d:
        assert (await step(d, "launch_app")).status == "passed"
        seen = await step(d, "assert_visible", text="Row 30", timeout_s=1)
    assert (seen.status, seen.error_class) == ("failed", "app_defect"), seen.message
    assert await swipes(sim) == []


async def test_missing_only_after_both_ends_else_blocked_saying_why(sim: Any, tmp_path: Path) -> None:
    async with lane(sim.url, tmp_path, PACKAGE) as d:
        assert (await step(d, "launch_app")).status == "passed"
        missing = await step(d, "scroll_to", target="Row 99", direction="down")
        assert (await step(d, "tap_text", target="Many")).status == "passed"
        too_long = await step(d, "scroll_to", target="Item 999")
    assert (missing.status, missing.error_class) == ("failed", "plan_defect"), missing.message
    assert "not found after scrolling the list to its end both ways" in missing.message
    assert "scrolled down to its end; scrolled up to its end" in missing.message
    assert (too_long.status, too_long.error_class) == ("blocked", "cannot_run"), too_long.message
    assert "not scrolled to both ends" in too_long.message and "8 swipes without reaching its end" in too_long.message
