"""Start the embedded Jira MCP server as a child process (HTTP) or describe it for stdio."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from mcp import StdioServerParameters

from qa_agent.childproc import child_env, die_with_parent, stop_process

DEFAULT_TICKETS_DIR: Path = Path(__file__).resolve().parents[3] / "examples" / "tickets"
READY_PREFIX = "qa-jira listening on "
DEFAULT_START_TIMEOUT_S = 20.0


class JiraServerStartError(RuntimeError):
    """The server process exited or stayed silent before announcing its URL."""


@dataclass(frozen=True)
class JiraServerHandle:
    url: str  # e.g. http://127.0.0.1:43817/mcp
    pid: int
    tickets_dir: Path

    @property
    def base_url(self) -> str:
        return self.url.removesuffix("/mcp")


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))


def serve_command(tickets_dir: Path, *, transport: str, port: int = 0, host: str = "127.0.0.1") -> list[str]:
    return [
        sys.executable,
        "-m",
        "qa_agent.world.jira_server",
        "serve",
        "--transport",
        transport,
        "--host",
        host,
        "--port",
        str(port),
        "--tickets",
        os.path.abspath(tickets_dir),
    ]


def stdio_server_params(tickets_dir: Path = DEFAULT_TICKETS_DIR) -> StdioServerParameters:
    """Parameters for ``mcp.client.stdio.stdio_client`` to run the server over stdio."""
    return StdioServerParameters(
        command=sys.executable,
        args=serve_command(tickets_dir, transport="stdio")[1:],
        env=child_env(),
    )


async def _drain(stream: asyncio.StreamReader | None, sink: list[bytes]) -> None:
    if stream is None:
        return
    while chunk := await stream.read(4096):
        sink.append(chunk)
        del sink[:-64]  # keep the tail only


@contextlib.asynccontextmanager
async def jira_server_process(
    tickets_dir: Path = DEFAULT_TICKETS_DIR,
    *,
    port: int = 0,
    host: str = "127.0.0.1",
    start_timeout: float = DEFAULT_START_TIMEOUT_S,
) -> AsyncIterator[JiraServerHandle]:
    """Run ``qa_agent.world.jira_server serve`` over streamable HTTP for the duration of the block.

    Yields once the server printed its ready line; the process is terminated (then killed
    after 5 s) on exit. Raises ``JiraServerStartError`` with the server's stderr if it dies
    or does not become ready within ``start_timeout`` seconds.
    """
    tickets = _absolute(tickets_dir)
    proc = await asyncio.create_subprocess_exec(
        *serve_command(tickets, transport="streamable-http", port=port, host=host),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_env(),
        preexec_fn=die_with_parent,
    )
    stderr_tail: list[bytes] = []
    stderr_task = asyncio.create_task(_drain(proc.stderr, stderr_tail))
    stdout_task: asyncio.Task[None] | None = None
    try:
        url = await _wait_ready(proc, start_timeout, stderr_tail, stderr_task)
        stdout_task = asyncio.create_task(_drain(proc.stdout, []))
        yield JiraServerHandle(url=url, pid=proc.pid, tickets_dir=tickets)
    finally:
        await stop_process(proc)
        for task in (stderr_task, stdout_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


async def _wait_ready(
    proc: asyncio.subprocess.Process,
    wait_s: float,
    stderr_tail: list[bytes],
    stderr_task: asyncio.Task[None],
) -> str:
    assert proc.stdout is not None

    async def read_ready_line() -> str | None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            text = line.decode("utf-8", "replace").strip()
            if text.startswith(READY_PREFIX):
                return text.removeprefix(READY_PREFIX)
        return None

    try:
        url = await asyncio.wait_for(read_ready_line(), wait_s)
    except TimeoutError:
        url = None
        reason = f"did not report ready within {wait_s:.0f} s"
    else:
        reason = "exited before reporting ready"
    if url is not None:
        return url
    if proc.returncode is None and reason.startswith("exited"):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 2)
    if proc.returncode is not None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stderr_task, 2)
        reason = f"exited with code {proc.returncode} before reporting ready"
    stderr = b"".join(stderr_tail).decode("utf-8", "replace").strip()
    raise JiraServerStartError(
        f"Jira MCP server ({' '.join(serve_command(Path('DIR'), transport='streamable-http'))}) {reason}"
        + (f"; stderr:\n{stderr}" if stderr else "; no stderr output")
    )
