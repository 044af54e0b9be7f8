"""A device server killed mid-run is noticed at once: a refused connection after the one reconnect
ends the step `blocked`, naming the server, instead of every later call waiting out its timeout
(the streamable HTTP transport fails in its own task while the pending call waits for an answer).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from qa_agent.world.sim.process import simulator_process
from tests.conftest import APPS
from tests.verdicts.lanes import lane, step

pytestmark = pytest.mark.slow
CALL_TIMEOUT_S = 600  # far longer than the test may take: waiting it out is the bug
HANG_LIMIT_S = 60


@pytest.mark.parametrize(
    ("action", "args"),
    [("press_button", {"button": "ENTER"}), ("assert_visible", {"text": "Talk"})],
    ids=["action", "check"],
)
async def test_a_killed_server_blocks_the_step_at_once(action: str, args: dict[str, str], tmp_path: Path) -> None:
    async with simulator_process(devices=1, apps_dir=APPS) as sim:
        async with lane(sim.url, tmp_path, "com.example.ptt", step_default_timeout_s=CALL_TIMEOUT_S) as d:
            assert (await step(d, "launch_app")).status == "passed"
            sim.process.kill()
            await sim.process.wait()
            first = await asyncio.wait_for(step(d, action, **args, timeout_s=CALL_TIMEOUT_S), HANG_LIMIT_S)
            later = await asyncio.wait_for(step(d, "back"), HANG_LIMIT_S)
    for result in (first, later):
        assert (result.status, result.error_class) == ("blocked", "cannot_run"), result.message
        assert "device server unreachable" in result.message and sim.url in result.message
