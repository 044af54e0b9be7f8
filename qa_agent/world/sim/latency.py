"""How long a simulated phone takes to answer: the ``fast`` profile (no delay) and ``realistic`` (a mid-range
Android phone behind mobile-mcp 1.0.4 and mobilecli; ranges and sources in the simulator README).

A delay is drawn per call from a triangular distribution (low, mode, high) with a per-device random stream
seeded by ``f"{seed}:{device}:latency"``, so a device's delays depend only on the seed and the sequence of
calls made on it. The first call that reaches a device also pays the session warm-up (mobilecli's
``devices`` + daemon start + the on-device agent's first answer).
"""

from __future__ import annotations

import random
from collections.abc import Container
from dataclasses import dataclass
from typing import Literal

Profile = Literal["fast", "realistic"]
PROFILES: tuple[Profile, ...] = ("fast", "realistic")


@dataclass(frozen=True)
class Spread:
    """Seconds: a triangular distribution."""

    low: float
    mode: float
    high: float

    def draw(self, rng: random.Random) -> float:
        return rng.triangular(self.low, self.high, self.mode)


# Kinds of work a call does on the phone. Numbers: see "Latency profiles" in qa_agent/world/sim/README.md.
REALISTIC: dict[str, Spread] = {
    "dump": Spread(0.8, 1.3, 3.0),  # uiautomator / DeviceServer UI dump
    "screenshot": Spread(0.4, 0.7, 1.5),  # screencap + PNG/JPEG transfer over adb
    "input": Spread(0.15, 0.25, 0.5),  # input tap / text / keyevent / swipe (plus the swipe's own move)
    "cold_launch": Spread(1.0, 1.6, 3.0),  # am start of an app that is not running
    "warm_launch": Spread(0.3, 0.5, 1.0),  # am start of an app already running (brought to front)
    "query": Spread(0.05, 0.1, 0.3),  # getprop, dumpsys, pm, list apps, orientation...
    "first_call": Spread(3.0, 4.5, 8.0),  # session warm-up, paid once per device
}

TOOL_KINDS: dict[str, str] = {
    "mobile_list_elements_on_screen": "dump",
    "mobile_take_screenshot": "screenshot",
    "mobile_save_screenshot": "screenshot",
    "mobile_click_on_screen_at_coordinates": "input",
    "mobile_double_tap_on_screen": "input",
    "mobile_long_press_on_screen_at_coordinates": "input",
    "mobile_press_button": "input",
    "mobile_swipe_on_screen": "input",
    "mobile_type_keys": "input",
    "mobile_open_url": "warm_launch",
    "mobile_terminate_app": "query",
    "mobile_install_app": "cold_launch",
    "mobile_uninstall_app": "warm_launch",
}


def launch_kind(package: str, running: Container[str]) -> str:
    return "warm_launch" if package in running else "cold_launch"


def adb_kind(tokens: list[str], running: Container[str]) -> str:
    """The kind of a fake-adb shell command line (``tokens`` after ``shell``/``exec-out``)."""
    head = tokens[0] if tokens else ""
    if head == "uiautomator" and tokens[1:2] == ["dump"]:
        return "dump"
    if head == "screencap":
        return "screenshot"
    if head == "input":
        return "input"
    for flag in ("-n", "-p"):  # am start -n pkg/.Activity, monkey -p pkg
        if head in ("am", "monkey") and flag in tokens[:-1]:
            return launch_kind(tokens[tokens.index(flag) + 1].split("/", 1)[0], running)
    return "query"


class Latency:
    """The delays of one world's devices."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._rngs: dict[str, random.Random] = {}
        self._warm: set[str] = set()
        self.spent: dict[str, float] = {}  # device -> seconds of drawn phone time ("" = no device)

    def delay(self, profile: Profile, device: str, kind: str) -> float:
        """Seconds the phone ``device`` takes for work of ``kind`` (0 on the fast profile)."""
        if profile == "fast":
            return 0.0
        rng = self._rngs.get(device)
        if rng is None:
            rng = self._rngs[device] = random.Random(f"{self.seed}:{device}:latency")
        seconds = REALISTIC[kind].draw(rng)
        if device not in self._warm:
            self._warm.add(device)
            seconds += REALISTIC["first_call"].draw(rng)
        self.spent[device] = self.spent.get(device, 0.0) + seconds
        return seconds
