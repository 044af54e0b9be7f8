"""Batch runs that could see each other's app state do not overlap: a run never passes or fails on
another run's banner. Before, same-app tickets ran at once on disjoint phones of one world."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from pathlib import Path

import pytest

from graph.context import load_context
from qa_agent.batch import BatchOutcome, run_batch
from qa_agent.runner import RunOutcome
from tests.conftest import APPS, TICKETS

pytestmark = pytest.mark.slow


def _copy(folder: Path, source: str, key: str, extra_line: str = "") -> None:
    """A copy of an example ticket that any two phones can run (no roles, no name in the banner)."""
    text = (TICKETS / f"{source}.yaml").read_text().replace(f"key: {source}", f"key: {key}")
    text = "".join(line for line in text.splitlines(keepends=True) if not line.strip().startswith(("user1:", "user2:")))
    text = re.sub(r'(sees?|see) "Alice is talking"', r'\1 text containing "is talking"', text)
    if extra_line:
        text = text.replace("      Feature:", f"      {extra_line}\n      Feature:", 1)
    (folder / f"{key}.yaml").write_text(text)


def _window(outcome: RunOutcome) -> tuple[float, float]:
    results = outcome.state.get("results") or []
    return min(r.started_at for r in results), max(r.ended_at for r in results)


def _assert_apart(outcomes: Iterable[RunOutcome]) -> None:
    for a, b in itertools.combinations(sorted(outcomes, key=lambda o: _window(o)[0]), 2):
        assert _window(a)[1] <= _window(b)[0], f"{a.run_id} and {b.run_id} ran at the same time"


async def _batch(tmp_path: Path, keys: list[str], concurrency: int, **overrides: object) -> BatchOutcome:
    from qa_agent.world.jira_server.process import jira_server_process
    from qa_agent.world.sim.process import simulator_process

    async with simulator_process(devices=8, apps_dir=APPS) as sim, jira_server_process(tmp_path / "t") as jira:
        ctx = load_context(jira_mcp_url=jira.url, mobile_mcp_url=sim.url, report_root=tmp_path / "runs", **overrides)
        return await run_batch(ctx, keys, concurrency=concurrency)


async def test_same_app_tickets_at_concurrency_4_each_get_their_true_verdict(tmp_path: Path) -> None:
    (tmp_path / "t").mkdir()
    for key, source in (("PA-1", "PTT-1"), ("PA-2", "PTT-1"), ("PB-1", "PTT-2"), ("PB-2", "PTT-2")):
        _copy(tmp_path / "t", source, key)
    batch = await _batch(tmp_path, ["PA-1", "PB-1", "PA-2", "PB-2"], 4)
    verdicts = {o.state["ticket_key"]: o.verdict.result for o in batch.outcomes}
    why = {o.state["ticket_key"]: o.verdict.justification for o in batch.outcomes}
    assert verdicts == {"PA-1": "success", "PA-2": "success", "PB-1": "failure", "PB-2": "failure"}, why
    by_key = {o.state["ticket_key"]: o for o in batch.outcomes}
    _assert_apart([by_key["PA-1"], by_key["PA-2"]])  # same package, one world: one after the other
    _assert_apart([by_key["PB-1"], by_key["PB-2"]])


async def test_a_declared_resource_is_not_shared_at_once(tmp_path: Path) -> None:
    """QA_BATCH_ISOLATION=resource: only what tickets declare (here a shared test account) is exclusive."""
    (tmp_path / "t").mkdir()
    _copy(tmp_path / "t", "LOGIN-1", "LA-1", "@resource:acme-alice-account")
    _copy(tmp_path / "t", "LOGIN-1", "LA-2", "@resource:acme-alice-account")
    batch = await _batch(tmp_path, ["LA-1", "LA-2"], 2, batch_isolation="resource")
    assert [o.verdict.result for o in batch.outcomes] == ["success", "success"]
    _assert_apart(batch.outcomes)
