"""Device log lines around a failure: one background capture per device and run.

A capture streams `mobile_get_device_logs` in a loop on a second MCP session to the device's server
(a stdio mobile-mcp runs one call at a time, so the lane's session cannot also wait for log lines),
and keeps the entries in a bounded ring in memory, never in graph state. It only observes: a capture
that fails is noted in the report and changes no verdict.

Clocks: an entry carries the device's clock, without a time zone (logcat's `-v year`), read here in
the agent's time zone. No entry can be logged after the agent received it, so a device clock found
ahead of the agent's (an entry stamped later than its arrival) is corrected by the largest such lead;
a clock behind cannot be told from the entries, which the margin before a step's start absorbs.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from mcp import ClientSession

from qa_agent.devices.owned import OwnedResource, describe
from qa_agent.devices.results import strip_control, to_tool_text

LOG_TOOL = "mobile_get_device_logs"
CRASH_LIST_TOOL = "mobile_list_crashes"
CRASH_GET_TOOL = "mobile_get_crash"
# What a capture calls: reads beside the lanes, not their device work (benchmarks and tests count them apart).
LOG_READ_TOOLS = (LOG_TOOL, CRASH_LIST_TOOL, CRASH_GET_TOOL)
BATCH = 20  # entries per call: it returns after this many, or after the server's silence timeout
RING = 5000  # entries kept per device
MAX_LINE_CHARS = 1000
BEFORE_S = 5.0  # a failing step's lines start this long before the step
AFTER_S = 1.0  # ... and end this long after it (the report waits for them: keep it short)
IDLE_PAUSE_S = 1.0  # an empty answer that came at once (nothing streams): pause before asking again,
MAX_IDLE_PAUSE_S = 8.0  # doubling while that goes on
MAX_FAILURES = 3  # consecutive failed calls before the capture gives up
OPEN_TIMEOUT_S = 60.0
CALL_TIMEOUT_S = 10.0  # crash list and crash reads


@dataclass(frozen=True)
class LogLine:
    device_at: float | None  # the entry's time on the device clock (epoch seconds), None if unreadable
    received_at: float  # the agent's clock when its call returned
    text: str


def parse_entries(text: str, received_at: float) -> list[LogLine]:
    """mobile-mcp's JSON lines (`{"timestamp","message","level","pid","tag"}`) as readable lines;
    anything else is kept as it came (bounded, control characters stripped)."""
    lines = []
    for raw in text.splitlines():
        raw = raw.strip()
        if not raw or raw == "No log entries received":
            continue
        try:
            entry = json.loads(raw)
        except json.JSONDecodeError:
            entry = None
        if not isinstance(entry, dict):
            lines.append(LogLine(None, received_at, strip_control(raw)[:MAX_LINE_CHARS]))
            continue
        stamp = str(entry.get("timestamp", ""))
        shown = f"{stamp} {str(entry.get('level', ''))[:1]} {entry.get('tag', '')}({entry.get('pid', '')}): "
        text_line = strip_control(shown + str(entry.get("message", "")))[:MAX_LINE_CHARS]
        lines.append(LogLine(device_time(stamp), received_at, text_line))
    return lines


def device_time(stamp: str) -> float | None:
    """`2026-11-24 13:40:00.123` (the device's clock, read in the agent's time zone) in epoch seconds."""
    whole, _, fraction = stamp.strip().partition(".")
    try:
        seconds = time.mktime(time.strptime(whole, "%Y-%m-%d %H:%M:%S"))
        return seconds + (float(f"0.{fraction}") if fraction.isdigit() else 0.0)
    except (ValueError, OverflowError):
        return None


class LogRing:
    """A device's recent log lines, and how far its clock is ahead of the agent's (at least)."""

    def __init__(self, size: int = RING) -> None:
        self.lines: deque[LogLine] = deque(maxlen=size)
        self.lead = 0.0

    def add(self, lines: list[LogLine]) -> None:
        self.lines.extend(lines)
        leads = [line.device_at - line.received_at for line in lines if line.device_at is not None]
        self.lead = max([self.lead, *leads])

    def window(self, start: float, end: float) -> list[str]:
        """The lines logged from BEFORE_S before `start` to AFTER_S after `end` (the agent's clock)."""
        low, high = start - BEFORE_S, end + AFTER_S
        out = []
        for line in list(self.lines):
            at = line.received_at if line.device_at is None else line.device_at - self.lead
            if low <= at <= high:
                out.append(line.text)
        return out


class DeviceLogCapture:
    """Streams one device's log into a ring, on a session of its own, until closed."""

    def __init__(
        self,
        device: str,
        server_device: str,
        factory: Callable[[], AbstractAsyncContextManager[ClientSession]],
        stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.device = device
        self._stop = stop  # e.g. the run's lease may have expired: the device may be another run's now
        self.server_device = server_device
        self.ring = LogRing()
        self.error: str | None = None
        self.crashes_before: set[str] | None = None  # crash ids listed when the capture started
        self.covered_until = 0.0  # the agent's clock when the last call returned
        self._returned = asyncio.Event()
        self._session = OwnedResource(factory, name=f"device log capture {device}")
        self._task = asyncio.create_task(self._run(), name=f"logs:{device}")

    async def _call(self, session: ClientSession, tool: str, args: dict[str, Any]) -> tuple[str, bool]:
        tool_text = to_tool_text(await session.call_tool(tool, {"device": self.server_device, **args}))
        return tool_text.text, tool_text.failed

    async def _run(self) -> None:
        try:
            session = await self._session.open(OPEN_TIMEOUT_S)
            self.crashes_before = await crash_ids(session, self.server_device)
            failures, idle = 0, IDLE_PAUSE_S
            while failures < MAX_FAILURES and not self._stop():
                began = time.time()
                text, failed = await self._call(session, LOG_TOOL, {"limit": BATCH})
                now = time.time()
                if failed:
                    failures += 1
                    self.error = f"{LOG_TOOL} failed: {text[:300]}"
                    await asyncio.sleep(IDLE_PAUSE_S * failures)
                    continue
                failures, self.error = 0, None
                lines = parse_entries(text, now)
                self.ring.add(lines)
                self.covered_until = now
                self._returned.set()
                self._returned = asyncio.Event()
                if lines or now - began >= IDLE_PAUSE_S:
                    idle = IDLE_PAUSE_S
                else:
                    await asyncio.sleep(idle)
                    idle = min(2 * idle, MAX_IDLE_PAUSE_S)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a capture only observes: its failure is noted, never raised
            self.error = f"the log capture stopped: {describe(exc)}"

    async def settle(self, until: float, timeout_s: float) -> bool:
        """Wait (at most timeout_s) until a call that returned at or after `until` delivered its lines."""
        deadline = time.monotonic() + timeout_s
        while self.covered_until < until and not self._task.done():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(self._returned.wait(), left)
            except TimeoutError:
                return False
        return self.covered_until >= until

    async def aclose(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self._session.aclose()


async def crash_ids(session: ClientSession, device: str) -> set[str] | None:
    """The ids `mobile_list_crashes` lists now; None when the server cannot say."""
    try:
        result = await asyncio.wait_for(session.call_tool(CRASH_LIST_TOOL, {"device": device}), CALL_TIMEOUT_S)
        listed = json.loads(to_tool_text(result).text)
    except Exception:  # no crash tool, a failed call or not JSON: crashes are then not reported
        return None
    if not isinstance(listed, list):
        return None
    return {str(c["id"]) for c in listed if isinstance(c, dict) and "id" in c}


async def crash_report(session: ClientSession, device: str, crash_id: str) -> str:
    """One crash's text, or why it could not be read."""
    try:
        result = await asyncio.wait_for(
            session.call_tool(CRASH_GET_TOOL, {"device": device, "id": crash_id}), CALL_TIMEOUT_S
        )
    except Exception as exc:
        return f"(could not read crash {crash_id}: {describe(exc)})"
    return to_tool_text(result).text
