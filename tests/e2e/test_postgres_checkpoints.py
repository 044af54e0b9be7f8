"""Checkpoints in Postgres (QA_CHECKPOINT_DSN): a run paused in one process is finished by another."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from graph.context import load_context
from qa_agent.runner import list_runs, resume_run, run_ticket
from tests.conftest import APPS

pytestmark = pytest.mark.slow


async def test_paused_run_is_resumed_from_postgres(postgres_dsn: str, jira_url: str, tmp_path: Path) -> None:
    from qa_agent.world.sim.process import simulator_process

    async with simulator_process(devices=2, apps_dir=APPS) as sim:
        overrides: dict[str, Any] = {
            "jira_mcp_url": jira_url, "mobile_mcp_url": sim.url, "report_root": tmp_path, "checkpoint_dsn": postgres_dsn
        }  # fmt: skip
        paused = await run_ticket(load_context(approve_plan=True, **overrides), "LOGIN-1")
        assert paused.waiting is not None
        assert not (tmp_path / "checkpoints.sqlite").exists()  # the state went to Postgres
        listed = await list_runs(load_context(**overrides))
        assert [(r.run_id, r.status) for r in listed] == [(paused.run_id, "waiting for approval")]
        # a fresh context and connection, as another process would have
        done = await resume_run(load_context(approve_plan=True, **overrides), paused.run_id, decision="approve")
    assert done.verdict.result == "success", done.verdict.justification
    assert [r.status for r in await list_runs(load_context(**overrides))] == ["success"]


async def test_one_process_per_run_also_with_postgres(postgres_dsn: str, tmp_path: Path) -> None:
    """The run lock lives in the checkpoint store: a second holder (another connection, as another
    process would have) is refused while the first holds the run, and gets it once released."""
    from qa_agent.run_lock import RunBusy, run_lock
    from qa_agent.runner import durable_graph

    ctx = load_context(report_root=tmp_path, checkpoint_dsn=postgres_dsn)
    async with durable_graph(ctx) as first, durable_graph(ctx) as second:
        async with run_lock(first.checkpointer, "R-1"):
            with pytest.raises(RunBusy, match="run R-1 is already running"):
                async with run_lock(second.checkpointer, "R-1"):
                    pass
            async with run_lock(second.checkpointer, "R-2"):  # other runs are free
                pass
        async with run_lock(second.checkpointer, "R-1"):
            pass
