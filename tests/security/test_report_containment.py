"""Every file the agent writes resolves inside its report folder, whatever names a run id or a plan brings."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from graph.builder import graph
from graph.context import load_context
from qa_agent.reports.paths import OutsideReportFolder, inside
from qa_agent.runner import run_ticket
from qa_agent.world.scripted_llm import ScriptedLLMServer
from qa_agent.world.sim.process import simulator_process
from tests.conftest import APPS
from tests.llm_scripts import PTT4_SUMMARY, jira_agent_rules


def _outside(tmp_path: Path, root: Path) -> list[Path]:
    return [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_relative_to(root)]


def test_inside_refuses_traversal_absolute_paths_and_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    (root / "run-1").mkdir(parents=True)
    (root / "link").symlink_to(tmp_path)
    assert inside(root, "run-1", "report.json") == root / "run-1" / "report.json"
    for parts in (("../x",), ("run-1", "../../x"), (str(tmp_path / "x"),), ("link", "x"), ("",), (".",)):
        with pytest.raises(OutsideReportFolder, match="not inside"):
            inside(root, *parts)


async def test_run_id_from_the_input_cannot_move_the_report(tmp_path: Path) -> None:
    """The LangGraph server passes the input through: a run id is a name, not a path."""
    root = tmp_path / "a" / "b" / "runs"
    ctx = load_context(report_root=root, jira_mcp_url="http://127.0.0.1:9/mcp")
    result = await graph.ainvoke({"ticket_key": "PTT-1", "run_id": "../../escaped"}, context=ctx)
    assert _outside(tmp_path, root) == []
    assert result["verdict"].result == "blocked"
    report = Path(result["report_dir"])  # the input's run id is ignored: the agent names the run
    assert "escaped" not in report.name
    assert report.resolve().parent == root.resolve() and (report / "report.json").is_file()


@pytest.mark.slow
async def test_step_id_from_an_llm_plan_cannot_name_an_evidence_file_outside(jira_url: str, tmp_path: Path) -> None:
    root = tmp_path / "a" / "b" / "runs"
    hostile = "/" + "../" * 6 + "escaped"  # evidence is runs/<run>/evidence/a<attempt>-<step id>-d<driver>.png
    plan = {
        "steps": [
            {"id": "S1", "driver": 1, "action": "launch_app", "args": {}},
            {"id": hostile, "driver": 1, "action": "assert_visible",
             "args": {"text": "Never on screen", "timeout_s": 1}, "covers": [0, 1]},
        ]
    }  # fmt: skip
    rules: list[dict[str, Any]] = [
        *jira_agent_rules("PTT-4", PTT4_SUMMARY),
        {"schema_name": "PlannedTest", "content": plan, "repeat": True},
    ]
    async with simulator_process(devices=2, apps_dir=APPS) as sim, ScriptedLLMServer(rules, api_key="k") as llm:
        ctx = load_context(
            report_root=root, jira_mcp_url=jira_url, mobile_mcp_url=sim.url,
            llm_base_url=llm.base_url, llm_api_key="k", llm_max_retries=0,
        )  # fmt: skip
        outcome = await asyncio.wait_for(run_ticket(ctx, "PTT-4"), 120)
    assert _outside(tmp_path, root) == []
    assert outcome.verdict.result == "blocked"
    assert "a step id is 1-40 letters" in outcome.verdict.justification


def test_a_link_planted_where_a_temporary_file_would_go_is_not_followed(tmp_path: Path) -> None:
    """The old writers wrote `report.json.tmp` then renamed it: a symlink there sent the text outside."""
    from qa_agent.reports.paths import atomic_write
    from qa_agent.reports.writer import write_reports

    folder = tmp_path / "runs" / "PTT-1-x"
    folder.mkdir(parents=True)
    outside = tmp_path / "outside.txt"
    for name in ("report.json", "junit.xml", "report.html"):
        (folder / f"{name}.tmp").symlink_to(outside)
    write_reports(folder, {"ticket_key": "PTT-1", "run_id": "PTT-1-x"}, [])
    atomic_write(folder / "evidence" / "a0-S1-d1.png", b"png")
    assert not outside.exists()
    assert json.loads((folder / "report.json").read_text())["ticket_key"] == "PTT-1"
    assert (folder / "evidence" / "a0-S1-d1.png").read_bytes() == b"png"


def test_a_fifo_planted_in_the_evidence_folder_does_not_hang_the_report(tmp_path: Path) -> None:
    """The report syncs the evidence folder's files: opening a FIFO there for reading waited for a writer forever."""
    import os
    import threading

    from qa_agent.reports.writer import write_reports

    folder = tmp_path / "runs" / "PTT-1-x"
    (folder / "evidence").mkdir(parents=True)
    fifo = folder / "evidence" / "a0-S1-d1.png"
    os.mkfifo(fifo)
    done = threading.Event()

    def write() -> None:
        write_reports(folder, {"ticket_key": "PTT-1", "run_id": "PTT-1-x"}, [])
        done.set()

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    finished = done.wait(60)
    if not finished:  # release the stuck open() so the thread ends
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        writer.join(10)
    assert finished
    assert json.loads((folder / "report.json").read_text())["ticket_key"] == "PTT-1"
