"""The simulator as a self-contained stdio MCP server (what the reference client spawns)."""

from __future__ import annotations

import json
import sys

from qa_agent.world.sim.testing import result_text, stdio_session


async def test_stdio_own_world_flow() -> None:
    args = ["-m", "qa_agent.world.sim", "serve", "--transport", "stdio", "--devices", "2"]
    async with stdio_session(sys.executable, args) as s:
        assert len((await s.list_tools()).tools) == 26
        devices = json.loads(result_text(await s.call_tool("mobile_list_available_devices", {"noParams": {}})))
        assert [d["name"] for d in devices["devices"]] == ["Pixel 8 API 35 (Alice)", "Pixel 8 API 35 (Bob)"]
        r = await s.call_tool("mobile_launch_app", {"device": "emulator-5556", "packageName": "com.example.ptt"})
        assert result_text(r) == "Launched app com.example.ptt"
        listing = result_text(await s.call_tool("mobile_list_elements_on_screen", {"device": "emulator-5556"}))
        assert 'text="Ready"' in listing
        shot = await s.call_tool("mobile_take_screenshot", {"device": "emulator-5556", "maxSize": 480})
        assert [c.type for c in shot.content] == ["text", "image"]
