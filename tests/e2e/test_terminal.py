"""What the terminal output gives people and CI logs: whole lines, the same live view everywhere."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest

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
