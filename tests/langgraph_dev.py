"""`langgraph dev` as a test fixture: a subprocess in its own process group, configured through
the environment exactly as a user would, stopped as one group (no orphans)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from qa_agent.world.jira_server.process import jira_server_process
from qa_agent.world.sim.process import simulator_process

ROOT = Path(__file__).resolve().parents[1]
LANGGRAPH = Path(sys.executable).parent / "langgraph"
READY_TIMEOUT_S = 60.0
AMBIENT = (
    "JIRA_",
    "MOBILE_MCP",
    "LLM_",
    "OPENAI_",
    "FORCE_DEVICE_DRIVER",
    "QA_",
    "MAX_REPLANS",
    "APPROVE_PLAN",
    "CORS_",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(jira_url: str, sim_url: str, report_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(AMBIENT) and not (k.startswith("DRIVER") and k.endswith("_PACKAGE"))
    }
    env.update(
        LANGGRAPH_CLI_NO_ANALYTICS="1",
        LANGSMITH_TRACING="false",
        JIRA_MCP_URL=jira_url,
        MOBILE_MCP_URL=sim_url,
        QA_REPORT_DIR=str(report_dir),
        # The server reads ./.env of the repo (its cwd): empty values keep a developer's LLM or
        # device command out of this test (an empty value counts as unset).
        LLM_BASE_URL="",
        OPENAI_API_KEY="",
        MOBILE_MCP_COMMAND="",
        GLOBAL_PACKAGE="",
    )
    return env


def tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


async def _wait_ready(proc: asyncio.subprocess.Process, url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    async with httpx.AsyncClient(timeout=2.0) as http:
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                raise RuntimeError(f"langgraph dev exited with {proc.returncode}:\n{tail(log)}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{url}/ok")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"langgraph dev not ready within {READY_TIMEOUT_S:.0f}s:\n{tail(log)}")


async def _stop_group(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM the server's process group, SIGKILL what is left after 10 s; wait until it is empty."""
    pgid = proc.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), timeout=10)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        await asyncio.wait_for(proc.wait(), timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        await asyncio.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    raise AssertionError("processes of the langgraph dev group outlived it")


@contextlib.asynccontextmanager
async def langgraph_dev(
    env: dict[str, str],
    log: Path,
    host: str = "127.0.0.1",
    extra_args: tuple[str, ...] = (),
    state_dir: Path | None = None,
) -> AsyncIterator[str]:
    """Start `langgraph dev` on a free port of `host` with exactly `env`; yield its loopback URL.

    It keeps its in-memory runtime in `.langgraph_api/` of its cwd, the repo, and takes up the pending
    runs it finds there: two servers at once (replicas) each need their own, `state_dir`, a folder
    that links the repo's files."""
    port = free_port()
    command = [str(LANGGRAPH), "dev", "--no-browser", "--no-reload", "--host", host, "--port", str(port)]
    command += ["--config", "langgraph.json", *extra_args]
    cwd = ROOT
    if state_dir is not None:
        state_dir.mkdir(parents=True, exist_ok=True)
        for entry in ("langgraph.json", "pyproject.toml", "graph", "nodes", "prompts", "qa_agent", "examples"):
            (state_dir / entry).symlink_to(ROOT / entry)
        cwd = state_dir
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *command,
            cwd=cwd,  # ./graph/builder.py resolves against the cwd; .langgraph_api/ lands there (gitignored)
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed as one at teardown
        )
    try:
        await _wait_ready(proc, url, log)
        yield url
    finally:
        await _stop_group(proc)


@dataclass(frozen=True)
class Server:
    url: str
    jira_url: str
    sim_url: str
    log: Path
    report_dir: Path


@contextlib.asynccontextmanager
async def qa_server(tmp: Path, host: str = "127.0.0.1", **extra_env: str) -> AsyncIterator[Server]:
    """The embedded Jira server and simulator over HTTP, and `langgraph dev` configured to use them."""
    if not LANGGRAPH.is_file():
        pytest.skip(f"no {LANGGRAPH}: install the dev extras (langgraph-cli[inmem])")
    log, report_dir = tmp / "server.log", tmp / "runs"
    async with (
        jira_server_process(ROOT / "examples" / "tickets") as jira,
        simulator_process(apps_dir=ROOT / "examples" / "apps") as sim,
        langgraph_dev(server_env(jira.url, sim.url, report_dir) | extra_env, log, host) as url,
    ):
        yield Server(url=url, jira_url=jira.url, sim_url=sim.url, log=log, report_dir=report_dir)
