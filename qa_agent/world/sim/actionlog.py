"""The action log: one record per tool call, with wall-clock start/end times."""

from __future__ import annotations

import time
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
        return action

    @staticmethod
    def finish(action: Action, *, ok: bool, error: str | None = None) -> None:
        action.end = time.time()
        action.ok = ok
        action.error = error

    def dump(self) -> list[dict[str, Any]]:
        return [a.model_dump() for a in self._items]
