"""Screens like a phone's, through the simulator's MCP tools: nested layouts, element states, a soft keyboard
that hides what is under it, dialogs, toasts, scrollable and growing lists, status and navigation bars
(the example app ``examples/apps/chatter.yaml``)."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from mcp import ClientSession

from qa_agent.world.sim.expr import ExprError, evaluate
from qa_agent.world.sim.process import simulator_process
from qa_agent.world.sim.testing import http_session, result_text
from tests.conftest import APPS

ALICE, BOB = "emulator-5554", "emulator-5556"


@contextlib.asynccontextmanager
async def phones() -> AsyncIterator[ClientSession]:
    async with simulator_process(devices=2, apps_dir=APPS) as sim, http_session(sim.url) as session:
        yield session


async def call(s: ClientSession, tool: str, device: str = ALICE, **args: Any) -> str:
    result = await s.call_tool(tool, {"device": device, **args})
    assert not result.isError, result_text(result)
    return result_text(result)


async def listing(s: ClientSession, device: str = ALICE) -> str:
    return await call(s, "mobile_list_elements_on_screen", device)


def line(text: str, listing_text: str) -> str:
    found = [ln for ln in listing_text.splitlines() if f'text="{text}"' in ln or f'label="{text}"' in ln]
    assert len(found) == 1, (text, listing_text)
    return found[0]


async def send(s: ClientSession, message: str, device: str = ALICE) -> None:
    await call(s, "mobile_click_on_screen_at_coordinates", device, x=400, y=1300)  # the draft field
    await call(s, "mobile_type_keys", device, text=message, submit=False)
    await call(s, "mobile_click_on_screen_at_coordinates", device, x=930, y=1300)  # Send


async def test_nested_layout_states_and_system_bars() -> None:
    async with phones() as s:
        await call(s, "mobile_launch_app", packageName="com.example.chat")
        chat = (await listing(s)).splitlines()
        # a container, then its children; the bars after the app; the clock is the status bar's
        assert chat[1].startswith('@e1 LinearLayout id="com.example.chat:id/toolbar"')
        assert chat[2].startswith('@e2 TextView text="Team chat"') and chat[3].startswith("@e3 ImageButton")
        assert re.fullmatch(r'@e\d+ TextView text="\d\d:\d\d" id="com\.android\.systemui:id/clock" .*', chat[-5])
        assert [ln.split('label="')[1].split('"')[0] for ln in chat[-3:]] == ["Back", "Home", "Overview"]
        assert line("Send", "\n".join(chat)).endswith(" disabled")  # nothing typed yet

        await call(s, "mobile_click_on_screen_at_coordinates", x=990, y=160)  # settings
        settings = await listing(s)
        assert line("Sounds", settings).endswith(" checked") and not line("Vibrate", settings).endswith("checked")
        assert line("General", settings).endswith(" selected")
        await call(s, "mobile_click_on_screen_at_coordinates", x=500, y=460)  # the Sounds switch
        await call(s, "mobile_click_on_screen_at_coordinates", x=500, y=620)  # the Vibrate box
        settings = await listing(s)
        assert line("Sounds", settings).endswith("size=1000x120") and line("Vibrate", settings).endswith(" checked")
        as_json = await call(s, "mobile_list_elements_on_screen", format="json")
        assert '"text":"Vibrate","identifier":"com.example.chat:id/vibrate","coordinates":' in as_json
        assert '"checked":true' in as_json and '"selected":true' in as_json and '"enabled":false' in as_json

        # the navigation bar's Back key is BACK
        back = line("Back", settings)
        await call(s, "mobile_click_on_screen_at_coordinates", ref=back.split()[0])
        assert "Team chat" in await listing(s)


async def test_soft_keyboard_hides_the_lower_screen_until_dismissed() -> None:
    async with phones() as s:
        await call(s, "mobile_launch_app", packageName="com.example.chat")
        await call(s, "mobile_click_on_screen_at_coordinates", x=990, y=160)
        assert "Save" in await listing(s)
        await call(s, "mobile_click_on_screen_at_coordinates", x=500, y=790)  # focus the name: keyboard up
        typing = await listing(s)
        assert re.search(r'^@e\d+ EditText id="com\.example\.chat:id/name" .* focused$', typing, re.M), typing
        assert 'text="Save"' not in typing  # under the keyboard
        await call(s, "mobile_click_on_screen_at_coordinates", x=500, y=1970)  # taps the keyboard, not Save
        await call(s, "mobile_type_keys", text="Al", submit=False)
        await call(s, "mobile_press_button", button="BACK")  # hides the keyboard only
        shown = await listing(s)
        assert "Chat settings" in shown and not line("Save", shown).endswith("disabled")
        await call(s, "mobile_click_on_screen_at_coordinates", x=500, y=1970)
        assert line("Save", await listing(s)).endswith(" disabled")  # saved: nothing changed any more


async def test_dialog_toast_and_a_chat_history_that_grows_and_scrolls() -> None:
    async with phones() as s:
        for device in (ALICE, BOB):
            await call(s, "mobile_launch_app", device, packageName="com.example.chat")
        assert "No messages yet" in await listing(s, BOB)
        for i in range(12):
            await send(s, f"hello {i}")
        await call(s, "mobile_press_button", button="BACK")  # keyboard down

        # Bob's history grew; it follows the newest messages, the oldest are absent until he scrolls back
        bob = await listing(s, BOB)
        assert "Alice: hello 11" in bob and "Alice: hello 0" not in bob
        await call(s, "mobile_swipe_on_screen", BOB, direction="down", x=540, y=700)
        bob = await listing(s, BOB)
        assert "Alice: hello 0" in bob and "Alice: hello 11" not in bob
        await call(s, "mobile_swipe_on_screen", BOB, direction="up", x=540, y=700)
        assert "Alice: hello 11" in await listing(s, BOB)

        # the toast comes 300 ms after sending, and goes
        await send(s, "bye")
        deadline = asyncio.get_running_loop().time() + 30
        while 'text="Message sent"' not in await listing(s):
            assert asyncio.get_running_loop().time() < deadline, "no toast"
        while 'text="Message sent"' in await listing(s):
            assert asyncio.get_running_loop().time() < deadline, "the toast stays"

        # a dialog is all the app shows; BACK cancels it; Clear empties the shared history
        await call(s, "mobile_press_button", button="BACK")
        await call(s, "mobile_click_on_screen_at_coordinates", x=540, y=1770)  # Clear history
        dialog = await listing(s)
        assert "Clear chat history?" in dialog and "Team chat" not in dialog and "hello" not in dialog
        await call(s, "mobile_click_on_screen_at_coordinates", x=200, y=200)  # outside: the dialog takes it
        await call(s, "mobile_press_button", button="BACK")
        assert "Clear chat history?" not in await listing(s)
        await call(s, "mobile_click_on_screen_at_coordinates", x=540, y=1770)
        await call(s, "mobile_click_on_screen_at_coordinates", x=820, y=1310)  # Clear
        assert "No messages yet" in await listing(s, BOB)


def test_expression_helpers() -> None:
    ctx = {"state": {"log": ["a", "b", "c"], "name": "  Al  "}}
    assert evaluate("len(state.log)", ctx) == 3 and evaluate("state.log[-1]", ctx) == "c"
    assert evaluate("join(take_last(state.log, 2), '|')", ctx) == "b|c"
    assert evaluate("append(state.log, upper(trim(state.name)))", ctx) == ["a", "b", "c", "AL"]
    assert evaluate("state.log[7]", ctx) is None and evaluate("startswith(state.log[0], 'a')", ctx) is True
    assert re.fullmatch(r"\d\d:\d\d", evaluate("now('%H:%M')", ctx))
    with pytest.raises(ExprError, match="only calls of"):
        evaluate("__import__('os')", ctx)
