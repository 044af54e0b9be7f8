"""Child processes that cannot outlive the agent (even when it is killed with SIGKILL) and that
inherit no secret: each gets a minimal environment plus what it needs."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Mapping

_PR_SET_PDEATHSIG = 1
# Names (or name prefixes) every child may see: enough to run a program, nothing that authenticates.
BASE_ENV: tuple[str, ...] = (
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "LANG", "LANGUAGE", "LC_", "TZ", "TMPDIR", "TEMP", "TMP",
    "SYSTEMROOT", "XDG_", "VIRTUAL_ENV", "PYTHONPATH", "SSL_CERT_FILE", "SSL_CERT_DIR",
)  # fmt: skip
# What a third-party mobile-mcp (often `npx`) needs besides: Node/npm settings, the Android SDK, proxies.
MOBILE_MCP_ENV: tuple[str, ...] = (
    "NODE_", "NPM_CONFIG_", "npm_config_", "NVM_", "ANDROID_", "JAVA_HOME", "MOBILEMCP_", "MOBILECLI_",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
)  # fmt: skip
_SECRET_WORDS = ("TOKEN", "SECRET", "PASSW", "API_KEY", "APIKEY", "CREDENTIAL", "AUTH", "_KEY")


def child_env(extra: Mapping[str, str] | None = None, *, keep: tuple[str, ...] = ()) -> dict[str, str]:
    """The agent's variables named in BASE_ENV or `keep` (exact names or prefixes), never one whose
    name says it is a secret, then `extra` (the caller's explicit choice) on top."""
    allowed = BASE_ENV + keep
    env = {
        name: value
        for name, value in os.environ.items()
        if name.startswith(allowed) and not any(word in name.upper() for word in _SECRET_WORDS)
    }
    return env | dict(extra or {})


def die_with_parent() -> None:
    """preexec_fn: on Linux the kernel sends SIGTERM to the child when its parent dies."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


async def stop_process(proc: asyncio.subprocess.Process, grace_s: float = 5.0) -> None:
    """terminate -> wait ``grace_s`` -> kill; no-op for a process that already exited."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), grace_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
