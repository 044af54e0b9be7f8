"""Configuration of a simulated world (the CLI flags and the runtime knobs of ``POST /sim/config``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from qa_agent.world.sim.latency import Profile

USER_NAMES = [
    "Alice",
    "Bob",
    "Carol",
    "Dave",
    "Erin",
    "Frank",
    "Grace",
    "Heidi",
    "Ivan",
    "Judy",
    "Mallory",
    "Niaj",
    "Olivia",
    "Peggy",
    "Rupert",
    "Sybil",
    "Trent",
    "Victor",
    "Walter",
    "Yara",
]


def user_name(index: int) -> str:
    """The user of device ``index`` (1-based)."""
    return USER_NAMES[index - 1] if index <= len(USER_NAMES) else f"User{index}"


def device_id(index: int) -> str:
    return f"emulator-{5554 + 2 * (index - 1)}"


def parse_vanish(values: list[str] | dict[str, int] | None) -> dict[str, int]:
    """``["emulator-5556:3"]`` -> ``{"emulator-5556": 3}``."""
    if values is None:
        return {}
    if isinstance(values, dict):
        return {str(k): int(v) for k, v in values.items()}
    out: dict[str, int] = {}
    for item in values:
        dev, sep, count = item.rpartition(":")
        if not sep or not dev or not count.isdigit():
            raise ValueError(f"vanish: expected DEVICE_ID:AFTER_N_CALLS, got {item!r}")
        out[dev] = int(count)
    return out


class Knobs(BaseModel):
    """Fault-injection knobs; all changeable at runtime."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(default=0.0, ge=0)
    profile: Profile = "fast"  # per-call latency of a phone (sim/latency.py); added to latency_ms
    system_bars: bool = True  # list the status and navigation bars (sim/system.py)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    hang_rate: float = Field(default=0.0, ge=0, le=1)
    hang_s: float = Field(default=30.0, ge=0)
    vanish: dict[str, int] = Field(default_factory=dict)
    log_silence_s: float = Field(default=2.0, ge=0)
    logs_fail: bool = False  # mobile_get_device_logs fails as mobilecli does when logcat cannot start
    crash_read_s: float = Field(default=0.0, ge=0)  # mobile_get_crash answers after this long (a slow server)
    # Deterministic faults for tests: the N-th tool call on a device hangs `hang_s` (then proceeds),
    # and a device's element listings take this many extra milliseconds.
    hang_at: dict[str, int] = Field(default_factory=dict)
    slow_list_ms: dict[str, float] = Field(default_factory=dict)

    @field_validator("vanish", mode="before")
    @classmethod
    def _vanish(cls, v: Any) -> dict[str, int]:
        return parse_vanish(v)


class SimConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    devices: int = Field(default=4, ge=0, le=200)
    apps_dir: Path | None = None
    seed: int = 0
    knobs: Knobs = Field(default_factory=Knobs)
    without_tools: list[str] = Field(default_factory=list)  # not listed nor served (an older mobile-mcp)
