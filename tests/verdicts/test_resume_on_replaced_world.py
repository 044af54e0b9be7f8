"""Kill-and-resume on the embedded world: the simulator dies with the agent, so the resumed run
must restart the interrupted attempt on the new world (cold starts) and still reach the ticket's
true verdict, never an app defect made of state lost to the crash. One process per run."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_resume import _read_until

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "qa_agent.cli"]


def _env(jira_url: str, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "JIRA_MCP_URL": jira_url, "QA_REPORT_DIR": str(tmp_path / "runs"), "COLUMNS": "200"}


async def _start(key: str, env: dict[str, str], cwd: Path) -> tuple[asyncio.subprocess.Process, str, list[str]]:
    proc = await asyncio.create_subprocess_exec(*CLI, "run", key, env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    seen: list[str] = []
    run_id = (await _read_until(proc.stdout, r"^run (\S+) ", seen, 60)).group(1)
    return proc, run_id, seen


@pytest.mark.parametrize(
    ("key", "kill_at", "expected"),
    [
        ("PTT-1", r"▶ S5 long_press_text", "success"),  # during the hold
        ("PTT-2", r"▶ S5 long_press_text", "failure"),  # the seeded defect survives a restart
        ("PTT-1", r"sync point 2/4", "success"),  # between segments
        ("CALL-1", r"sync point 1/", "success"),  # after the launches, three devices
    ],
)
async def test_resume_restarts_the_attempt_on_a_new_world(
    jira_url: str, tmp_path: Path, key: str, kill_at: str, expected: str
) -> None:
    env = _env(jira_url, tmp_path)
    proc, run_id, seen = await _start(key, env, tmp_path)
    assert proc.stdout is not None
    await _read_until(proc.stdout, kill_at, seen, 90)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    assert any("resume with: qa-agent resume" in line for line in seen)

    resumed = await asyncio.create_subprocess_exec(
        *CLI, "resume", run_id, env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE
    )
    out = (await asyncio.wait_for(resumed.communicate(), 180))[0].decode()
    report: dict[str, Any] = json.loads((tmp_path / "runs" / run_id / "report.json").read_text())
    assert report["verdict"]["result"] == expected, out
    assert resumed.returncode == {"success": 0, "failure": 1}[expected], out
    restarted = [h for h in report["history"] if h["verdict"]["failure_class"] == "interrupted"]
    assert len(restarted) == 1, report["history"]
    assert "attempt 2: restarted on resume, the device world was replaced" in restarted[0]["verdict"]["justification"]
    final = report["history"][-1]
    assert final["attempt"] == 1 and all(r["attempt"] == 1 for r in report["results"])
    cold = [s for s in final["plan"]["steps"] if s["action"] == "launch_app" and s["args"].get("cold_start")]
    assert len(cold) == final["plan"]["drivers_needed"]
    assert "restarted on resume" in (tmp_path / "runs" / run_id / "report.html").read_text()


async def test_a_replaced_world_that_signs_other_users_in_blocks_the_restart(jira_url: str, tmp_path: Path) -> None:
    """user1 must be Alice: the devices were picked on the old world, and on the new one the device
    user1 had is signed in as Bob, so the restarted attempt would act as the wrong users."""
    env = _env(jira_url, tmp_path)
    proc, run_id, seen = await _start("PTT-1", env, tmp_path)
    assert proc.stdout is not None
    await _read_until(proc.stdout, r"▶ S5 long_press_text", seen, 90)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    swapped = env | {"DEVICE_ACCOUNTS": "emulator-5554=Bob,emulator-5556=Alice"}
    resumed = await asyncio.create_subprocess_exec(
        *CLI, "resume", run_id, env=swapped, cwd=tmp_path, stdout=asyncio.subprocess.PIPE
    )
    out = (await asyncio.wait_for(resumed.communicate(), 180))[0].decode()
    report: dict[str, Any] = json.loads((tmp_path / "runs" / run_id / "report.json").read_text())
    assert report["verdict"]["result"] == "blocked", out
    assert resumed.returncode == 2, out
    assert "user1 must be Alice, but emulator-5554 is signed in as Bob now" in report["verdict"]["justification"]


async def test_a_second_resume_of_a_running_run_is_refused(jira_url: str, tmp_path: Path) -> None:
    env = _env(jira_url, tmp_path)
    proc, run_id, seen = await _start("PTT-1", env, tmp_path)
    assert proc.stdout is not None
    await _read_until(proc.stdout, r"resume with: qa-agent resume", seen, 90)
    # Held still (alive, lock fresh) so the run cannot finish before the second process asks.
    proc.send_signal(signal.SIGSTOP)
    try:
        second = await asyncio.create_subprocess_exec(
            *CLI, "resume", run_id, env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE
        )
        out = (await asyncio.wait_for(second.communicate(), 60))[0].decode()
    finally:
        proc.send_signal(signal.SIGCONT)
    assert second.returncode == 3, out
    assert f"run {run_id} is already running" in " ".join(out.split())
    rest = (await asyncio.wait_for(proc.stdout.read(), 120)).decode()
    assert await proc.wait() == 0, "".join(seen) + rest  # the first process was left alone


async def test_resume_is_offered_only_once_there_is_a_checkpoint(jira_url: str, tmp_path: Path) -> None:
    import sqlite3

    from graph.context import load_context
    from qa_agent.runner import run_ticket

    ctx = load_context(jira_mcp_url=jira_url, report_root=tmp_path / "runs")
    saved_at_offer: list[int] = []

    def on_event(event: dict[str, Any]) -> None:
        if event["event"] == "checkpointed":
            with sqlite3.connect(tmp_path / "runs" / "checkpoints.sqlite") as db:
                query = "SELECT count(*) FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ''"
                saved_at_offer.append(db.execute(query, (event["run_id"],)).fetchone()[0])

    outcome = await run_ticket(ctx, "LOGIN-1", on_event=on_event)
    assert outcome.verdict.result == "success"
    assert len(saved_at_offer) == 1 and saved_at_offer[0] >= 1


async def test_a_world_that_outlived_the_agent_lets_a_resumed_lane_go_on(tmp_path: Path) -> None:
    """Only a world provably the same (same simulator world id) and no step in flight lets a lane
    of a resumed run continue; a reset world (new id) is a replaced one."""
    from graph.context import load_context
    from nodes.lane import LaneState, interrupted_because
    from qa_agent.devices.pool import close_pool, pool_for
    from qa_agent.devices.world import PROCESS_TOKEN
    from qa_agent.world.sim.process import simulator_process
    from tests.conftest import APPS

    devices = ["emulator-5554", "emulator-5556"]
    async with simulator_process(devices=2, apps_dir=APPS) as sim:
        ctx = load_context(mobile_mcp_url=sim.url, report_root=tmp_path)
        try:
            recorded = (await pool_for("before", ctx).world(devices)).model_copy(update={"process": "dead"})
            assert recorded.accounts == {"emulator-5554": "Alice", "emulator-5556": "Bob"}
            lane: LaneState = {
                "run_id": "R", "driver": 1, "device": devices[0], "package": None, "steps": [], "segment": 2,
                "attempt": 0, "world": recorded, "sent_by": PROCESS_TOKEN,
            }  # fmt: skip
            assert await interrupted_because(lane, pool_for("after", ctx)) is None
            in_flight: LaneState = {**lane, "sent_by": "dead"}
            assert await interrupted_because(in_flight, pool_for("after", ctx)) == (
                "a step was running when the agent stopped"
            )
            await sim.reset()
            assert await interrupted_because(lane, pool_for("after-reset", ctx)) == "the device world was replaced"
        finally:
            for run in ("before", "after", "after-reset"):
                await close_pool(run)


async def test_a_plan_approved_in_another_process_runs_on_that_process_world(jira_url: str, tmp_path: Path) -> None:
    """Approval is not a crash: no step had run, so the new process's world is simply the world, and
    later segments must not take it for a replaced one."""
    env = _env(jira_url, tmp_path)
    paused = await asyncio.create_subprocess_exec(
        *CLI, "run", "PTT-1", "--approve", env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    out = (await asyncio.wait_for(paused.communicate(), 120))[0].decode()
    assert paused.returncode == 4, out
    run_id = out.split("qa-agent approve ")[1].split()[0]
    approved = await asyncio.create_subprocess_exec(
        *CLI, "approve", run_id, env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE
    )
    out = (await asyncio.wait_for(approved.communicate(), 180))[0].decode()
    assert approved.returncode == 0, out
    report: dict[str, Any] = json.loads((tmp_path / "runs" / run_id / "report.json").read_text())
    assert [h["verdict"]["failure_class"] for h in report["history"]] == ["none"]
