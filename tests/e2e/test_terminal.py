"""What the terminal output gives people and CI logs: whole lines, the same live view everywhere."""

from __future__ import annotations

import asyncio
import os
import pty
import re
import signal
import sys
from pathlib import Path

import pytest

from tests.e2e.test_resume import _read_until

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "qa_agent.cli"]


def _env(jira_url: str, report_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JIRA_", "MOBILE_MCP", "LLM_", "OPENAI_", "QA_"))}
    return env | {"JIRA_MCP_URL": jira_url, "QA_REPORT_DIR": str(report_dir), "COLUMNS": "80", "NO_COLOR": "1"}


async def _cli(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *CLI, *args, env=env, cwd=cwd, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE
    )
    out = (await asyncio.wait_for(proc.communicate(), 180))[0].decode()
    assert proc.returncode is not None
    return proc.returncode, out


async def test_piped_output_keeps_ids_and_paths_whole(jira_url: str, tmp_path: Path) -> None:
    # A report folder deep enough that its paths are longer than the 80 columns of the "terminal".
    report_dir = tmp_path / ("a-rather-long-folder-name-for-reports-" * 2) / "runs"
    code, out = await _cli(_env(jira_url, report_dir), tmp_path, "run", "PTT-2")
    assert code == 1, out
    run_id = re.search(r"^run (\S+) · PTT-2$", out, re.M)
    assert run_id, out
    assert f"resume with: qa-agent resume {run_id.group(1)}\n" in out
    report = re.search(r"^report: (\S+)$", out, re.M)
    assert report and Path(report.group(1)).is_file() and len(report.group(1)) > 80
    shots = re.findall(r"\[screenshot: (\S+)\]", out)
    assert shots and all(Path(shot).is_file() for shot in shots)
    # Every event is one line: a step's start names its action and arguments on the same line.
    assert re.search(r"^driver 2 \S+ ▶ S6 assert_visible\(.*during='S5'\)$", out, re.M), out
    # People read plain words: step groups and sync points, not the graph's segments and barriers.
    assert "sync point 1/" in out and not re.search(r"segment|barrier", out, re.I), out


async def _cli_on_a_terminal(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str]:
    """The command with its stdout on a pseudo-terminal, as a person at a terminal sees it."""
    leader, follower = pty.openpty()
    proc = await asyncio.create_subprocess_exec(
        *CLI, *args, env=env | {"COLUMNS": "200", "TERM": "xterm"}, cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL, stdout=follower, stderr=follower,
    )  # fmt: skip
    os.close(follower)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: every writer has closed the terminal
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = asyncio.get_running_loop().run_in_executor(None, drain)
    code = await asyncio.wait_for(proc.wait(), 180)
    await asyncio.wait_for(reader, 30)
    os.close(leader)
    return code, b"".join(chunks).decode(errors="replace")


async def test_approval_flow_at_a_terminal_and_after_the_end(jira_url: str, tmp_path: Path) -> None:
    env = _env(jira_url, tmp_path / "runs") | {"COLUMNS": "250"}
    code, out = await _cli(env, tmp_path, "run", "LOGIN-1", "--approve")
    assert code == 4, out
    run_id = out.split("qa-agent approve ")[1].split()[0]
    code, out = await _cli(env, tmp_path, "runs")
    assert re.search(rf"{re.escape(run_id)}.*waiting for approval", out), out
    # approve drives the run with the same live per-driver table as run (only drawn at a terminal).
    code, out = await _cli_on_a_terminal(env, tmp_path, "approve", run_id)
    assert code == 0, out
    assert "last result" in out and "not passed" in out, out
    # A finished run: approve and resume say so (approving it again is not applied: exit 3).
    code, out = await _cli(env, tmp_path, "approve", run_id, "--reject", "too late")
    assert code == 3, out
    assert f"run {run_id} is already finished (success): nothing to approve" in out
    code, out = await _cli(env, tmp_path, "resume", run_id)
    assert code == 0, out
    assert f"run {run_id} is already finished (success): nothing to resume" in out


async def test_a_driven_run_is_running_and_its_restart_has_a_heading(jira_url: str, tmp_path: Path) -> None:
    env = _env(jira_url, tmp_path / "runs") | {"COLUMNS": "250"}
    proc = await asyncio.create_subprocess_exec(
        *CLI, "run", "PTT-1", env=env, cwd=tmp_path, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        run_id = (await _read_until(proc.stdout, r"^run (\S+) ", seen, 60)).group(1)
        await _read_until(proc.stdout, r"▶ S5 long_press_text", seen, 90)
        proc.send_signal(signal.SIGSTOP)  # alive and mid-run however slow `runs` is to start
        code, out = await _cli(env, tmp_path, "runs")
        assert re.search(rf"{re.escape(run_id)}.*running", out), out
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    code, out = await _cli(env, tmp_path, "runs")
    assert re.search(rf"{re.escape(run_id)}.*interrupted", out), out
    # The resumed run restarts the attempt on the new simulated world: a heading says a new attempt began.
    code, out = await _cli(env, tmp_path, "resume", run_id)
    assert code == 0, out
    assert "── attempt 2 ──" in out
    assert "── attempt 1" not in out


async def test_batch_shows_live_progress(jira_url: str, tmp_path: Path) -> None:
    # Two devices and two tickets that need both: one of them must wait for devices.
    env = _env(jira_url, tmp_path / "runs")
    code, out = await _cli(env, tmp_path, "batch", "PTT-1", "PTT-2", "LOGIN-1", "--devices", "2")
    assert code == 1, out
    progress = re.findall(
        r"^batch: (\d)/3 done · (\d) running · (\d) waiting for devices · (\d) not started$", out, re.M
    )
    assert progress, out
    counts = [tuple(map(int, p)) for p in progress]
    assert any(waiting >= 1 for _, _, waiting, _ in counts), out
    assert counts[-1] == (3, 0, 0, 0), out
    assert all(sum(c) == 3 for c in counts), out
    for key, verdict in (("PTT-1", "success"), ("PTT-2", "failure"), ("LOGIN-1", "success")):
        done = re.search(rf"^{key} {verdict} · (\S+/report\.html)$", out, re.M)
        assert done and Path(done.group(1)).is_file(), out


async def test_demo_shows_the_live_view_at_a_terminal(tmp_path: Path) -> None:
    env = _env("", tmp_path / "runs")
    env.pop("JIRA_MCP_URL")
    code, out = await _cli_on_a_terminal(env, tmp_path, "demo", "LOGIN-1")
    assert code == 0, out
    assert "last result" in out and "not passed" in out, out
