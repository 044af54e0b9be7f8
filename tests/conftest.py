"""Shared fixtures: the real embedded servers as subprocesses on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TICKETS = ROOT / "examples" / "tickets"
APPS = ROOT / "examples" / "apps"


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests decide every setting themselves: no developer .env or shell variable leaks in."""
    import os

    for name in list(os.environ):
        if name.startswith(("JIRA_", "MOBILE_MCP", "LLM_", "OPENAI_", "FORCE_DEVICE_DRIVER", "QA_", "MAX_REPLANS")) or (
            name.startswith("DRIVER") and name.endswith("_PACKAGE")
        ):
            monkeypatch.delenv(name, raising=False)
    for name in ("GLOBAL_PACKAGE", "TICKET_KEY", "PROXY_URL", "PROMPT_LANG", "DEVICE_ACCOUNTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env from the repo; runs/ lands in the test's folder


@pytest.fixture
async def jira_url() -> AsyncIterator[str]:
    from qa_agent.jira_server.process import jira_server_process

    async with jira_server_process(TICKETS) as handle:
        yield handle.url
