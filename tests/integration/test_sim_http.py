"""The simulator over streamable HTTP with a real MCP client: tool surface, answers, errors."""

from __future__ import annotations

import base64
import io
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession
from PIL import Image

from qa_agent.world.sim.process import simulator_process
from qa_agent.world.sim.testing import http_session, result_text

VERBATIM = Path("/work/shared/research/mobile-mcp-1.0.4-tools-list.json")
DATA = Path(__file__).resolve().parents[2] / "qa_agent" / "sim" / "data" / "mobile_mcp_1_0_4_tools.json"
ALICE = "emulator-5554"
NOT_SERVED = {
    "mobile_login_to_cloud_provider",
    "mobile_list_remote_devices",
    "mobile_allocate_remote_device",
    "mobile_release_remote_device",
    "mobile_start_screen_recording",
    "mobile_stop_screen_recording",
}
SEED_TOOLS = {
    "mobile_list_available_devices", "mobile_list_apps", "mobile_launch_app", "mobile_terminate_app",
    "mobile_install_app", "mobile_uninstall_app", "mobile_get_screen_size",
    "mobile_click_on_screen_at_coordinates", "mobile_double_tap_on_screen",
    "mobile_long_press_on_screen_at_coordinates", "mobile_list_elements_on_screen", "mobile_press_button",
    "mobile_open_url", "mobile_swipe_on_screen", "mobile_type_keys", "mobile_save_screenshot",
    "mobile_take_screenshot", "mobile_set_orientation", "mobile_get_orientation",
}  # fmt: skip


def _verbatim_tools() -> list[dict[str, Any]]:
    source = VERBATIM if VERBATIM.exists() else DATA
    tools: list[dict[str, Any]] = json.loads(source.read_text())["tools"]
    return tools


async def call(s: ClientSession, tool: str, **args: Any) -> str:
    return result_text(await s.call_tool(tool, args))


def ref_of(listing: str, text: str) -> str:
    m = re.search(rf'^(@e\d+) \S+ text="{re.escape(text)}"', listing, re.M)
    assert m, listing
    return m.group(1)


async def test_tool_surface_and_basic_flow() -> None:
    async with simulator_process(devices=2) as sim, http_session(sim.url) as s:
        tools = (await s.list_tools()).tools
        names = {t.name for t in tools}
        assert SEED_TOOLS <= names
        verbatim = {t["name"]: t for t in _verbatim_tools()}
        assert names == set(verbatim) - NOT_SERVED
        for t in tools:
            assert t.inputSchema == verbatim[t.name]["inputSchema"], t.name
            assert t.description == verbatim[t.name]["description"]

        devices = json.loads(await call(s, "mobile_list_available_devices", noParams={}))
        assert devices["devices"][0] == {
            "id": ALICE, "name": "Pixel 8 API 35 (Alice)", "platform": "android", "type": "emulator",
            "version": "15", "state": "online", "model": "sdk_gphone64_x86_64",
        }  # fmt: skip
        assert [d["id"] for d in devices["devices"]] == [ALICE, "emulator-5556"]

        assert await call(s, "mobile_get_screen_size", device=ALICE) == "Screen size is 1080x2400 pixels"
        assert "Talkie (com.example.ptt)" in await call(s, "mobile_list_apps", device=ALICE)
        assert await call(s, "mobile_launch_app", device=ALICE, packageName="com.example.ptt") == (
            "Launched app com.example.ptt"
        )
        listing = await call(s, "mobile_list_elements_on_screen", device=ALICE)
        lines = listing.splitlines()
        assert lines[0].startswith("One element per line: @ref Type text= label=")
        assert '@e1 TextView text="Channel: Team"' in lines[1]
        talk_line = 'id="com.example.ptt:id/talk" at=290,1500 size=500x500'
        assert any('Button text="Talk"' in ln and talk_line in ln
                   for ln in lines)  # fmt: skip
        raw = await call(s, "mobile_list_elements_on_screen", device=ALICE, format="json")
        assert raw.startswith("Found these elements on screen: [")
        items = json.loads(raw.removeprefix("Found these elements on screen: "))
        talk = next(i for i in items if i["text"] == "Talk")
        assert talk["type"] == "android.widget.Button"
        assert talk["identifier"] == "com.example.ptt:id/talk"
        assert talk["coordinates"] == {"x": 290, "y": 1500, "width": 500, "height": 500}
        assert await call(s, "mobile_get_foreground_app", device=ALICE) == "Foreground app: Talkie (com.example.ptt)"
        assert await call(s, "mobile_press_button", device=ALICE, button="HOME") == "Pressed the button: HOME"
        assert "Pixel Launcher" in await call(s, "mobile_get_foreground_app", device=ALICE)


async def test_login_by_ref_and_coordinates() -> None:
    async with simulator_process(devices=1) as sim, http_session(sim.url) as s:
        await call(s, "mobile_launch_app", device=ALICE, packageName="com.example.login")
        listing = await call(s, "mobile_list_elements_on_screen", device=ALICE)
        email = re.search(r'^(@e\d+) EditText label="Email"', listing, re.M)
        assert email
        assert await call(s, "mobile_click_on_screen_at_coordinates", device=ALICE, ref=email.group(1)) == (
            f"Clicked on element {email.group(1)}"
        )
        assert await call(s, "mobile_type_keys", device=ALICE, text="alice@example.com", submit=False) == (
            "Typed text: alice@example.com"
        )
        # Password field at=60,700 size=960x140 -> centre 540,770; numeric strings are coerced.
        assert await call(s, "mobile_click_on_screen_at_coordinates", device=ALICE, x="540", y=770.0) == (
            "Clicked on screen at coordinates: 540, 770"
        )
        await call(s, "mobile_type_keys", device=ALICE, text="secret", submit=False)
        listing = await call(s, "mobile_list_elements_on_screen", device=ALICE)
        assert 'text="alice@example.com" label="Email"' in listing
        await call(s, "mobile_click_on_screen_at_coordinates", device=ALICE, ref=ref_of(listing, "Sign in"))
        listing = await call(s, "mobile_list_elements_on_screen", device=ALICE)
        assert 'text="Welcome, Alice"' in listing
        assert "Invalid credentials" not in listing


async def test_wrong_password_and_screenshots(tmp_path: Path) -> None:
    async with simulator_process(devices=1) as sim, http_session(sim.url) as s:
        await call(s, "mobile_launch_app", device=ALICE, packageName="com.example.login")
        await call(s, "mobile_click_on_screen_at_coordinates", device=ALICE, x=540, y=570)
        await call(s, "mobile_type_keys", device=ALICE, text="alice@example.com", submit=True)  # ENTER -> password
        await call(s, "mobile_type_keys", device=ALICE, text="nope", submit=False)
        await call(s, "mobile_click_on_screen_at_coordinates", device=ALICE, x=540, y=990)
        assert 'text="Invalid credentials"' in await call(s, "mobile_list_elements_on_screen", device=ALICE)

        shot = await s.call_tool("mobile_take_screenshot", {"device": ALICE})
        assert not shot.isError
        assert [c.type for c in shot.content] == ["text", "image"]
        assert result_text(shot) == (
            "Screenshot is 461x1024. Screen coordinates are 1080x2400. To tap something you see in this "
            "screenshot, multiply its x by 2.3427 and y by 2.3438."
        )
        image = shot.content[1]
        assert image.type == "image" and image.mimeType == "image/jpeg"
        img = Image.open(io.BytesIO(base64.b64decode(image.data)))
        assert img.size == (461, 1024) and img.format == "JPEG"

        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "shot.png"
            assert await call(s, "mobile_save_screenshot", device=ALICE, saveTo=str(target)) == (
                f"Screenshot saved to: {target}"
            )
            saved = Image.open(target)
            assert saved.format == "PNG" and saved.size == (1080, 2400)


async def test_error_answers() -> None:
    async with simulator_process(devices=1) as sim, http_session(sim.url) as s:
        r = await s.call_tool("mobile_list_apps", {"device": "emulator-9999"})
        assert not r.isError
        assert result_text(r) == (
            'Device "emulator-9999" not found. Use the mobile_list_available_devices tool to see available '
            "devices.. Please fix the issue and try again."
        )
        r = await s.call_tool("mobile_launch_app", {"device": ALICE, "packageName": "com.nope"})
        assert r.isError
        assert result_text(r).startswith("Error: Command failed: mobilecli apps launch com.nope")
        assert "no launcher activity found for com.nope (is it installed?)" in result_text(r)
        r = await s.call_tool("mobile_click_on_screen_at_coordinates", {"x": 1, "y": 2})
        assert r.isError
        assert result_text(r) == (
            "MCP error -32602: Input validation error: Invalid arguments for tool "
            "mobile_click_on_screen_at_coordinates: "
            "Invalid input: expected string, received undefined at device"
        )
        r = await s.call_tool("mobile_click_on_screen_at_coordinates", {"device": ALICE})
        assert not r.isError
        assert result_text(r) == "Either ref or both x and y must be provided. Please fix the issue and try again."
        r = await s.call_tool("mobile_press_button", {"device": ALICE, "button": "JUMP"})
        assert r.isError and "unsupported button key: JUMP" in result_text(r)
        r = await s.call_tool("mobile_save_screenshot", {"device": ALICE, "saveTo": "/etc/shot.png"})
        assert not r.isError
        assert result_text(r).startswith('"/etc" is not in the list of allowed directories.')
        r = await s.call_tool("mobile_save_screenshot", {"device": ALICE, "saveTo": "/tmp/shot.gif"})
        assert result_text(r) == (
            'save_screenshot requires a .png, .jpg, .jpeg file extension, got: ".gif". '
            "Please fix the issue and try again."
        )
        r = await s.call_tool("mobile_open_url", {"device": ALICE, "url": "javascript:alert(1)"})
        assert "Only http:// and https:// URLs are allowed" in result_text(r)
        r = await s.call_tool("mobile_type_keys", {"device": ALICE, "text": "x"})
        assert r.isError and "received undefined at submit" in result_text(r)
        actions = await sim.actions()
        keys = {"seq", "device", "tool", "arguments", "start", "end", "ok", "error"}
        assert actions and all(keys <= a.keys()
                               for a in actions)  # fmt: skip
        assert actions[0]["ok"] is False and "not found" in actions[0]["error"]


@pytest.mark.parametrize("pkg", ["com.example.call"])
async def test_group_call_three_devices(pkg: str) -> None:
    alice, bob, carol = "emulator-5554", "emulator-5556", "emulator-5558"
    async with simulator_process(devices=3) as sim, http_session(sim.url) as s:
        for d in (alice, bob, carol):
            await call(s, "mobile_launch_app", device=d, packageName=pkg)
        listing = await call(s, "mobile_list_elements_on_screen", device=alice)
        await call(s, "mobile_click_on_screen_at_coordinates", device=alice, ref=ref_of(listing, "Call group"))
        caller = await call(s, "mobile_list_elements_on_screen", device=alice)
        assert 'text="Calling Team…"' in caller and 'text="1 participant"' in caller
        assert "Incoming call" not in await call(s, "mobile_list_elements_on_screen", device=bob)
        import asyncio

        await asyncio.sleep(0.7)
        for d in (bob, carol):
            listing = await call(s, "mobile_list_elements_on_screen", device=d)
            assert 'text="Incoming call from Alice"' in listing
            assert 'Button text="Decline"' in listing
            await call(s, "mobile_click_on_screen_at_coordinates", device=d, ref=ref_of(listing, "Accept"))
            assert 'text="In call"' in await call(s, "mobile_list_elements_on_screen", device=d)
        assert 'text="3 participants"' in await call(s, "mobile_list_elements_on_screen", device=alice)


async def test_refs_are_resolved_against_the_screen_at_call_time() -> None:
    """As mobilecli does: a ref is looked up in a fresh dump, so a stale one taps what holds its number now."""
    async with simulator_process(devices=1) as sim, http_session(sim.url) as s:
        await call(s, "mobile_launch_app", device=ALICE, packageName="com.example.login")
        listing = await call(s, "mobile_list_elements_on_screen", device=ALICE)
        assert "@e12" not in listing and re.search(r"^@e6 LinearLayout label=\"Battery", listing, re.M), listing
        absent = await s.call_tool("mobile_click_on_screen_at_coordinates", {"device": ALICE, "ref": "@e12"})
        assert absent.isError and result_text(absent) == (
            f"Error: Command failed: mobilecli io tap @e12 --device {ALICE}\n"
            "ref @e12 not found on current screen; refs come from the latest 'dump ui'\n"
        )
        await call(s, "mobile_press_button", device=ALICE, button="HOME")  # no new listing: @e6 (the battery) is stale
        assert await call(s, "mobile_click_on_screen_at_coordinates", device=ALICE, ref="@e6") == (
            "Clicked on element @e6"
        )
        assert (
            await call(s, "mobile_get_foreground_app", device=ALICE) == "Foreground app: Talkie RC (com.example.ptt.rc)"
        )
        unknown = await s.call_tool("mobile_nope", {"device": ALICE})
        assert unknown.isError and result_text(unknown) == "MCP error -32602: Tool mobile_nope not found"
