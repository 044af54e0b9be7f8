"""What the agent knows of each device's screen between steps: a per-run resource (never in state).

A lane builds a fresh executor for every step, and two lanes may drive one device, so this lives with
the run's device pool, one per device: whether anything may have changed the screen since the last
listing, whether that listing equals the one before it (its refs and positions still hold), over which
focused field a BACK of ours hid the soft keyboard (it stays hidden until a text field is touched or that
field loses focus: a tap on a button does not bring it back), the listing before the agent scrolled a
list to reach a target (what that scrolling moved out of view is not gone), and the listings taken since
the last action (a toast seen by one of them appeared, even if it is gone when a later check looks; a
`wait` forgets them).
A resumed run starts knowing nothing, which is the cautious side of each of these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qa_agent.devices.elements import Element

SIGHTINGS = 20  # listings kept since the device's last action


def field_key(e: Element) -> tuple[str, str, float, float]:
    """A text field by type, id and place: its text changes as it is typed into."""
    return e.kind, e.identifier, e.x, e.y


@dataclass
class Sighting:
    """One listing: when (monotonic start and end) and what it showed."""

    began: float
    ended: float
    elements: list[Element]
    text: str = ""


@dataclass
class ScreenMemory:
    changed: bool = True
    stable: bool = False
    keyboard_hidden_over: tuple[str, str, float, float] | None = None  # the field_key of that focused field
    acted_at: float = 0.0  # monotonic time the last call that may change the screen was sent
    sightings: list[Sighting] = field(default_factory=list)  # listings since then
    before_scroll: list[Element] = field(default_factory=list)  # the listing before the agent scrolled to a target
    last_keys: list[tuple[Any, ...]] = field(default_factory=list)

    def acted(self, now: float) -> None:
        self.changed, self.acted_at = True, now
        self.sightings.clear()

    def waited(self) -> None:
        """A ticket's explicit wait: what it checks next is meant for after the wait, so what earlier
        listings saw no longer proves it (the screen itself is unchanged)."""
        self.sightings.clear()

    def listed(self, sighting: Sighting) -> None:
        keys = [e.key() for e in sighting.elements]
        self.stable = not self.changed and keys == self.last_keys
        self.last_keys, self.changed = keys, False
        self.sightings = [*self.sightings[-SIGHTINGS + 1 :], sighting]
        over = self.keyboard_hidden_over
        if over is not None and not any(e.focused and field_key(e) == over for e in sighting.elements):
            self.keyboard_hidden_over = None  # another screen, or another field has focus

    def touched(self, element: Element, editable: bool) -> None:
        """An action on `element` starts: a tap on a text field brings the soft keyboard back."""
        if editable:
            self.keyboard_hidden_over = None


class Screens:
    """One ScreenMemory per device of a run."""

    def __init__(self) -> None:
        self._by_device: dict[str, ScreenMemory] = {}

    def of(self, device: str) -> ScreenMemory:
        return self._by_device.setdefault(device, ScreenMemory())
