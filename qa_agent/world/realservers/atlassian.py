"""Run the real mcp-atlassian 0.23.1 (streamable HTTP) against a Jira URL (e.g. the REST stand-in)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx

from qa_agent.world.realservers.install import InstallError, atlassian_executable

START_TIMEOUT_S = 60.0
CLOUD_SITE = "http://qa-agent.atlassian.net"  # never resolved: every request goes to the stand-in (proxy)


class AtlassianStartError(RuntimeError):
    """mcp-atlassian exited or did not answer /healthz in time."""


@dataclass
class AtlassianHandle:
    url: str  # http://127.0.0.1:PORT/mcp (a JIRA_MCP_URL)
    pid: int
    jira_url: str
    workdir: str  # its working directory: the only place it uploads attachments from
    _stderr: list[bytes] = field(default_factory=list, repr=False)

    @property
    def stderr(self) -> str:
        return b"".join(self._stderr).decode(errors="replace")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def atlassian_env(
    jira_url: str, *, token: str = "dummy", extra: dict[str, str] | None = None, cloud: bool = False
) -> dict[str, str]:
    """A clean environment for mcp-atlassian with header-less fallback: Server/DC mode with a PAT, or
    Cloud mode (e-mail + API token) for the site CLOUD_SITE, reached through `jira_url` as its proxy
    (mcp-atlassian decides Cloud from the hostname only; a loopback URL always means Server/DC)."""
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "SSL_CERT_FILE", "SSL_CERT_DIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    if cloud:
        auth = {"JIRA_URL": CLOUD_SITE, "JIRA_USERNAME": "qa-agent@example.com", "JIRA_API_TOKEN": token}
        auth |= {"JIRA_HTTP_PROXY": jira_url, "JIRA_HTTPS_PROXY": jira_url}
    else:
        auth = {"JIRA_URL": jira_url, "JIRA_PERSONAL_TOKEN": token}
    env.update(
        {
            **auth,
            "ALLOW_GLOBAL_CRED_FALLBACK": "true",  # 0.22+: else header-less MCP requests get 401
            "TOOLSETS": "default",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            **(extra or {}),
        }
    )
    return env


async def _drain(stream: asyncio.StreamReader | None, sink: list[bytes]) -> None:
    if stream is None:
        return
    while chunk := await stream.read(4096):
        sink.append(chunk)
        del sink[:-200]


@contextlib.asynccontextmanager
async def atlassian_process(
    jira_url: str, *, extra_env: dict[str, str] | None = None, cloud: bool = False
) -> AsyncIterator[AtlassianHandle]:
    """``mcp-atlassian --transport streamable-http --host 127.0.0.1 --port P`` until the block exits."""
    exe = atlassian_executable()
    if not exe.is_file():
        raise InstallError(f"mcp-atlassian is not installed ({exe}): run python -m qa_agent.world.realservers install")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="qa-atlassian-")  # it loads .env from its cwd: give it an empty one
    env = atlassian_env(jira_url, extra=extra_env, cloud=cloud)
    env["HOME"] = workdir
    proc = await asyncio.create_subprocess_exec(
        str(exe),
        "--transport",
        "streamable-http",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=workdir,
    )
    handle = AtlassianHandle(url=f"http://127.0.0.1:{port}/mcp", pid=proc.pid, jira_url=jira_url, workdir=workdir)
    tasks = [
        asyncio.create_task(_drain(proc.stdout, [])),
        asyncio.create_task(_drain(proc.stderr, handle._stderr)),
    ]
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT_S
        async with httpx.AsyncClient(timeout=2.0, trust_env=False) as client:
            while True:
                if proc.returncode is not None:
                    raise AtlassianStartError(f"mcp-atlassian exited with {proc.returncode}:\n{handle.stderr}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                if loop.time() > deadline:
                    raise AtlassianStartError(f"mcp-atlassian not ready in {START_TIMEOUT_S:.0f}s:\n{handle.stderr}")
                await asyncio.sleep(0.2)
        yield handle
    finally:
        from qa_agent.childproc import stop_process

        await stop_process(proc)
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
