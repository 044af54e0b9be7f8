"""Child processes that cannot outlive the agent, even when it is killed with SIGKILL."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import signal
import sys

_PR_SET_PDEATHSIG = 1


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
