"""Close everything a run opened, in one place, whatever way the run ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from qa_agent.devices.leases import release_everywhere
from qa_agent.devices.pool import close_pool
from qa_agent.jira_client import close_run_jira


async def close_run(run_id: str) -> None:
    await close_pool(run_id)
    await close_run_jira(run_id)
    await release_everywhere(run_id)


@asynccontextmanager
async def run_resources(run_id: str) -> AsyncIterator[None]:
    """Wrap a whole run: its connections are closed at the end, also on error or cancellation."""
    try:
        yield
    finally:
        await close_run(run_id)
