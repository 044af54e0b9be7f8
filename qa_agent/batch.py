"""Many tickets at once over a pool of devices: leases, one junit.xml, a summary."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph.context import Context
from graph.state import WorldIdentity
from qa_agent.devices.leases import DeviceLeaser, forget_leaser, register_leaser
from qa_agent.devices.listing import HostDown, discover_lab
from qa_agent.devices.pool import close_pool, pool_for
from qa_agent.jira_client import JiraError, call_jira, jira_session
from qa_agent.keys import is_key
from qa_agent.reports.batch_index import render_batch_index
from qa_agent.reports.junit import render_junit_suite
from qa_agent.reports.paths import atomic_write, inside
from qa_agent.reports.writer import build_report
from qa_agent.runner import EXIT_CODES, ProgressFn, RunOutcome, drive, durable_graph
from qa_agent.verdicts import blocked


@dataclass
class BatchOutcome:
    batch_id: str
    outcomes: list[RunOutcome]
    folder: Path
    devices: list[str]

    @property
    def exit_code(self) -> int:
        results = {o.verdict.result for o in self.outcomes}
        if "failure" in results:
            return EXIT_CODES["failure"]
        return EXIT_CODES["blocked"] if "blocked" in results else EXIT_CODES["success"]


async def keys_for_jql(ctx: Context, jql: str, limit: int = 100) -> list[str]:
    """Keys as Jira returned them: a bad one is not dropped here, its run ends blocked naming it."""
    keys: list[str] = []
    async with jira_session(ctx) as session:
        while len(keys) < limit:
            page = json.loads(
                await call_jira(
                    session, "jira_search", {"jql": jql, "limit": min(50, limit - len(keys)), "start_at": len(keys)}
                )
            )
            issues = page.get("issues") or []
            keys += [str(i["key"]) for i in issues if i.get("key")]
            if not issues or len(keys) >= int(page.get("total", 0)):
                break
    return keys


async def _world(ctx: Context, batch_id: str) -> WorldIdentity:
    """The pool's devices (every host's, for a lab) and, when known, who is signed in on each."""
    pool = pool_for(batch_id, ctx)
    try:
        try:
            devices = (await discover_lab(pool)).devices
        except HostDown:
            devices = []  # each run then ends blocked saying why
        return await pool.world(devices)
    finally:
        await close_pool(batch_id)


class _Progress:
    """`batch_progress` events: tickets done, running, waiting for devices, not started yet."""

    def __init__(self, total: int, leaser: DeviceLeaser | None, on_event: ProgressFn | None) -> None:
        self.total, self.leaser, self.on_event = total, leaser, on_event
        self.running: set[str] = set()
        self.finished = 0
        self.last: tuple[int, ...] = ()

    def started(self, run_id: str) -> None:
        self.running.add(run_id)
        self.changed()

    def done(self, key: str, outcome: RunOutcome) -> None:
        self.running.discard(outcome.run_id)
        self.finished += 1
        if self.on_event is not None:
            self.on_event(
                {"event": "batch_ticket_done", "ticket_key": key, "run_id": outcome.run_id,
                 "verdict": outcome.verdict.result, "report_dir": outcome.report_dir}
            )  # fmt: skip
        self.changed()

    def changed(self) -> None:
        # leases in PostgreSQL (a DSN) wait in the database: this process cannot count them
        waiting = len(self.running & set(self.leaser.waiting)) if self.leaser is not None else 0
        counts = (self.finished, len(self.running) - waiting, waiting, self.total - self.finished - len(self.running))
        if self.on_event is None or counts == self.last:
            return
        self.last = counts
        done, running, waiting, queued = counts
        self.on_event(
            {"event": "batch_progress", "total": self.total, "done": done, "running": running,
             "waiting_for_devices": waiting, "not_started": queued}
        )  # fmt: skip


async def run_batch(
    ctx: Context, keys: list[str], *, concurrency: int | None = None, on_event: ProgressFn | None = None
) -> BatchOutcome:
    batch_id = f"batch-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
    folder = inside(ctx.report_root, batch_id)
    async with AsyncExitStack() as stack:
        if not (ctx.mobile_mcp_command or ctx.mobile_mcp_url or ctx.mobile_mcp_urls or ctx.lab_file):
            from qa_agent.world.sim.process import simulator_process

            sim = await stack.enter_async_context(
                simulator_process(devices=ctx.sim_devices, apps_dir=ctx.sim_apps_dir, extra_args=list(ctx.sim_args))
            )
            ctx = ctx.model_copy(update={"mobile_mcp_url": sim.url})
        world = await _world(ctx, batch_id)
        devices = world.devices
        leaser: DeviceLeaser | None = None
        if ctx.checkpoint_dsn is None:  # with a DSN, runs lease in PostgreSQL, shared with other agents
            leaser = DeviceLeaser(devices, world.accounts, world.hosts, world.hosts_apart)
            register_leaser(batch_id, leaser)
            stack.callback(forget_leaser, batch_id)
            ctx = ctx.model_copy(update={"device_pool": batch_id})
        graph = await stack.enter_async_context(durable_graph(ctx))
        # Leases already cap device use; the run limit only bounds open sessions and memory, and
        # should not make tickets that need no device (blocked early) queue behind the others.
        limit = asyncio.Semaphore(max(1, concurrency or 2 * len(devices) or 1))
        progress = _Progress(len(keys), leaser, on_event)
        if leaser is not None:
            leaser.on_change = progress.changed

        async def one(key: str, index: int) -> RunOutcome:
            # The key names the run folder only once it is known to be a key; fetch_ticket blocks a bad one.
            run_id = f"{batch_id}-{index:03d}" + (f"-{key}" if is_key(key) else "")
            async with limit:
                progress.started(run_id)
                try:
                    outcome = await drive(graph, {"ticket_key": key}, ctx, run_id, on_event)
                except Exception as exc:  # one broken run must not lose the others' verdicts
                    outcome = RunOutcome(run_id, blocked(f"the run crashed: {exc!r}"), None, {"ticket_key": key})
                progress.done(key, outcome)
                return outcome

        outcomes = list(await asyncio.gather(*(one(k, i) for i, k in enumerate(keys, start=1))))
    await asyncio.to_thread(write_batch_reports, folder, batch_id, outcomes)
    return BatchOutcome(batch_id, outcomes, folder, devices)


def write_batch_reports(folder: Path, batch_id: str, outcomes: list[RunOutcome]) -> None:
    """junit.xml for CI and index.html for people, from each run's report.json."""
    runs: list[tuple[dict[str, Any], Path]] = []
    for o in outcomes:
        report = Path(o.report_dir or "") / "report.json"
        data: dict[str, Any] = (
            json.loads(report.read_text(encoding="utf-8"))
            if o.report_dir and report.is_file()
            else build_report(o.state)
            | {"ticket_key": o.state.get("ticket_key", ""), "verdict": o.verdict.model_dump()}
        )  # no report of its own: a crashed run, or a run on a LangGraph server
        runs.append((data, Path(o.report_dir or folder)))
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "junit.xml", render_junit_suite(batch_id, runs))
    atomic_write(folder / "index.html", render_batch_index(batch_id, runs, folder))


__all__ = ["BatchOutcome", "JiraError", "keys_for_jql", "run_batch", "write_batch_reports"]
