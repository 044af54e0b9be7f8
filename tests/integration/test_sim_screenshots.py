"""Screenshots drawn at the size asked for, from one rendering per screen content shared by every phone."""

from __future__ import annotations

import asyncio
import base64
import io

from mcp import types
from PIL import Image

from qa_agent.world.sim.process import simulator_process
from qa_agent.world.sim.testing import http_session, result_text
from tests.conftest import APPS

PHONES = [f"emulator-{5554 + 2 * i}" for i in range(6)]


def image(result: types.CallToolResult) -> bytes:
    assert not result.isError, result_text(result)
    blocks = [c for c in result.content if isinstance(c, types.ImageContent)]
    assert len(blocks) == 1
    return base64.b64decode(blocks[0].data)


async def test_phones_on_the_same_screen_share_one_rendering_at_the_requested_size() -> None:
    async with simulator_process(devices=len(PHONES), apps_dir=APPS) as sim, http_session(sim.url) as s:
        for phone in PHONES:
            launched = await s.call_tool("mobile_launch_app", {"device": phone, "packageName": "com.example.ptt"})
            assert not launched.isError, result_text(launched)
        shots = await asyncio.gather(*(s.call_tool("mobile_take_screenshot", {"device": p}) for p in PHONES))
        small = await s.call_tool("mobile_take_screenshot", {"device": PHONES[0], "maxSize": 300})
    first = image(shots[0])
    assert all(image(shot) == first for shot in shots[1:])  # same screen, same bytes, whoever is signed in
    assert Image.open(io.BytesIO(first)).size == (461, 1024)  # mobile-mcp's default: longest side 1024
    assert Image.open(io.BytesIO(image(small))).size == (135, 300)
    assert "Screenshot is 135x300." in result_text(small)
