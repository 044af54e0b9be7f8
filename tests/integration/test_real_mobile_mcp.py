"""The real mobile-mcp 1.0.4 (through mobilecli 1.0.9 and our fake adb) against our simulator's own MCP surface.

Both clients drive the same world: the real server through ``$ANDROID_HOME/platform-tools/adb`` -> ``POST
/sim/adb``, ours through the simulator's ``/mcp``. Each of the seed's 19 tools is called with the same
arguments on both, and the answers must have the same shape (and, where the world is the same, the same text).
Skipped (loudly) when Node/npm or the npm registry is missing.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession, types
from PIL import Image

from qa_agent.world.realservers.install import Installed
from qa_agent.world.realservers.mobile import MobileMcpLaunch, mobile_mcp_launch
from qa_agent.world.realservers.testing import installed_or_skip_reason, normalise_mobilecli
from qa_agent.world.sim.process import SimulatorHandle, simulator_process
from qa_agent.world.sim.testing import http_session, result_text, stdio_session

pytestmark = pytest.mark.slow

SEED_TOOLS = [
    "mobile_list_available_devices",
    "mobile_list_apps",
    "mobile_launch_app",
    "mobile_terminate_app",
    "mobile_install_app",
    "mobile_uninstall_app",
    "mobile_get_screen_size",
    "mobile_click_on_screen_at_coordinates",
    "mobile_double_tap_on_screen",
    "mobile_long_press_on_screen_at_coordinates",
    "mobile_list_elements_on_screen",
    "mobile_press_button",
    "mobile_open_url",
    "mobile_swipe_on_screen",
    "mobile_type_keys",
    "mobile_save_screenshot",
    "mobile_take_screenshot",
    "mobile_set_orientation",
    "mobile_get_orientation",
]
REAL_ID = "Pixel_8_API_35_Alice"
OUR_ID = "emulator-5554"
MAPPING_RE = re.compile(
    r"^Screenshot is (\d+)x(\d+)\. Screen coordinates are 1080x2400\. To tap something you see in this "
    r"screenshot, multiply its x by [\d.]+ and y by [\d.]+\.$"
)


@pytest.fixture(scope="module")
def real_servers() -> Installed:
    installed, reason = installed_or_skip_reason()
    if installed is None:
        pytest.skip(reason or "real servers unavailable")
    return installed


@pytest.fixture
async def world(real_servers: Installed) -> AsyncIterator[SimulatorHandle]:
    async with simulator_process(devices=2) as sim:
        yield sim


@pytest.fixture
def launch(world: SimulatorHandle) -> Iterator[MobileMcpLaunch]:
    handle = mobile_mcp_launch(world.url)
    try:
        yield handle
    finally:
        handle.teardown()


class Pair:
    """The same call on the real server (real device id) and on ours (our id)."""

    def __init__(self, real: ClientSession, ours: ClientSession) -> None:
        self.real = real
        self.ours = ours

    async def call_real(self, tool: str, args: dict[str, Any]) -> types.CallToolResult:
        if "device" in args and args["device"] == OUR_ID:
            args = {**args, "device": REAL_ID}
        return await self.real.call_tool(tool, args)

    async def call_ours(self, tool: str, args: dict[str, Any]) -> types.CallToolResult:
        return await self.ours.call_tool(tool, args)

    async def both(self, tool: str, args: dict[str, Any]) -> tuple[types.CallToolResult, types.CallToolResult]:
        return await self.call_real(tool, args), await self.call_ours(tool, args)

    async def same_text(self, tool: str, args: dict[str, Any], *, is_error: bool = False) -> str:
        real, ours = await self.both(tool, args)
        assert bool(real.isError) == bool(ours.isError) == is_error, (tool, result_text(real), result_text(ours))
        real_text = normalise_mobilecli(result_text(real), {REAL_ID: OUR_ID})
        assert real_text == result_text(ours), tool
        return real_text


def _shape(content: list[Any]) -> list[str]:
    return [c.type + (f":{c.mimeType}" if isinstance(c, types.ImageContent) else "") for c in content]


def _image_size(content: types.ImageContent) -> tuple[int, int]:
    with Image.open(io.BytesIO(base64.b64decode(content.data))) as img:
        return img.size


async def test_contract_19_seed_tools(world: SimulatorHandle, launch: MobileMcpLaunch, tmp_path: Path) -> None:
    called: set[str] = set()
    async with stdio_session(launch.command, launch.args) as real, http_session(world.url) as ours:
        tools_real = {t.name for t in (await real.list_tools()).tools}
        tools_ours = {t.name for t in (await ours.list_tools()).tools}
        assert set(SEED_TOOLS) <= tools_real and set(SEED_TOOLS) <= tools_ours
        p = Pair(real, ours)
        dev = {"device": OUR_ID}

        # -- devices: same keys, same count; ids differ (AVD names through mobilecli, serials in the sim)
        real_r, ours_r = await p.both("mobile_list_available_devices", {})
        real_devs = json.loads(result_text(real_r))["devices"]
        our_devs = json.loads(result_text(ours_r))["devices"]
        assert [list(d) for d in real_devs] == [list(d) for d in our_devs]
        assert [d["id"] for d in real_devs] == ["Pixel_8_API_35_Alice", "Pixel_8_API_35_Bob"]
        assert [d["id"] for d in our_devs] == ["emulator-5554", "emulator-5556"]
        for r, o in zip(real_devs, our_devs, strict=True):
            assert {k: v for k, v in r.items() if k not in ("id", "name")} == {
                k: v for k, v in o.items() if k not in ("id", "name")
            }
        called.add("mobile_list_available_devices")

        # -- apps (the same installed set; names through the fake on-device agent)
        real_r, ours_r = await p.both("mobile_list_apps", dev)
        prefix = "Found these apps on device: "
        assert result_text(real_r).startswith(prefix) and result_text(ours_r).startswith(prefix)
        split = lambda r: sorted(result_text(r).removeprefix(prefix).split(", "))  # noqa: E731
        assert split(real_r) == split(ours_r)
        called.add("mobile_list_apps")

        # -- screen size, orientation
        await p.same_text("mobile_get_screen_size", dev)
        await p.same_text("mobile_get_orientation", dev)
        await p.same_text("mobile_set_orientation", {**dev, "orientation": "landscape"})
        assert await p.same_text("mobile_get_orientation", dev) == "Current device orientation is landscape"
        await p.same_text("mobile_set_orientation", {**dev, "orientation": "portrait"})
        called |= {"mobile_get_screen_size", "mobile_get_orientation", "mobile_set_orientation"}

        # -- launch / list elements (text and json) / refs
        await p.same_text("mobile_launch_app", {**dev, "packageName": "com.example.login"})
        listing = await p.same_text("mobile_list_elements_on_screen", dev)
        assert listing.splitlines()[0].startswith("One element per line: @ref Type")
        assert re.search(r'^@e\d+ EditText .*id="com\.example\.login:id/email"', listing, re.M), listing
        as_json = await p.same_text("mobile_list_elements_on_screen", {**dev, "format": "json"})
        assert as_json.startswith("Found these elements on screen: [")
        items = json.loads(as_json.removeprefix("Found these elements on screen: "))
        assert all({"ref", "type", "coordinates"} <= set(i) for i in items)
        email_ref = next(i["ref"] for i in items if i.get("identifier") == "com.example.login:id/email")
        called |= {"mobile_launch_app", "mobile_list_elements_on_screen"}

        # -- click by ref and by coordinates, typing into the focused field (real first, then ours)
        assert result_text(await p.call_real("mobile_click_on_screen_at_coordinates", {**dev, "ref": email_ref}))
        await p.call_real("mobile_type_keys", {**dev, "text": "bob", "submit": False})
        typed = await p.call_ours("mobile_list_elements_on_screen", dev)
        assert 'text="bob"' in result_text(typed)  # the adb path typed into the same world
        await p.same_text("mobile_click_on_screen_at_coordinates", {**dev, "ref": email_ref})
        await p.same_text("mobile_type_keys", {**dev, "text": "x y", "submit": False})
        after = result_text(await p.call_ours("mobile_list_elements_on_screen", dev))
        assert 'text="bobx yx y"' in after
        await p.same_text("mobile_click_on_screen_at_coordinates", {**dev, "x": 5, "y": 2300})
        await p.same_text("mobile_double_tap_on_screen", {**dev, "x": 5, "y": 2300})
        await p.same_text("mobile_long_press_on_screen_at_coordinates", {**dev, "x": 5, "y": 2300, "duration": 200})
        await p.same_text("mobile_long_press_on_screen_at_coordinates", {**dev, "x": 5, "y": 2300})
        no_target = await p.same_text("mobile_click_on_screen_at_coordinates", dev)
        assert no_target.endswith(". Please fix the issue and try again.")
        called |= {
            "mobile_click_on_screen_at_coordinates",
            "mobile_type_keys",
            "mobile_double_tap_on_screen",
            "mobile_long_press_on_screen_at_coordinates",
        }

        # -- swipes and buttons
        await p.same_text("mobile_swipe_on_screen", {**dev, "direction": "up"})
        await p.same_text("mobile_swipe_on_screen", {**dev, "direction": "left", "x": 500, "y": 1200, "distance": 300})
        await p.same_text("mobile_press_button", {**dev, "button": "HOME"})
        await p.same_text("mobile_press_button", {**dev, "button": "NOPE"}, is_error=True)
        called |= {"mobile_swipe_on_screen", "mobile_press_button"}

        # -- terminate, unknown package
        await p.same_text("mobile_launch_app", {**dev, "packageName": "com.example.ptt"})
        await p.same_text("mobile_terminate_app", {**dev, "packageName": "com.example.ptt"})
        await p.same_text("mobile_launch_app", {**dev, "packageName": "com.nope.app"}, is_error=True)
        called.add("mobile_terminate_app")

        # -- open URL
        await p.same_text("mobile_open_url", {**dev, "url": "https://example.com/a"})
        unsafe = await p.same_text("mobile_open_url", {**dev, "url": "file:///etc/passwd"})
        assert unsafe.startswith("Only http:// and https:// URLs are allowed.")
        called.add("mobile_open_url")

        # -- install / uninstall: state changes, so each server does its own round trip
        apk = tmp_path / "com.example.ptt.rc.apk"
        apk.write_bytes(b"PK\x03\x04 fake apk")
        bogus = tmp_path / "com.unknown.thing.apk"
        bogus.write_bytes(b"PK\x03\x04 fake apk")
        for call in (p.call_real, p.call_ours):
            r = await call("mobile_uninstall_app", {**dev, "bundle_id": "com.example.ptt.rc"})
            assert not r.isError and result_text(r) == "Uninstalled app com.example.ptt.rc"
            r = await call("mobile_install_app", {**dev, "path": str(apk)})
            assert not r.isError and result_text(r) == f"Installed app from {apk}"
        await p.same_text("mobile_install_app", {**dev, "path": str(bogus)}, is_error=True)
        await p.same_text("mobile_install_app", {**dev, "path": str(tmp_path / "x.txt")})
        await p.same_text("mobile_install_app", {**dev, "path": str(tmp_path / "missing.apk")})
        await p.same_text("mobile_uninstall_app", {**dev, "bundle_id": "com.not.installed"}, is_error=True)
        called |= {"mobile_install_app", "mobile_uninstall_app"}

        # -- screenshots
        for call, name in ((p.call_real, "real"), (p.call_ours, "ours")):
            shot = await call("mobile_take_screenshot", dev)
            assert not shot.isError
            assert _shape(shot.content) == ["text", "image:image/jpeg"], name
            text_block = shot.content[0]
            assert isinstance(text_block, types.TextContent)
            m = MAPPING_RE.match(text_block.text)
            assert m, (name, text_block.text)
            image = shot.content[1]
            assert isinstance(image, types.ImageContent)
            assert _image_size(image) == (int(m.group(1)), int(m.group(2))) == (461, 1024)
            full = await call("mobile_take_screenshot", {**dev, "maxSize": 4000})
            assert result_text(full) == "Screenshot is 1080x2400 and its coordinates match the screen."
            target = tmp_path / f"shot-{name}.png"
            saved = await call("mobile_save_screenshot", {**dev, "saveTo": str(target)})
            assert result_text(saved) == f"Screenshot saved to: {target}"
            with Image.open(target) as img:
                assert (img.format, img.size) == ("PNG", (1080, 2400))
        await p.same_text("mobile_save_screenshot", {**dev, "saveTo": str(tmp_path / "x.gif")})
        called |= {"mobile_take_screenshot", "mobile_save_screenshot"}

        # -- unknown device: the same actionable answer (no isError) on every tool
        real_r, ours_r = await p.both("mobile_take_screenshot", {"device": "nope-123"})
        assert real_r.isError and ours_r.isError  # registered outside the wrapper: always "Error: ..."
        assert (
            result_text(real_r)
            == result_text(ours_r)
            == (
                'Error: Device "nope-123" not found. Use the mobile_list_available_devices tool to see '
                "available devices."
            )
        )
        for tool in ("mobile_list_apps", "mobile_get_screen_size", "mobile_launch_app"):
            extra = {"packageName": "com.example.ptt"} if tool == "mobile_launch_app" else {}
            real_r, ours_r = await p.both(tool, {"device": "nope-123", **extra})
            assert not real_r.isError and not ours_r.isError
            assert (
                result_text(real_r)
                == result_text(ours_r)
                == (
                    'Device "nope-123" not found. Use the mobile_list_available_devices tool to see available '
                    "devices.. Please fix the issue and try again."
                )
            )

        # -- schema validation errors (missing device)
        real_r, ours_r = await p.both("mobile_get_screen_size", {})
        assert real_r.isError and ours_r.isError
        assert result_text(real_r) == result_text(ours_r)

    assert called == set(SEED_TOOLS)
    actions = await world.actions()
    adb_actions = [a for a in actions if a["tool"] == "adb"]
    assert any(a["arguments"]["argv"][:3] == ["shell", "input", "tap"] for a in adb_actions)
    assert all(a["device"] == OUR_ID for a in adb_actions)


# The tools the real server has and the simulator does not serve (cloud fleet and screen recording).
NOT_SERVED = {
    "mobile_login_to_cloud_provider",
    "mobile_list_remote_devices",
    "mobile_allocate_remote_device",
    "mobile_release_remote_device",
    "mobile_start_screen_recording",
    "mobile_stop_screen_recording",
}


async def test_contract_tool_list_matches_the_live_server(world: SimulatorHandle, launch: MobileMcpLaunch) -> None:
    """Names, order, titles, descriptions, input schemas and annotations of every served tool, as the live
    server lists them: a new mobile-mcp that changes any of them fails here."""
    async with stdio_session(launch.command, launch.args) as real, http_session(world.url) as ours:
        real_tools = [t.model_dump() for t in (await real.list_tools()).tools]
        our_tools = [t.model_dump() for t in (await ours.list_tools()).tools]
    assert {t["name"] for t in real_tools} - {t["name"] for t in our_tools} == NOT_SERVED
    assert [t for t in real_tools if t["name"] not in NOT_SERVED] == our_tools


async def test_contract_refs_unknown_tools_and_the_other_tools(world: SimulatorHandle, launch: MobileMcpLaunch) -> None:
    """Refs are resolved against the screen at call time on both servers (one world, so a stale ref on one
    taps what the other would tap); unknown and malformed refs and unknown tools answer the same text."""
    async with stdio_session(launch.command, launch.args) as real, http_session(world.url) as ours:
        p = Pair(real, ours)
        dev = {"device": OUR_ID}
        await p.same_text("mobile_nope", dev, is_error=True)
        await p.same_text("mobile_launch_app", {**dev, "packageName": "com.example.login"})
        listing = await p.same_text("mobile_list_elements_on_screen", dev)
        assert "@e4 Button" in listing and "@e12" not in listing
        unknown = await p.same_text("mobile_click_on_screen_at_coordinates", {**dev, "ref": "@e12"}, is_error=True)
        assert unknown.endswith("ref @e12 not found on current screen; refs come from the latest 'dump ui'\n")
        for bad in ("e1", ""):
            await p.same_text("mobile_click_on_screen_at_coordinates", {**dev, "ref": bad}, is_error=True)
        await p.same_text("mobile_click_on_screen_at_coordinates", {**dev, "ref": "5,2300"})

        # stale: @e6 was the login screen's battery; after HOME it is the launcher's sixth icon (Talkie RC)
        for call in (p.call_real, p.call_ours):
            await call("mobile_press_button", {**dev, "button": "HOME"})
            tapped = await call("mobile_click_on_screen_at_coordinates", {**dev, "ref": "@e6"})
            assert not tapped.isError and result_text(tapped) == "Clicked on element @e6"
            front = await p.call_ours("mobile_get_foreground_app", dev)
            assert result_text(front).endswith("(com.example.ptt.rc)")
            await call("mobile_terminate_app", {**dev, "packageName": "com.example.ptt.rc"})

        # the served tools beyond the seed's 19 (clipboard and the foreground app's name: see the sim README)
        await p.same_text("mobile_set_location", {**dev, "latitude": 1.5, "longitude": 2})
        await p.same_text("mobile_set_location", {**dev, "latitude": 1.5})
        await p.same_text("mobile_set_location", dev)
        await p.same_text("mobile_list_crashes", dev)
        await p.same_text("mobile_get_crash", {**dev, "id": "nope"}, is_error=True)
        await p.same_text("mobile_get_device_logs", {**dev, "limit": 1})
        await p.same_text("mobile_launch_app", {**dev, "packageName": "com.example.login"})
        steps = [
            {"name": "mobile_get_orientation", "arguments": {}},
            {"name": "mobile_click_on_screen_at_coordinates", "arguments": {"ref": "@e9"}},
        ]
        await p.same_text("mobile_batch_commands", {**dev, "steps": steps, "listElementsAtEnd": True})
        await p.same_text("mobile_batch_commands", {**dev, "steps": [{"name": "mobile_nope", "arguments": {}}]})
        real_front, our_front = await p.both("mobile_get_foreground_app", dev)
        assert result_text(real_front).endswith("(com.example.login)")
        assert result_text(our_front) == "Foreground app: Acme (com.example.login)"


async def test_contract_phone_screens(world: SimulatorHandle, launch: MobileMcpLaunch) -> None:
    """Nested layouts, element states, dialogs, lists and the system bars read the same through the real
    server (mobilecli parses our fake adb's UI dump) as through ours."""
    async with stdio_session(launch.command, launch.args) as real, http_session(world.url) as ours:
        p = Pair(real, ours)
        dev = {"device": OUR_ID}
        await p.same_text("mobile_launch_app", {**dev, "packageName": "com.example.chat"})
        for message in ("one", "two"):
            await p.call_ours("mobile_click_on_screen_at_coordinates", {**dev, "x": 400, "y": 1300})
            await p.call_ours("mobile_type_keys", {**dev, "text": message, "submit": False})
            await p.call_ours("mobile_click_on_screen_at_coordinates", {**dev, "x": 930, "y": 1300})
        chat = await p.same_text("mobile_list_elements_on_screen", dev)
        assert 'text="Alice: two"' in chat and " focused" in chat and "com.android.systemui:id/clock" in chat
        # one world: what changes state runs once (through the real server), the reading calls on both
        await p.call_real("mobile_press_button", {**dev, "button": "BACK"})  # hides the keyboard
        await p.call_real("mobile_click_on_screen_at_coordinates", {**dev, "x": 540, "y": 1770})
        dialog = await p.same_text("mobile_list_elements_on_screen", {**dev, "format": "json"})
        assert "Clear chat history?" in dialog and "Team chat" not in dialog
        await p.call_real("mobile_press_button", {**dev, "button": "BACK"})  # cancels the dialog
        await p.call_real("mobile_click_on_screen_at_coordinates", {**dev, "x": 990, "y": 160})
        settings = await p.same_text("mobile_list_elements_on_screen", dev)
        assert " checked" in settings and " selected" in settings and " disabled" in settings
        await p.same_text("mobile_list_elements_on_screen", {**dev, "format": "json"})
