"""The verdicts hold on phones as slow as real ones: PTT-1 passes and PTT-2 fails at its planted step on the
simulator's ``realistic`` latency profile (seconds per screen dump, a warm-up per device)."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.context import load_context
from qa_agent.runner import run_ticket
from qa_agent.world.sim.process import simulator_process
from tests.conftest import APPS

pytestmark = pytest.mark.slow


async def test_ptt1_passes_and_ptt2_fails_on_the_realistic_profile(jira_url: str, tmp_path: Path) -> None:
    async with simulator_process(devices=4, apps_dir=APPS, profile="realistic", seed=14) as sim:
        for key, expected in (("PTT-1", "success"), ("PTT-2", "failure")):
            await sim.reset()
            ctx = load_context(jira_mcp_url=jira_url, mobile_mcp_url=sim.url, report_root=tmp_path / key)
            outcome = await run_ticket(ctx, key)
            assert outcome.verdict.result == expected, (key, outcome.verdict.justification)
        health = await sim.health()
    assert outcome.verdict.result == "failure" and "Alice is talking" in outcome.verdict.justification
    assert health["knobs"]["profile"] == "realistic" and health["device_time_s"]
