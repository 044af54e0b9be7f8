"""Run one ticket through the graph with a checkpointer, live progress and clean teardown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from graph.builder import build_graph
from graph.context import Context
from graph.state import Verdict
from nodes.fetch_ticket import new_run_id
from qa_agent.resources import run_resources
from qa_agent.verdicts import blocked

EXIT_CODES = {"success": 0, "failure": 1, "blocked": 2}
ProgressFn = Callable[[dict[str, Any]], None]


@dataclass
class RunOutcome:
    run_id: str
    verdict: Verdict
    report_dir: str | None
    state: dict[str, Any]

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict.result]


def checkpoint_path(ctx: Context) -> Path:
    return Path(ctx.report_root) / "checkpoints.sqlite"


async def run_ticket(
    ctx: Context, key: str, *, on_event: ProgressFn | None = None, thread_id: str | None = None
) -> RunOutcome:
    """The CLI's way to run: durable (SQLite checkpoints, durability=sync) and resumable by thread id."""
    run_id = thread_id or new_run_id(key)
    path = checkpoint_path(ctx)
    path.parent.mkdir(parents=True, exist_ok=True)
    config: RunnableConfig = {"configurable": {"thread_id": run_id}, "recursion_limit": 500}
    final: dict[str, Any] = {}
    async with AsyncSqliteSaver.from_conn_string(str(path)) as saver, run_resources(run_id):
        graph = build_graph(checkpointer=saver)
        async for item in graph.astream(
            {"ticket_key": key, "run_id": run_id},
            config,
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
    verdict = final.get("verdict") or blocked("the run ended without a verdict")
    return RunOutcome(run_id, verdict, final.get("report_dir"), final)
