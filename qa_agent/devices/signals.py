"""Per-run, in-process signals between the lanes of a segment: when a step's device action started.

A concurrent check ("while user1 holds "Talk" for 4 seconds, user2 sees ...") times its window
from the moment the other lane's action starts, not from the segment start: the acting lane
first has to find its target, which takes seconds on a real phone. Never in graph state: a run
resumed in another process starts with no signals, and a check that waits for a signal that
never comes is inconclusive, never passed or failed.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class _Signal:
    done: asyncio.Event = field(default_factory=asyncio.Event)
    started_at: float | None = None  # time.monotonic() when the device action was sent


class ActionSignals:
    def __init__(self) -> None:
        self._signals: dict[tuple[int, str], _Signal] = {}

    def _get(self, attempt: int, step_id: str) -> _Signal:
        return self._signals.setdefault((attempt, step_id), _Signal())

    def started(self, attempt: int, step_id: str) -> None:
        signal = self._get(attempt, step_id)
        if signal.started_at is None:
            signal.started_at = time.monotonic()
        signal.done.set()

    def ended(self, attempt: int, step_id: str) -> None:
        """The step is over, whether its action ran or not: nobody waits for it any longer."""
        self._get(attempt, step_id).done.set()

    async def wait_started(self, attempt: int, step_id: str, timeout_s: float) -> float | None:
        """When the step's action started (monotonic clock), None if the step ended without acting.
        Raises TimeoutError when nothing is heard of the step in time."""
        signal = self._get(attempt, step_id)
        await asyncio.wait_for(signal.done.wait(), timeout_s)
        return signal.started_at
