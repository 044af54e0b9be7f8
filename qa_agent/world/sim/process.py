"""Start a simulator in a child process (non-blocking, for async code and tests)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from qa_agent.childproc import child_env, die_with_parent, stop_process
from qa_agent.world.sim.cli import READY_PREFIX
from qa_agent.world.sim.latency import Profile

READY_TIMEOUT_S = 30.0


class SimulatorStartError(RuntimeError):
    """The simulator process died or did not report readiness in time."""


@dataclass
class SimulatorHandle:
    url: str
    base_url: str
    pid: int
    process: asyncio.subprocess.Process = field(repr=False)
    _stderr: list[str] = field(default_factory=list, repr=False)

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    async def _request(self, method: str, path: str, json: Any = None) -> Any:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10.0) as client:
            resp = await client.request(method, path, json=json)
            resp.raise_for_status()
            return resp.json()

    async def actions(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = await self._request("GET", "/sim/actions")
        return data

    async def reset(self) -> None:
        await self._request("POST", "/sim/reset")

    async def configure(self, **knobs: Any) -> dict[str, Any]:
        data: dict[str, Any] = await self._request("POST", "/sim/config", json=knobs)
        return data

    async def health(self) -> dict[str, Any]:
        data: dict[str, Any] = await self._request("GET", "/sim/health")
        return data


def stdio_command(url: str) -> tuple[str, list[str]]:
    """Command and args of a stdio MCP front attached to the world at ``url``."""
    return sys.executable, ["-m", "qa_agent.world.sim", "serve", "--transport", "stdio", "--attach", url]


async def _drain(stream: asyncio.StreamReader | None, sink: list[str]) -> None:
    if stream is None:
        return
    while True:
        line = await stream.readline()
        if not line:
            return
        sink.append(line.decode(errors="replace"))
        del sink[:-500]


@contextlib.asynccontextmanager
async def simulator_process(
    *,
    devices: int = 4,
    apps_dir: Path | None = None,
    seed: int = 0,
    latency_ms: float = 0.0,
    profile: Profile = "fast",
    error_rate: float = 0.0,
    hang_rate: float = 0.0,
    extra_args: Sequence[str] = (),
) -> AsyncIterator[SimulatorHandle]:
    """Run ``python -m qa_agent.world.sim serve --transport streamable-http --port 0`` until the block exits."""
    args = [
        "-m",
        "qa_agent.world.sim",
        "serve",
        "--transport",
        "streamable-http",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--devices",
        str(devices),
        "--seed",
        str(seed),
        "--latency-ms",
        str(latency_ms),
        "--profile",
        profile,
        "--error-rate",
        str(error_rate),
        "--hang-rate",
        str(hang_rate),
    ]
    if apps_dir is not None:
        args += ["--apps", str(apps_dir)]
    args += list(extra_args)
    env = child_env({"PYTHONUNBUFFERED": "1"})
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        preexec_fn=die_with_parent,
    )
    stderr: list[str] = []
    stdout: list[str] = []
    err_task = asyncio.create_task(_drain(proc.stderr, stderr))
    out_task: asyncio.Task[None] | None = None
    try:
        url = await _wait_ready(proc, stderr)
        out_task = asyncio.create_task(_drain(proc.stdout, stdout))
        base = url.removesuffix("/mcp")
        yield SimulatorHandle(url=url, base_url=base, pid=proc.pid, process=proc, _stderr=stderr)
    finally:
        await stop_process(proc)
        for task in (err_task, out_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def _wait_ready(proc: asyncio.subprocess.Process, stderr: list[str]) -> str:
    assert proc.stdout is not None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT_S
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise SimulatorStartError(f"simulator not ready within {READY_TIMEOUT_S:.0f}s; stderr:\n{''.join(stderr)}")
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), timeout=remaining)
        except TimeoutError:
            continue
        if not line:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), timeout=2.0)
            await asyncio.sleep(0.05)
            raise SimulatorStartError(
                f"simulator exited (code {proc.returncode}) before it was ready; stderr:\n{''.join(stderr)}"
            )
        text = line.decode(errors="replace").strip()
        if text.startswith(READY_PREFIX):
            return text[len(READY_PREFIX) :]
