"""Run the Jira REST stand-in as a child process (non-blocking; for tests and scripts)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from qa_agent.childproc import child_env, stop_process
from qa_agent.world.jira_rest.cli import READY_PREFIX
from qa_agent.world.jira_rest.shapes import Flavor

START_TIMEOUT_S = 20.0


class JiraRestStartError(RuntimeError):
    """The stand-in exited or did not print its ready line in time."""


@dataclass(frozen=True)
class JiraRestHandle:
    url: str  # http://127.0.0.1:PORT (a JIRA_URL)
    pid: int
    tickets_dir: Path
    flavor: Flavor = "server"


async def _drain(stream: asyncio.StreamReader | None, sink: list[bytes]) -> None:
    if stream is None:
        return
    while chunk := await stream.read(4096):
        sink.append(chunk)
        del sink[:-64]


@contextlib.asynccontextmanager
async def jira_rest_process(
    tickets_dir: Path, *, host: str = "127.0.0.1", flavor: Flavor = "server"
) -> AsyncIterator[JiraRestHandle]:
    """``python -m qa_agent.world.jira_rest --tickets DIR --port 0 --flavor F`` until the block exits."""
    tickets_arg = os.path.abspath(tickets_dir)  # noqa: ASYNC240 - a pure string operation here
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "qa_agent.world.jira_rest",
        "--tickets",
        tickets_arg,
        "--host",
        host,
        "--port",
        "0",
        "--flavor",
        flavor,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_env({"PYTHONUNBUFFERED": "1"}),
    )
    err: list[bytes] = []
    err_task = asyncio.create_task(_drain(proc.stderr, err))
    try:
        assert proc.stdout is not None
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT_S)
        except TimeoutError:
            line = b""
        text = line.decode(errors="replace").strip()
        if not text.startswith(READY_PREFIX):
            await stop_process(proc)
            await asyncio.sleep(0.05)
            raise JiraRestStartError(
                f"jira REST stand-in did not start (got {text!r}); stderr:\n{b''.join(err).decode(errors='replace')}"
            )
        yield JiraRestHandle(url=text[len(READY_PREFIX) :], pid=proc.pid, tickets_dir=Path(tickets_dir), flavor=flavor)
    finally:
        await stop_process(proc)
        err_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await err_task
