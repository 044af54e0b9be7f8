"""An assertion or a target matches an element's whole text, label or resource id (case and spacing
aside; accents and punctuation count). Part of a text matches only when the step says so, near misses
are named and never pass, a tap never guesses between several elements, and every evidence line names
the mode and the element (type, text, bounds) that proved it.

Each test drives the step executor against a simulated phone over streamable HTTP.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from qa_agent.planning.gherkin import compile_gherkin
from qa_agent.world.sim.process import simulator_process
from tests.conftest import APPS
from tests.verdicts.lanes import DEVICE, lane, step, write_app

pytestmark = pytest.mark.slow
PACKAGE = "com.example.screens"


def _text(key: str, text: str, y: int, **extra: Any) -> dict[str, Any]:
    return {"key": key, "text": text, "bounds": [60, y, 960, 80], **extra}


SCREENS = {
    "package": PACKAGE,
    "name": "Screens",
    "start": "main",
    "state": {"sent": False},
    "screens": {
        "main": {
            "elements": [
                _text("welcome", "Welcome back!", 100),
                _text("switch", "Désactivé", 200),
                _text("notifications", "Notifications", 300),
                _text("count", "13 participants", 400),
                _text("status", "Not Ready", 500),
                # two distinct "OK" buttons: a tap on "OK" cannot know which one is meant
                _text("ok1", "OK", 600, type="android.widget.Button"),
                _text("ok2", "OK", 700, type="android.widget.Button"),
                # a container and its button carrying the same name are one target: the button
                {"key": "row", "type": "android.widget.LinearLayout", "label": "Send", "bounds": [0, 800, 1080, 300]},
                {
                    "key": "send",
                    "type": "android.widget.Button",
                    "text": "Send",
                    "identifier": f"{PACKAGE}:id/send",
                    "bounds": [290, 850, 500, 200],
                    "on": {"tap": [{"set": {"sent": True}}]},
                },
                _text("sent", "Sent", 1200, visible="state.sent"),
            ]
        }
    },
}


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[Any]:
    apps = write_app(tmp_path / "apps", SCREENS)
    shutil.copy(APPS / "talkie.yaml", apps / "talkie.yaml")  # its launcher icon reads "Talkie"
    async with simulator_process(devices=1, apps_dir=apps) as handle:
        yield handle


def _taps(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [a for a in actions if a["tool"] == "mobile_click_on_screen_at_coordinates"]


@pytest.mark.parametrize(
    ("query", "near_miss"),
    [
        ("Welcome", "TextView 'Welcome back!'"),
        ("Activé", "TextView 'Désactivé'"),
        ("ON", "TextView 'Notifications'"),
        ("3 participants", "TextView '13 participants'"),
        ("Ready", "TextView 'Not Ready'"),
    ],
)
async def test_part_of_a_text_is_not_seeing_it(query: str, near_miss: str, sim: Any, tmp_path: Path) -> None:
    async with lane(sim.url, tmp_path, PACKAGE) as d:
        assert (await step(d, "launch_app")).status == "passed"
        result = await step(d, "assert_visible", text=query, timeout_s=1)
    assert (result.status, result.error_class) == ("failed", "app_defect"), result.message
    assert f"{query!r} (exact match) not visible" in result.message
    assert f"closest: {near_miss} at [" in result.message


async def test_evidence_names_the_mode_and_the_element_that_proved_it(sim: Any, tmp_path: Path) -> None:
    details = """
        Given the user opens the app
        Then the user sees "welcome  BACK!"
        And the user sees text containing "Welcome"
        And the user sees text matching "^\\d+ participants$"
        And the user does not see "Welcome"
    """
    plan = compile_gherkin(details)
    assert [s.args.get("match") for s in plan.steps[1:]] == [None, "contains", "regex", None]
    async with lane(sim.url, tmp_path, PACKAGE) as d:
        results = [await step(d, s.action, **s.args) for s in plan.steps]
    assert [r.status for r in results] == ["passed"] * 5, [r.message for r in results]
    exact, contains, regex, absent = (r.message for r in results[1:])
    window = r"\(observed \d+\.\d\d-\d+\.\d\ds into the 10s window\)"
    welcome = re.escape("TextView 'Welcome back!' at [60,100 960x80]")
    assert re.fullmatch(rf"'welcome  BACK!' \(exact match\) visible: {welcome} {window}", exact)
    assert re.fullmatch(rf"'Welcome' \(contains match\) visible: {welcome} {window}", contains)
    assert regex.startswith("'^\\\\d+ participants$' (regex match) visible: TextView '13 participants' at [60,400")
    # absent as a whole text; the reader still sees what was on screen and close to it
    assert re.fullmatch(rf"'Welcome' \(exact match\) absent {window}; on screen, not matching: {welcome}", absent)


async def test_a_tap_never_lands_on_a_longer_name(sim: Any, tmp_path: Path) -> None:
    async with lane(sim.url, tmp_path) as d:  # the launcher shows the "Talkie" icon
        result = await step(d, "tap_text", target="Talk", timeout_s=1)
        actions = await sim.actions()
    assert (result.status, result.error_class) == ("failed", "plan_defect"), result.message
    assert "no element matching 'Talk' (exact match) within 1s; closest: TextView 'Talkie' at [" in result.message
    assert _taps(actions) == []


async def test_a_tap_on_a_name_several_elements_carry_is_a_plan_defect(sim: Any, tmp_path: Path) -> None:
    async with lane(sim.url, tmp_path, PACKAGE) as d:
        await step(d, "launch_app")
        ambiguous = await step(d, "tap_text", target="ok")
        assert _taps(await sim.actions()) == []
        # a container and the button inside it, both named "Send", are one target: the button
        send = await step(d, "tap_text", target="Send")
        sent = await step(d, "assert_visible", text="Sent", timeout_s=5)
        actions = await sim.actions()
    assert (ambiguous.status, ambiguous.error_class) == ("blocked", "plan_defect")
    assert "ambiguous target 'ok' (exact match): 2 elements match: Button 'OK' at [60,600 960x80], " in (
        ambiguous.message
    )
    assert "Button 'OK' at [60,700 960x80]" in ambiguous.message
    assert send.status == "passed" and send.message == "tap_text Button 'Send' at [290,850 500x200]"
    assert sent.status == "passed", sent.message
    assert len(_taps(actions)) == 1 and _taps(actions)[0]["device"] == DEVICE
