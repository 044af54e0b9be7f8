"""Child processes inherit no secret: the simulator, the embedded Jira server and a stdio mobile-mcp are
started with the agent's LLM key and Jira token in its environment, and their /proc/<pid>/environ is read."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from graph.context import load_context
from qa_agent.devices.pool import close_pool, pool_for
from qa_agent.jira_client import jira_session
from qa_agent.world.jira_server.process import jira_server_process
from qa_agent.world.sim.process import simulator_process, stdio_command
from tests.conftest import APPS, TICKETS

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/<pid>/environ")
SECRETS = {
    "LLM_API_KEY": "sk-child-env-llm-4f1",
    "OPENAI_API_KEY": "sk-child-env-openai-9c2",
    "JIRA_MCP_TOKEN": "jira-child-env-token-7d3",
    "QA_CHECKPOINT_DSN": "postgresql://qa:pw-child-env-5e8@db/qa",
    "GITHUB_TOKEN": "ghp-child-env-1a6",
}


@pytest.fixture(autouse=True)
def _secrets_in_the_agent_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ANDROID_HOME", "/opt/android-sdk")  # a mobile-mcp needs its SDK


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)


def _child(marker: str) -> int:
    """The one direct child of this process whose command line contains `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if ppid == os.getpid() and marker in cmdline:
            found.append(int(entry.name))
    assert len(found) == 1, (marker, found)
    return found[0]


def _assert_no_secret(env: dict[str, str]) -> None:
    assert "PATH" in env
    leaked = {k for k, v in env.items() for secret in SECRETS.values() if secret in v or k in SECRETS}
    assert leaked == set()


async def test_simulator_gets_no_secret() -> None:
    async with simulator_process(devices=1, apps_dir=APPS) as sim:
        env = _environ(sim.pid)
    _assert_no_secret(env)
    assert env["PYTHONUNBUFFERED"] == "1"


async def test_embedded_jira_server_gets_no_secret(tmp_path: Path) -> None:
    async with jira_server_process(TICKETS) as jira:
        _assert_no_secret(_environ(jira.pid))
    async with jira_session(load_context(report_root=tmp_path / "runs")):  # the stdio one of a run
        _assert_no_secret(_environ(_child("qa_agent.world.jira_server")))


async def test_stdio_mobile_mcp_gets_no_secret_but_its_sdk(tmp_path: Path) -> None:
    async with simulator_process(devices=1, apps_dir=APPS) as sim:
        command, args = stdio_command(sim.url)  # a stdio device server, as MOBILE_MCP_COMMAND starts one
        ctx = load_context(
            report_root=tmp_path / "runs", mobile_mcp_command=command, mobile_mcp_args_json=json.dumps(args)
        )
        try:
            await pool_for("child-env", ctx).session("driver-1")
            env = _environ(_child("--attach"))
        finally:
            await close_pool("child-env")
    _assert_no_secret(env)
    assert env["ANDROID_HOME"] == "/opt/android-sdk"
