"""A run killed with SIGKILL mid-execution resumes from its checkpoint; on a world that outlives the agent
(an external server) a run killed during a step restarts its attempt, and finished attempts stay in history."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import APPS

pytestmark = pytest.mark.slow


async def _read_until(stream: asyncio.StreamReader, pattern: str, seen: list[str], limit_s: float) -> re.Match[str]:
    async def scan() -> re.Match[str]:
        while True:
            line = (await stream.readline()).decode(errors="replace")
            if not line:
                raise AssertionError(f"output ended before {pattern!r}:\n{''.join(seen)}")
            seen.append(line)
            match = re.search(pattern, line)
            if match:
                return match

    return await asyncio.wait_for(scan(), limit_s)


async def test_sigkill_then_resume(jira_url: str, tmp_path: Path) -> None:
    from qa_agent.world.sim.process import simulator_process

    async with simulator_process(devices=2, apps_dir=APPS) as sim:
        env = {
            **os.environ,
            "JIRA_MCP_URL": jira_url,
            "MOBILE_MCP_URL": sim.url,
            "QA_REPORT_DIR": str(tmp_path / "runs"),
            "COLUMNS": "200",
        }
        cli = [sys.executable, "-m", "qa_agent.cli"]
        proc = await asyncio.create_subprocess_exec(
            *cli, "run", "PTT-1", env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE
        )
        assert proc.stdout is not None
        seen: list[str] = []
        run_id = (await _read_until(proc.stdout, r"^run (\S+) ", seen, 60)).group(1)
        # Kill while user1 holds the talk button (segment 4 of 5): three segments are done.
        await _read_until(proc.stdout, r"▶ S5 long_press_text", seen, 60)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        before = await sim.actions()
        assert Counter(a["tool"] for a in before)["mobile_launch_app"] == 2

        runs = await asyncio.create_subprocess_exec(*cli, "runs", env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE)
        listing = (await runs.communicate())[0].decode()
        assert run_id in listing and "interrupted" in listing

        resumed = await asyncio.create_subprocess_exec(
            *cli, "resume", run_id, env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE
        )
        out = (await asyncio.wait_for(resumed.communicate(), 120))[0].decode()
        assert resumed.returncode == 0, out
        assert "SUCCESS" in out
        after = await sim.actions()

    # The hold was running when the agent died: the same world (its id did not change), but a
    # finger may still be down, so the attempt restarts with cold starts instead of going on.
    new = after[len(before) :]
    assert Counter(a["tool"] for a in new)["mobile_launch_app"] == 2
    report: dict[str, Any] = json.loads((tmp_path / "runs" / run_id / "report.json").read_text())
    assert report["verdict"]["result"] == "success"
    first, _second = report["history"]
    assert first["verdict"]["justification"] == (
        "attempt 2: restarted on resume, a step was running when the agent stopped"
    )
    assert sorted(r["step_id"] for r in first["results"] if r["status"] == "passed") == ["S1", "S2", "S3", "S4"]
    assert sorted(r["step_id"] for r in report["results"]) == ["S1", "S2", "S3", "S4", "S5", "S6", "S7"]
