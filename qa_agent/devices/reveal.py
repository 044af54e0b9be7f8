"""Bring a target into view before acting on it: scroll the list that may hold it, hide the soft keyboard.

An element mobile-mcp does not list is not on screen: a list's off-screen rows are absent from the dump,
and so is what the soft keyboard covers. Scrolling is bounded (MAX_SWIPES per direction), stops at a
list's end (a swipe that changes nothing), and says how it went; a target is "not there" only once the
list was scrolled to both ends. The keyboard is hidden with BACK (what hides the IME on Android; a second
BACK would leave the screen, so it is pressed only while a text field has focus and no BACK of ours hid
the keyboard over that field since it was last touched: taps on buttons do not bring the keyboard back).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from graph.state import Step
from qa_agent.devices.elements import (
    EDITABLE_TYPES,
    SCROLLABLE_TYPES,
    Element,
    encloses,
    find_matches,
    on_screen,
    summarize,
    targets,
)
from qa_agent.devices.failures import StepFailed
from qa_agent.devices.screens import field_key

if TYPE_CHECKING:
    from qa_agent.devices.actions import LaneDriver

MAX_SWIPES = 8
# the user's words ("scroll down": see what is below) -> the finger's swipe on the list
SWIPE_FOR = {"down": "up", "up": "down"}
_OTHER = {"down": "up", "up": "down"}


def scroll_container(elements: list[Element]) -> Element | None:
    """The largest scrollable list on screen (by its widget class), if any."""
    lists = [e for e in elements if e.kind in SCROLLABLE_TYPES and on_screen(e)]
    return max(lists, key=lambda e: e.width * e.height, default=None)


def _list_key(e: Element) -> tuple[str, str, float, float, float, float]:
    return e.kind, e.identifier, e.x, e.y, e.width, e.height


def same_list(before: list[Element], now: list[Element]) -> bool:
    """The largest list of `before` is still on screen in `now` (same type, id and place)."""
    box = scroll_container(before)
    return box is not None and any(_list_key(e) == _list_key(box) for e in now)


def scrolled_away(before: list[Element], now: list[Element], text: str, mode: str) -> list[Element]:
    """What matched `text` in the list before the agent scrolled it to reach a target, while that list is
    still on screen: not shown now may only mean scrolled out of view."""
    box = scroll_container(before)
    if box is None or not same_list(before, now):
        return []
    return [e for e in find_matches(before, text, mode) if e is not box and encloses(box, e)]


def focused_field(elements: list[Element]) -> Element | None:
    return next((e for e in elements if e.focused and e.kind in EDITABLE_TYPES and on_screen(e)), None)


def keyboard_may_hide(d: LaneDriver, elements: list[Element]) -> bool:
    """A text field has focus (so the soft keyboard may be up) and no BACK of ours hid it over that field."""
    field = focused_field(elements)
    return field is not None and d.screen.keyboard_hidden_over != field_key(field)


def _content(elements: list[Element], box: Element | None) -> list[tuple[object, ...]]:
    """What scrolling changes: the rows inside the list (or the whole screen but the system bars), each
    by its type, text, id, ref and bounds (not its states)."""
    if box is None:
        return [e.key()[:8] for e in elements if not e.identifier.startswith("com.android.systemui")]
    return [e.key()[:8] for e in elements if e is not box and encloses(box, e)]


async def _swipe(d: LaneDriver, step: Step, way: str, box: Element | None) -> None:
    args: dict[str, object] = {"direction": SWIPE_FOR[way]}
    if box is not None:  # inside the list, from 80% to 20% of its height (or back)
        x, _ = box.center
        start = box.y + box.height * (0.8 if way == "down" else 0.2)
        args.update({"x": x, "y": round(start), "distance": round(box.height * 0.6)})
    await d.must("mobile_swipe_on_screen", args, step)


async def scroll_to(
    d: LaneDriver, step: Step, target: str, mode: str, direction: str | None, elements: list[Element]
) -> tuple[list[Element], str]:
    """Scroll until `target` is listed: the stated direction first, then the other one (down, then up
    when none is stated). Returns the matching elements and how they were found; raises StepFailed
    when they were not (failed once the list was scrolled to both ends, else blocked, saying why)."""
    box = scroll_container(elements)
    where = f"the list {box.describe()}" if box is not None else "the screen (no scrollable list is listed)"
    order = [direction, _OTHER[direction]] if direction in _OTHER else ["down", "up"]
    ends: list[str] = []
    story: list[str] = []
    for way in order:
        swipes = 0
        while swipes < MAX_SWIPES:
            before = _content(elements, box)
            await _swipe(d, step, way, box)
            swipes += 1
            elements = await d.list_now(step)
            hits = targets(elements, target, mode)
            if hits:
                done = "".join(f"{s}; then " for s in story)
                return hits, f"found after {done}{swipes} swipe(s) scrolling {way} in {where}"
            box = scroll_container(elements) if box is not None else None
            if _content(elements, box) == before:
                ends.append(way)
                break
        reached = "to its end" if way in ends else f"{swipes} swipes without reaching its end"
        story.append(f"scrolled {way} {reached}")
    what = f"no element matching {target!r} ({mode} match) in {where}"
    if len(ends) == len(order):
        raise StepFailed(
            "failed",
            "plan_defect",
            f"{what}: not found after scrolling the list to its end both ways ({'; '.join(story)}); "
            f"on screen: {summarize(elements)}",
        )
    raise StepFailed(
        "blocked",
        "cannot_run",
        f"{what}: not found, and the list was not scrolled to both ends ({'; '.join(story)}; at most "
        f"{MAX_SWIPES} swipes a way), so it may still hold it; on screen: {summarize(elements)}",
    )


async def hide_keyboard(d: LaneDriver, step: Step, elements: list[Element]) -> str:
    """BACK while a text field has focus and the keyboard may be up; the field must still be listed after it."""
    field = focused_field(elements)
    if field is None or not keyboard_may_hide(d, elements):
        why = "no text field has focus" if field is None else "a BACK of ours already hid it"
        return f"the soft keyboard is not up ({why}): BACK not pressed"
    await d.must("mobile_press_button", {"button": "BACK"}, step)
    d.screen.keyboard_hidden_over = field_key(field)
    after = await d.list_now(step)
    if not any(field_key(e) == field_key(field) for e in after):
        raise StepFailed(
            "blocked",
            "cannot_run",
            f"BACK, pressed to hide the soft keyboard over {field.describe()}, left that screen (the keyboard "
            f"was not up); on screen now: {summarize(after)}",
        )
    return f"hid the soft keyboard (BACK) over {field.describe()}"
