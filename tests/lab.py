"""What the device-lab tests read back: the runs' reports, and the simulators' action logs."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import psycopg

from qa_agent.devices.logcapture import LOG_READ_TOOLS


def runs_in(report_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(report_dir.glob("**/report.json"))]


def no_device_driven_twice(host: str, actions: list[dict[str, Any]], *, used: bool = True) -> None:
    """From a simulator's action log: on no device did two calls overlap (and the host was used).
    A run's device log stream only reads, beside its own lane: it is not driving."""
    per_device: dict[str, list[tuple[float, float]]] = {}
    for action in actions:
        if action["device"] and action["tool"] not in LOG_READ_TOOLS:
            per_device.setdefault(action["device"], []).append((action["start"], action["end"] or action["start"]))
    assert per_device or not used, f"{host} was never used"
    for device, calls in per_device.items():
        for (_s1, e1), (s2, _e2) in itertools.pairwise(sorted(calls)):
            assert e1 <= s2, f"{host}/{device}: two calls at once"


def junit_verdicts(suite: Path) -> dict[str, str]:
    """Ticket key -> verdict, as a batch's junit.xml tells them."""
    verdicts = {}
    for case in ET.parse(suite).getroot().findall(".//testcase"):
        key = case.find("properties/property[@name='test_key']")
        assert key is not None
        failed, error = case.find("failure") is not None, case.find("error") is not None
        verdicts[str(key.get("value"))] = "failure" if failed else "blocked" if error else "success"
    return verdicts


async def queued(dsn: str, run_id: str, polls: int = 1) -> None:
    """Wait until a run (`run_id`, or a ticket key: a batch's run of it, `batch-...-KEY`) waits in the
    shared leases' queue and has polled `polls` times since (each poll renews its row)."""
    seen: list[object] = []
    async with asyncio.timeout(60):
        while len(seen) < polls:
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                with contextlib.suppress(psycopg.errors.UndefinedTable):
                    rows = await (await conn.execute("SELECT run_id, expires FROM qa_lease_waiters")).fetchall()
                    seen += [e for r, e in rows if (r == run_id or r.endswith(f"-{run_id}")) and e not in seen]
            await asyncio.sleep(0.05)
