"""What the agent knows of each device's screen between steps: a per-run resource (never in state).

A lane builds a fresh executor for every step, and two lanes may drive one device, so this lives with
the run's device pool, one per device: whether anything may have changed the screen since the last
listing, whether that listing equals the one before it (its refs and positions still hold), whether a
BACK of ours hid the soft keyboard since, and the listings taken since the last action (a toast seen by
one of them appeared, even if it is gone when a later check looks). A resumed run starts knowing nothing,
which is the cautious side of each of these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qa_agent.devices.elements import Element

SIGHTINGS = 20  # listings kept since the device's last action


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
    keyboard_hidden: bool = False
    acted_at: float = 0.0  # monotonic time the last call that may change the screen was sent
    sightings: list[Sighting] = field(default_factory=list)  # listings since then
    last_keys: list[tuple[Any, ...]] = field(default_factory=list)

    def acted(self, now: float) -> None:
        self.changed, self.keyboard_hidden, self.acted_at = True, False, now
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


class Screens:
    """One ScreenMemory per device of a run."""

    def __init__(self) -> None:
        self._by_device: dict[str, ScreenMemory] = {}

    def of(self, device: str) -> ScreenMemory:
        return self._by_device.setdefault(device, ScreenMemory())
