"""Run, resume and list tickets through the graph with a checkpointer, live progress and clean teardown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import aiosqlite
import psycopg
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from graph.builder import build_graph
from graph.context import Context
from graph.state import STATE_MODELS, InputState, Verdict
from nodes.fetch_ticket import new_run_id
from qa_agent.resources import run_resources
from qa_agent.run_lock import CREATE_LOCK_TABLE, RunBusy, run_lock, running_runs
from qa_agent.verdicts import blocked

EXIT_CODES = {"success": 0, "failure": 1, "blocked": 2}
WAITING_EXIT_CODE = 4  # paused for a plan decision (APPROVE_PLAN)
ProgressFn = Callable[[dict[str, Any]], None]


@dataclass
class RunOutcome:
    run_id: str
    verdict: Verdict
    report_dir: str | None
    state: dict[str, Any]
    waiting: dict[str, Any] | None = None  # the interrupt payload while a plan awaits a decision
    finished_before: bool = False  # resume/approve found the run already over: nothing was run

    @property
    def exit_code(self) -> int:
        return WAITING_EXIT_CODE if self.waiting is not None else EXIT_CODES[self.verdict.result]


@dataclass
class RunInfo:
    run_id: str
    ticket_key: str
    status: str
    updated: str
    next_nodes: tuple[str, ...]


def checkpoint_path(ctx: Context) -> Path:
    return Path(ctx.report_root) / "checkpoints.sqlite"


def serializer() -> JsonPlusSerializer:
    """Checkpoints may only bring back our own state models (and LangChain's messages)."""
    allowed = [("graph.state", model.__name__) for model in STATE_MODELS]
    return JsonPlusSerializer(allowed_msgpack_modules=allowed)


SETUP_LOCK = 0x5141_5345  # the advisory lock around creating the tables in PostgreSQL ("QASE")


@asynccontextmanager
async def durable_graph(ctx: Context) -> AsyncIterator[CompiledStateGraph[Any, Any, Any, Any]]:
    """The graph with a checkpointer: Postgres when QA_CHECKPOINT_DSN is set, else SQLite."""
    if ctx.checkpoint_dsn is not None:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg import AsyncConnection
        from psycopg.rows import dict_row

        async with await AsyncConnection.connect(
            ctx.checkpoint_dsn.get_secret_value(), autocommit=True, prepare_threshold=0, row_factory=dict_row
        ) as conn:
            saver = AsyncPostgresSaver(conn, serde=serializer())
            # Agents that start together on a fresh database would race to create the same tables.
            # Polled, not waited for: a waiting statement is an open transaction, which the
            # migrations' CREATE INDEX CONCURRENTLY of the lock holder would wait for (a deadlock).
            while True:
                row = await (await conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (SETUP_LOCK,))).fetchone()
                if row and row["ok"]:
                    break
                await asyncio.sleep(0.2)
            try:
                await saver.setup()
                await conn.execute(CREATE_LOCK_TABLE)
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK,))
            yield build_graph(checkpointer=saver)
        return
    path = checkpoint_path(ctx)
    path.parent.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(str(path)) as conn:
        yield build_graph(checkpointer=AsyncSqliteSaver(conn, serde=serializer()))


def _config(run_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": run_id}, "recursion_limit": 1000}


async def drive(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    payload: InputState | Command[Any] | None,
    ctx: Context,
    run_id: str,
    on_event: ProgressFn | None,
    start: dict[str, Any] | None = None,
) -> RunOutcome:
    """Stream the run (durability=sync: every superstep is saved before the next starts).

    Holds the run's lock (one process per run) for the whole stream; RunBusy if another has it.
    `start` is sent to on_event once the lock is held; `checkpointed` once a new run can be resumed.
    """
    final: dict[str, Any] = {}
    announced = start is None or start["event"] != "run_start"  # only a new CLI run announces itself
    try:
        async with run_lock(graph.checkpointer, run_id), run_resources(run_id):
            if on_event is not None and start is not None:
                on_event(start)
            async for item in graph.astream(
                payload,
                _config(run_id),
                context=ctx,
                stream_mode=["custom", "values"],
                subgraphs=True,
                durability="sync",
            ):
                namespace, mode, chunk = cast(tuple[tuple[str, ...], str, Any], item)
                if mode == "custom" and on_event is not None:
                    on_event(chunk)
                elif mode == "values" and not namespace:
                    final = dict(chunk)
                    if not announced and on_event is not None:
                        on_event({"event": "checkpointed", "run_id": run_id})
                    announced = True
    except psycopg.OperationalError as exc:
        # The Postgres checkpoint store went away: no step can be recorded, so the run stops (its devices
        # are given back, or their leases expire); the last recorded superstep stays resumable.
        why = f"the checkpoint database is unreachable ({exc}); the run stopped: once it is back, qa-agent resume"
        return RunOutcome(run_id, blocked(f"{why} {run_id}"), None, final)
    snapshot = await graph.aget_state(_config(run_id))
    if snapshot.interrupts:
        waiting = dict(snapshot.interrupts[0].value)
        pending = blocked("waiting for a decision on the plan (APPROVE_PLAN)")
        return RunOutcome(run_id, pending, None, dict(snapshot.values), waiting)
    verdict = final.get("verdict") or blocked("the run ended without a verdict")
    return RunOutcome(run_id, verdict, final.get("report_dir"), final)


async def run_ticket(
    ctx: Context, key: str, *, on_event: ProgressFn | None = None, thread_id: str | None = None
) -> RunOutcome:
    """The CLI's way to run: durable (SQLite checkpoints) and resumable by its run id."""
    run_id = thread_id or new_run_id(key)
    start = {"event": "run_start", "run_id": run_id, "ticket_key": key}
    async with durable_graph(ctx) as graph:
        return await drive(graph, {"ticket_key": key}, ctx, run_id, on_event, start)


class UnknownRun(LookupError):
    pass


__all__ = ["RunBusy", "UnknownRun", "drive", "durable_graph", "list_runs", "resume_run", "run_ticket"]


async def resume_run(
    ctx: Context, run_id: str, *, on_event: ProgressFn | None = None, decision: Any = None
) -> RunOutcome:
    """Continue an interrupted run from its last checkpoint; finished steps are not run again.

    `decision` answers a plan waiting for approval (see nodes/approve_plan.py).
    """
    async with durable_graph(ctx) as graph:
        snapshot = await graph.aget_state(_config(run_id))
        if not snapshot.values:
            raise UnknownRun(f"no run {run_id!r} in {checkpoint_path(ctx)}")
        if not snapshot.next:
            values = dict(snapshot.values)
            verdict = values.get("verdict") or blocked("the run ended without a verdict")
            return RunOutcome(run_id, verdict, values.get("report_dir"), values, finished_before=True)
        if snapshot.interrupts and decision is None:
            return RunOutcome(
                run_id, blocked("waiting for a decision on the plan"), None, dict(snapshot.values),
                dict(snapshot.interrupts[0].value),
            )  # fmt: skip
        start = {"event": "run_resume", "run_id": run_id, "next": list(snapshot.next)}
        payload: Command[Any] | None = Command(resume=decision) if snapshot.interrupts else None
        return await drive(graph, payload, ctx, run_id, on_event, start)


async def list_runs(ctx: Context, limit: int = 20) -> list[RunInfo]:
    if ctx.checkpoint_dsn is None and not checkpoint_path(ctx).is_file():
        return []
    latest: dict[str, str] = {}
    async with durable_graph(ctx) as graph:
        saver = graph.checkpointer
        assert isinstance(saver, BaseCheckpointSaver)
        # Collect first: the saver holds its connection while it iterates.
        async for item in saver.alist(None):
            config = item.config["configurable"]
            if not config.get("checkpoint_ns"):
                latest.setdefault(config["thread_id"], str(item.checkpoint.get("ts", "")))
        running = await running_runs(saver)
        runs: list[RunInfo] = []
        for thread_id, updated in sorted(latest.items(), key=lambda kv: kv[1], reverse=True)[:limit]:
            snapshot = await graph.aget_state({"configurable": {"thread_id": thread_id}})
            values = snapshot.values or {}
            verdict = values.get("verdict")
            if thread_id in running:
                status = "running"
            elif not snapshot.next:
                status = verdict.result if verdict is not None else "interrupted"
            else:
                status = "waiting for approval" if snapshot.interrupts else "interrupted"
            runs.append(RunInfo(thread_id, str(values.get("ticket_key", "")), status, updated, tuple(snapshot.next)))
    return runs
