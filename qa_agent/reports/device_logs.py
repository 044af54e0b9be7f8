"""Device log evidence for each failed or blocked step: the log lines around it and the crashes that
appeared during the run, written next to the other evidence and listed in report.json (`device_logs`).

Log text comes from the device: it is written as data (secrets redacted) and escaped wherever shown.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from graph.state import StepResult
from qa_agent.devices.logcapture import AFTER_S, DeviceLogCapture, crash_ids, crash_report
from qa_agent.devices.owned import describe
from qa_agent.devices.pool import DevicePool
from qa_agent.devices.results import truncate
from qa_agent.devices.shared_leases import lease_lost
from qa_agent.reports.paths import atomic_write, inside
from qa_agent.reports.writer import redact

SETTLE_S = 5.0  # how long the report waits for lines a capture's call still holds
MAX_LINES = 300  # per step in report.json (the newest); the file has them all
COLLECT_TIMEOUT_S = 60.0
MAX_CRASHES = 10  # new crashes read per run (each read may take its timeout); the others are counted
CRASH_READS_S = 30.0  # no crash read starts after this long: the log lines must be written within COLLECT_TIMEOUT_S
MAX_CRASH_CHARS = 200_000  # of one crash's text (device text of any size)
MAX_ID_CHARS = 200


def _failing(results: Iterable[StepResult], captured: dict[str, DeviceLogCapture]) -> list[StepResult]:
    seen: dict[tuple[int, int, str], StepResult] = {}
    for r in results:
        if r.status in ("failed", "blocked") and r.device in captured and r.ended_at > r.started_at:
            seen.setdefault((r.attempt, r.driver, r.step_id), r)
    return list(seen.values())


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:80] or "crash"


def crash_file_name(device: str, crash_id: str) -> str:
    """A file name per crash id: its safe part, and a digest of the whole id (ids alike in that part differ)."""
    digest = hashlib.sha256(crash_id.encode("utf-8", "replace")).hexdigest()[:12]
    return f"crash-{_safe_name(device)}-{_safe_name(crash_id)}-{digest}.txt"


async def _new_crashes(
    pool: DevicePool, result: StepResult, capture: DeviceLogCapture, folder: Path, secrets: list[str]
) -> tuple[list[dict[str, str]], int]:
    """Crashes listed now that were not when the capture started, each read and written as a file (at
    most MAX_CRASHES), and how many more were not read."""
    if capture.crashes_before is None or lease_lost(pool.run_id) is not None:  # the phone may be another run's
        return [], 0
    session = await pool.session(f"driver-{result.driver}", result.device)
    now = await crash_ids(session, capture.server_device)
    out: list[dict[str, str]] = []
    new = sorted((now or set()) - capture.crashes_before)
    deadline = time.monotonic() + CRASH_READS_S
    for crash_id in new[:MAX_CRASHES]:
        if time.monotonic() > deadline:
            break
        text = truncate(await crash_report(session, capture.server_device, crash_id), MAX_CRASH_CHARS, 10**9)
        path = inside(folder, "evidence", crash_file_name(result.device or "", crash_id))
        await asyncio.to_thread(atomic_write, path, redact(text, secrets))
        out.append({"id": redact(crash_id[:MAX_ID_CHARS], secrets), "file": str(path)})
    return out, len(new) - len(out)


async def _collect(pool: DevicePool, results: list[StepResult], folder: Path, secrets: list[str]) -> dict[str, Any]:
    captured = pool.log_captures
    failing = _failing(results, captured)
    section: dict[str, Any] = {}
    settled: dict[str, bool] = {}
    if failing:
        until = max(r.ended_at for r in failing) + AFTER_S
        devices = sorted({str(r.device) for r in failing})
        waits = await asyncio.gather(*(captured[d].settle(until, SETTLE_S) for d in devices))
        settled = dict(zip(devices, waits, strict=True))
    steps, crashes_done = [], set()
    for r in failing:
        capture = captured[str(r.device)]
        lines = [redact(line, secrets) for line in capture.ring.window(r.started_at, r.ended_at)]
        crashes: list[dict[str, str]] = []
        unread = 0
        if r.device not in crashes_done:
            crashes_done.add(r.device)
            crashes, unread = await _new_crashes(pool, r, capture, folder, secrets)
        if not lines and not crashes:
            continue
        path = inside(folder, "evidence", f"{r.step_id}-attempt{r.attempt + 1}-driver{r.driver}-device.log")
        await asyncio.to_thread(atomic_write, path, "".join(f"{line}\n" for line in lines))
        entry: dict[str, Any] = {
            "attempt": r.attempt, "step_id": r.step_id, "driver": r.driver, "device": r.device,
            "file": str(path), "lines": lines[-MAX_LINES:], "crashes": crashes,
        }  # fmt: skip
        notes = [f"{unread} more new crashes were not read"] if unread else []
        if not settled.get(str(r.device), True):
            notes.append("the device server still held lines when the report was written: the last ones may be missing")
        if notes:
            entry["note"] = "; ".join(notes)
        steps.append(entry)
    if steps:
        section["steps"] = steps
    errors = {d: redact(c.error, secrets) for d, c in captured.items() if c.error}
    if errors:
        section["capture_errors"] = errors
    return section


async def failure_logs(
    pool: DevicePool | None, results: list[StepResult], folder: Path, secrets: list[str]
) -> dict[str, Any] | None:
    """report.json's `device_logs`, or None when no log was captured or nothing failed near one.
    Never raises: the evidence is an aid, a problem collecting it is noted and changes no verdict."""
    if pool is None or not pool.log_captures:
        return None
    try:
        section = await asyncio.wait_for(_collect(pool, results, folder, secrets), COLLECT_TIMEOUT_S)
    except Exception as exc:
        section = {"capture_errors": {"report": f"device log evidence could not be written: {describe(exc)}"}}
    return section or None
