"""Soak: 50 tickets in a row on one simulated world with transient faults.

Every verdict must be right, and the process must not grow: no leaked child processes or
file descriptors, memory flat between ticket 10 and ticket 50.
"""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path
from typing import Any

import pytest

from graph.context import load_context
from qa_agent.runner import run_ticket
from qa_agent.world.sim.process import simulator_process
from tests.conftest import APPS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

TICKETS = 50
RSS_GROWTH_LIMIT_MB = 50
# (ticket, settings, expected verdict, a phrase of the justification)
QUICK: list[tuple[str, dict[str, Any], str, str]] = [
    ("LOGIN-1", {}, "success", "verified on the devices"),
    ("CALL-1", {}, "success", "verified on the devices"),
    ("PTT-3", {"global_package": "com.example.ptt"}, "success", "verified on the devices"),
    ("PTT-3", {}, "blocked", "missing package name"),
    ("PTT-4", {}, "blocked", "LLM_BASE_URL"),
    ("NOPE-404", {}, "blocked", "NOPE-404 does not exist"),
]
SLOW: list[tuple[str, dict[str, Any], str, str]] = [
    ("PTT-1", {}, "success", "verified on the devices"),
    ("PTT-2", {}, "failure", "Alice is talking"),
]


def _schedule() -> list[tuple[str, dict[str, Any], str, str]]:
    quick = [QUICK[i % len(QUICK)] for i in range(TICKETS - len(SLOW))]
    return [*quick[:20], SLOW[0], *quick[20:40], SLOW[1], *quick[40:]]


def _children() -> list[int]:
    me = os.getpid()
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1]) == me:
                    out.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return sorted(out)


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


async def test_fifty_tickets_in_a_row(jira_url: str, tmp_path: Path) -> None:
    schedule = _schedule()
    assert len(schedule) == TICKETS
    faults = 0
    wrong: list[str] = []
    rss: dict[int, float] = {}
    started = time.monotonic()
    async with simulator_process(devices=4, apps_dir=APPS, seed=11, error_rate=0.05) as sim:
        children_before, fds_before = _children(), _fds()
        for number, (key, settings, expected, phrase) in enumerate(schedule, start=1):
            await sim.reset()
            ctx = load_context(
                jira_mcp_url=jira_url,
                mobile_mcp_url=sim.url,
                report_root=tmp_path / "runs",
                step_backoff_base_s=0.05,
                step_default_attempts=4,
                **settings,
            )
            outcome = await run_ticket(ctx, key)
            verdict = outcome.verdict
            if verdict.result != expected or phrase not in verdict.justification:
                wrong.append(f"#{number} {key}: {verdict.result} ({expected} expected): {verdict.justification[:300]}")
            faults += sum(1 for a in await sim.actions() if not a["ok"] and "transient" in (a["error"] or ""))
            if number in (10, TICKETS):
                gc.collect()
                rss[number] = _rss_mb()
        children_after, fds_after = _children(), _fds()
    elapsed = time.monotonic() - started

    assert wrong == [], "\n".join(wrong)
    assert faults >= 5, f"error_rate=0.05 should have injected faults, saw {faults}"
    assert children_after == children_before, "child processes leaked"
    assert fds_after <= fds_before, f"file descriptors leaked: {fds_before} before, {fds_after} after"
    assert rss[TICKETS] - rss[10] < RSS_GROWTH_LIMIT_MB, f"RSS grew from {rss[10]:.0f} MB to {rss[TICKETS]:.0f} MB"
    assert elapsed < 180, f"the soak took {elapsed:.0f}s"
