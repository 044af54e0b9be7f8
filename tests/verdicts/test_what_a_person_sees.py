"""An assertion is about what a person reads on the screen: invisible characters don't hide a text,
a resource id or an element with no size doesn't show one, and a ticket's regex can't freeze the agent.

Before: a banner wrapped in Android's bidi isolates ("\u2068Alice\u2069 is talking") made "does not
see" pass on a screen that showed it (a false pass of PTT-2's defect); an empty TextView with the id
`error` proved `sees "Error"`; a zero-size element proved `sees`; `(a|aa)+$` blocked the event loop
for tens of seconds and then blamed the app.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from qa_agent.world.sim.process import simulator_process
from tests.verdicts.lanes import lane, step, write_app

pytestmark = pytest.mark.slow
PACKAGE = "com.example.seen"
SCREEN = {
    "package": PACKAGE,
    "name": "Seen",
    "start": "main",
    "screens": {
        "main": {
            "elements": [
                {"key": "banner", "text": "\u2068Alice\u2069 is talking", "bounds": [60, 100, 960, 80]},
                {"key": "cafe", "text": "Cafe\u0301 ouvert", "bounds": [60, 200, 960, 80]},
                {"key": "error", "text": "", "identifier": f"{PACKAGE}:id/error", "bounds": [60, 300, 960, 80]},
                {"key": "ghost", "text": "Saved", "bounds": [60, 400, 0, 0]},
                {"key": "long", "text": "a" * 38 + "!", "bounds": [60, 500, 960, 80]},
            ]
        }
    },
}


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[Any]:
    async with simulator_process(devices=1, apps_dir=write_app(tmp_path / "apps", SCREEN)) as handle:
        yield handle


async def test_invisible_characters_do_not_hide_a_text(sim: Any, tmp_path: Path) -> None:
    async with lane(sim.url, tmp_path, PACKAGE) as d:
        assert (await step(d, "launch_app")).status == "passed"
        seen = await step(d, "assert_visible", text="Alice is talking", timeout_s=1)
        absent = await step(d, "assert_not_visible", text="Alice is talking", timeout_s=1)
        composed = await step(d, "assert_visible", text="Caf\u00e9 ouvert", timeout_s=1)
    assert seen.status == "passed", seen.message
    assert (absent.status, absent.error_class) == ("failed", "app_defect"), absent.message
    assert composed.status == "passed", composed.message


async def test_a_resource_id_or_a_sizeless_element_shows_nothing(sim: Any, tmp_path: Path) -> None:
    async with lane(sim.url, tmp_path, PACKAGE) as d:
        assert (await step(d, "launch_app")).status == "passed"
        by_id = await step(d, "assert_visible", text="Error", timeout_s=1)
        ghost = await step(d, "assert_visible", text="Saved", timeout_s=1)
    assert (by_id.status, by_id.error_class) == ("failed", "app_defect"), by_id.message
    assert (ghost.status, ghost.error_class) == ("failed", "app_defect"), ghost.message


async def test_a_catastrophic_regex_is_a_plan_defect_not_a_frozen_agent(sim: Any, tmp_path: Path) -> None:
    async with lane(sim.url, tmp_path, PACKAGE) as d:
        assert (await step(d, "launch_app")).status == "passed"
        result = await step(d, "assert_visible", text="(a|aa)+$", match="regex", timeout_s=1)
    assert (result.status, result.error_class) == ("blocked", "plan_defect"), result.message
    assert "took over" in result.message and "make it simpler" in result.message
