"""Ticket keys cannot escape the report folder: the CLI, the graph's entry and batch refuse anything but a key."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.context import load_context
from qa_agent.cli import USAGE_ERROR, main
from qa_agent.runner import run_ticket
from tests.conftest import APPS, TICKETS

UNREACHABLE_JIRA = "http://127.0.0.1:9/mcp"  # any Jira call would fail with "unreachable", not a key error


def _outside(tmp_path: Path, root: Path) -> list[Path]:
    return [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_relative_to(root)]


@pytest.mark.parametrize("key", ["../../escaped-1", "ABS", "PTT-1/../../../escaped", "ptt-1"])
def test_cli_refuses_a_key_that_is_not_a_jira_key(key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "a" / "b" / "runs"
    if key == "ABS":
        key = str(tmp_path / "abs" / "PTT-1")
    code = main(["run", key, "--report-dir", str(root), "--quiet"])
    out = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert code == USAGE_ERROR, out
    assert "is not a Jira issue key" in out
    if key == "ptt-1":
        assert "did you mean PTT-1?" in out
    assert _outside(tmp_path, root) == []


async def test_graph_entry_blocks_a_bad_key_before_any_jira_call(tmp_path: Path) -> None:
    root = tmp_path / "a" / "b" / "runs"
    ctx = load_context(report_root=root, jira_mcp_url=UNREACHABLE_JIRA)
    outcome = await run_ticket(ctx, "../../escaped-2")
    assert outcome.verdict.result == "blocked"
    assert "'../../escaped-2' is not a Jira issue key" in outcome.verdict.justification
    assert outcome.report_dir and Path(outcome.report_dir).resolve().is_relative_to(root.resolve())
    assert (Path(outcome.report_dir) / "report.json").is_file()
    assert _outside(tmp_path, root) == []


@pytest.mark.slow
async def test_batch_blocks_only_the_run_of_a_bad_key(tmp_path: Path) -> None:
    """Keys from a JQL search are Jira's answer, hostile like any other: a bad one blocks its own run."""
    from qa_agent.batch import run_batch
    from qa_agent.world.jira_server.process import jira_server_process
    from qa_agent.world.sim.process import simulator_process

    root = tmp_path / "a" / "b" / "runs"
    async with simulator_process(devices=2, apps_dir=APPS) as sim, jira_server_process(TICKETS) as jira:
        ctx = load_context(jira_mcp_url=jira.url, mobile_mcp_url=sim.url, report_root=root)
        batch = await run_batch(ctx, ["../../escaped-3", "LOGIN-1"])
    bad, good = batch.outcomes
    assert bad.verdict.result == "blocked" and "is not a Jira issue key" in bad.verdict.justification
    assert good.verdict.result == "success", good.verdict.justification
    assert (batch.folder / "junit.xml").is_file()
    assert _outside(tmp_path, root) == []
