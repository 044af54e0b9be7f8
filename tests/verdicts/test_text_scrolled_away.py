"""A text the agent's own scrolling moved out of view is not proven gone.

Before: to tap a target below the fold the agent scrolled the list, and a later "the warning is not
shown" passed because that scrolling had moved the warning row off screen, while the app still showed it
(a false pass). Now such a check, while that list is still on screen, is inconclusive, saying why.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_agent.world.sim.process import simulator_process
from tests.verdicts.lanes import lane, step, write_app

pytestmark = pytest.mark.slow
PACKAGE = "com.example.terms"
WARNING = "You must accept the terms"
APP = {
    "package": PACKAGE,
    "name": "Terms",
    "start": "main",
    "state": {"accepted": False},
    "shared": {"rows": [WARNING, *(f"Clause {i}" for i in range(1, 25)), "Accept"]},
    "screens": {
        "main": {
            "elements": [
                {
                    "key": "rows",
                    "type": "androidx.recyclerview.widget.RecyclerView",
                    "identifier": f"{PACKAGE}:id/rows",
                    "bounds": [0, 240, 1080, 900],
                    "items": "shared.rows",
                    # the app's defect: accepting does not remove the warning row
                    "item": {"key": "row", "text": "{item}", "bounds": [40, 0, 1000, 100],
                             "on": {"tap": [{"set": {"accepted": True}}]}},
                },
            ]
        }
    },
}  # fmt: skip


async def test_a_warning_scrolled_away_by_the_agent_is_not_proven_gone(tmp_path: Path) -> None:
    apps = write_app(tmp_path / "apps", APP)
    async with simulator_process(devices=1, apps_dir=apps) as sim, lane(sim.url, tmp_path, PACKAGE) as d:
        assert (await step(d, "launch_app")).status == "passed"
        tapped = await step(d, "tap_text", target="Accept")
        gone = await step(d, "assert_not_visible", text=WARNING, timeout_s=2)
    assert tapped.status == "passed" and "scrolling down" in tapped.message, tapped.message
    assert (gone.status, gone.error_class) == ("blocked", "cannot_run"), gone.message
    assert "scrolled" in gone.message and WARNING in gone.message
