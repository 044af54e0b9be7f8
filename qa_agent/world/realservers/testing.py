"""Test helpers: install the real servers once per session, or say loudly why the tests are skipped."""

from __future__ import annotations

import functools
import re
import sys
import warnings

from qa_agent.world.realservers.install import Installed, InstallError, ensure_installed

MOBILECLI_PATH_RE = re.compile(r"Command failed: \S*mobilecli\S* ")


@functools.lru_cache(maxsize=1)
def _install_once() -> Installed | str:
    try:
        return ensure_installed(echo=lambda line: print(f"[real-servers] {line}", file=sys.stderr))
    except InstallError as exc:
        return str(exc)


def installed_or_skip_reason() -> tuple[Installed | None, str | None]:
    """``(Installed, None)`` or ``(None, reason)``; the reason is also emitted as a warning."""
    result = _install_once()
    if isinstance(result, str):
        reason = f"REAL SERVERS NOT AVAILABLE, skipping the real-server tests: {result}"
        warnings.warn(reason, stacklevel=2)
        return None, reason
    return result, None


def normalise_mobilecli(text: str, device_ids: dict[str, str] | None = None) -> str:
    """Make a mobile-mcp error text comparable: the absolute mobilecli path -> ``mobilecli``, ids mapped."""
    out = MOBILECLI_PATH_RE.sub("Command failed: mobilecli ", text)
    for real, ours in (device_ids or {}).items():
        out = out.replace(real, ours)
    return out
