"""Both real servers over one simulated world: the published mobile-mcp (through the fake adb) and the
published mcp-atlassian (over the Jira REST stand-in), as the realistic end-to-end test and
``bench/real_servers.py`` run the agent.

    async with real_servers_world(tickets_copy, profile="realistic") as world:
        ctx = load_context(**world.settings(), report_root=...)
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa_agent.world.jira_rest.process import jira_rest_process
from qa_agent.world.realservers.atlassian import atlassian_process
from qa_agent.world.realservers.mobile import MobileMcpLaunch, mobile_mcp_for
from qa_agent.world.sim.config import user_name
from qa_agent.world.sim.latency import Profile
from qa_agent.world.sim.process import SimulatorHandle, simulator_process


@dataclass
class RealServersWorld:
    sim: SimulatorHandle
    mobile: MobileMcpLaunch
    jira_mcp_url: str  # mcp-atlassian's /mcp
    devices: int

    def settings(self) -> dict[str, Any]:
        """``load_context`` keyword arguments that point the agent at both real servers."""
        return {
            "jira_mcp_url": self.jira_mcp_url,
            "mobile_mcp_command": self.mobile.command,
            "mobile_mcp_args_json": self.mobile.args_json,
            # mobilecli names emulators by their AVD, so the accounts are told, as on a real lab.
            "device_accounts": {f"Pixel_8_API_35_{user_name(i)}": user_name(i) for i in range(1, self.devices + 1)},
        }


@contextlib.asynccontextmanager
async def real_servers_world(
    tickets_dir: Path, *, apps_dir: Path, devices: int = 4, profile: Profile = "realistic", seed: int = 0
) -> AsyncIterator[RealServersWorld]:
    """Simulator (``profile``) + mobile-mcp launcher + Jira REST stand-in over ``tickets_dir`` + mcp-atlassian."""
    async with (
        simulator_process(devices=devices, apps_dir=apps_dir, profile=profile, seed=seed) as sim,
        jira_rest_process(tickets_dir) as rest,
        atlassian_process(rest.url) as atl,
    ):
        with mobile_mcp_for(sim.url) as mobile:
            yield RealServersWorld(sim=sim, mobile=mobile, jira_mcp_url=atl.url, devices=devices)
