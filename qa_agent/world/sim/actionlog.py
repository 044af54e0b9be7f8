"""The action log: one record per tool call, with wall-clock start/end times and the call's nominal
device time (what the latency settings and a long press's hold say the phone spent, however long the
simulator itself took)."""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any

from pydantic import BaseModel


class Action(BaseModel):
    seq: int
    device: str | None
    tool: str
    arguments: dict[str, Any]
    start: float
    end: float | None = None
    ok: bool | None = None
    error: str | None = None
    nominal_s: float = 0.0


# The action of the tool call running in this task: the simulator's latency code charges its delays to it.
_current: ContextVar[Action | None] = ContextVar("sim_action", default=None)


def charge(seconds: float) -> None:
    """Add nominal device time to the running call's action (no call running: nothing to charge)."""
    action = _current.get()
    if action is not None:
        action.nominal_s += seconds


class ActionLog:
    def __init__(self) -> None:
        self._items: list[Action] = []

    def begin(self, tool: str, arguments: dict[str, Any]) -> Action:
        device = arguments.get("device")
        action = Action(
            seq=len(self._items) + 1,
            device=device if isinstance(device, str) else None,
            tool=tool,
            arguments=dict(arguments),
            start=time.time(),
        )
        self._items.append(action)
        _current.set(action)
        return action

    @staticmethod
    def finish(action: Action, *, ok: bool, error: str | None = None) -> None:
        action.end = time.time()
        action.ok = ok
        action.error = error

    def dump(self) -> list[dict[str, Any]]:
        return [a.model_dump() for a in self._items]
