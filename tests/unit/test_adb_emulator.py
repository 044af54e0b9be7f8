"""The fake adb (qa_agent/world/sim/adb.py) in-process: mobilecli's command lines against one simulated world."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from qa_agent.world.sim.adb import AdbEmulator, client_main, handle_request
from qa_agent.world.sim.config import SimConfig
from qa_agent.world.sim.loader import load_apps
from qa_agent.world.sim.tools import Simulator
from tests.conftest import APPS

A, B = "emulator-5554", "emulator-5556"


@pytest.fixture
def sim() -> Simulator:
    return Simulator(SimConfig(devices=2, apps_dir=APPS), load_apps(APPS))


async def sh(adb: AdbEmulator, serial: str, *args: str) -> str:
    result = await adb.run(["-s", serial, *args])
    assert result.code == 0, result
    assert result.stderr == ""  # mobilecli merges stderr into what it parses
    return result.stdout.decode()


def nodes(xml: str) -> list[dict[str, str]]:
    root = ET.fromstring(xml[: xml.index("</hierarchy>") + len("</hierarchy>")])
    return [n.attrib for n in root.iter("node")]


async def test_discovery(sim: Simulator) -> None:
    adb = AdbEmulator(sim)
    out = (await adb.run(["devices"])).stdout.decode()
    assert out == f"List of devices attached\n{A}\tdevice\n{B}\tdevice\n\n"
    assert await sh(adb, A, "shell", "getprop", "ro.boot.qemu.avd_name") == "Pixel_8_API_35_Alice\n"
    assert await sh(adb, B, "shell", "getprop", "ro.boot.qemu.avd_name") == "Pixel_8_API_35_Bob\n"
    assert await sh(adb, A, "shell", "wm", "size") == "Physical size: 1080x2400\n"
    missing = await adb.run(["-s", "emulator-9999", "shell", "wm", "size"])
    assert missing.code == 1 and "not found" in missing.stderr


async def test_launch_dump_tap_type_keys(sim: Simulator) -> None:
    adb = AdbEmulator(sim)
    resolved = await sh(adb, A, "shell", "cmd", "package", "resolve-activity", "--brief", "com.example.login")
    assert resolved.splitlines()[-1] == "com.example.login/.MainActivity"
    assert "No activity found" in await sh(adb, A, "shell", "cmd", "package", "resolve-activity", "--brief", "x.y")
    await sh(adb, A, "shell", "am", "start", "-n", "com.example.login/.MainActivity")
    assert "mCurrentFocus=Window{4d2c9b1 u0 com.example.login/" in await sh(
        adb, A, "shell", "dumpsys", "window", "displays"
    )
    dump = await sh(adb, A, "exec-out", "uiautomator", "dump", "/dev/tty")
    assert dump.startswith("<?xml") and dump.endswith("UI hierchary dumped to: /dev/tty\n")
    email = next(n for n in nodes(dump) if n.get("resource-id") == "com.example.login:id/email")
    assert email["class"] == "android.widget.EditText" and email["clickable"] == "true"
    x1, y1, x2, y2 = (int(v) for v in email["bounds"].strip("[]").replace("][", ",").split(","))
    await sh(adb, A, "shell", "input", "tap", str((x1 + x2) // 2), str((y1 + y2) // 2))
    await sh(adb, A, "shell", "input", "text", "alice@example.com")
    await sh(adb, A, "shell", "input", "keyevent", "KEYCODE_ENTER")  # ENTER in Email -> focus Password
    await sh(adb, A, "shell", "input", "text", "secret")
    fields = {n.get("resource-id"): n for n in nodes(await sh(adb, A, "exec-out", "uiautomator", "dump", "/dev/tty"))}
    assert fields["com.example.login:id/email"]["text"] == "alice@example.com"
    assert fields["com.example.login:id/password"]["password"] == "true"
    assert sim.world.devices[0].running["com.example.login"].state.get("password") == "secret"
    await sh(adb, A, "shell", "input", "keyevent", "KEYCODE_HOME")
    assert sim.world.devices[0].foreground is None
    logged = [a for a in sim.world.actions.dump() if a["tool"] == "adb"]
    assert logged and all(a["device"] == A for a in logged)
    assert any(a["arguments"]["argv"][:3] == ["shell", "input", "tap"] for a in logged)


async def test_long_press_through_swipe_reaches_other_device(sim: Simulator) -> None:
    adb = AdbEmulator(sim)
    for serial in (A, B):
        await sh(adb, serial, "shell", "monkey", "-p", "com.example.ptt", "-c", "android.intent.category.LAUNCHER", "1")
    talk = next(
        n for n in nodes(await sh(adb, A, "exec-out", "uiautomator", "dump", "/dev/tty")) if n["text"] == "Talk"
    )
    assert talk["long-clickable"] == "true"
    await sh(adb, A, "shell", "input", "swipe", "540", "1750", "540", "1750", "300")
    assert sim.world.devices[0].held is None
    assert sim.world.shared["com.example.ptt"].get("talker") in (None, "Alice")


async def test_orientation_screencap_install_uninstall(sim: Simulator, tmp_path: object) -> None:
    adb = AdbEmulator(sim)
    await sh(
        adb, A, "shell", "content", "insert", "--uri", "content://settings/system",
        "--bind", "name:s:user_rotation", "--bind", "value:i:1",
    )  # fmt: skip
    assert await sh(adb, A, "shell", "settings", "get", "system", "user_rotation") == "1\n"
    png = (await adb.run(["-s", A, "exec-out", "screencap", "-p"])).stdout
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert "Success" in await sh(adb, A, "uninstall", "com.example.ptt.rc")
    again = await adb.run(["-s", A, "uninstall", "com.example.ptt.rc"])
    assert again.code == 1 and b"DELETE_FAILED_INTERNAL_ERROR" in again.stdout
    assert "Success" in await sh(adb, A, "install", "-r", "/tmp/com.example.ptt.rc.apk")
    bad = await adb.run(["-s", A, "install", "-r", "/tmp/other.apk"])
    assert bad.code == 1 and "Failure [INSTALL_PARSE_FAILED_NOT_APK" in bad.stderr


async def test_agent_forward_and_apps_rpc(sim: Simulator) -> None:
    adb = AdbEmulator(sim)
    port = int(await sh(adb, A, "forward", "tcp:0", "localabstract:mobilecli-server"))
    assert await sh(adb, A, "forward", "--list") == f"{A} tcp:{port} localabstract:mobilecli-server\n"
    agent = adb.agents[A]
    apps = agent.answer({"jsonrpc": "2.0", "id": "1", "method": "device.apps.list"})["result"]
    assert {"packageName": "com.example.ptt", "appName": "Talkie", "version": "41"} in apps
    assert agent.answer({"id": "1", "method": "device.dump.ui"})["error"]["code"] == -32601
    await sh(adb, A, "forward", "--remove", f"tcp:{port}")
    assert A not in adb.agents


async def test_http_body_validation_and_client_without_world(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (await handle_request(sim, {"nope": 1}))[1] == 400
    payload, status = await handle_request(sim, {"argv": ["devices"]})
    assert status == 200 and payload["code"] == 0
    monkeypatch.delenv("QA_SIM_ATTACH", raising=False)
    assert client_main(["devices"]) == 1
    assert "QA_SIM_ATTACH is not set" in capsys.readouterr().err
    from qa_agent.world.sim.cli import main

    assert main(["adb", "-s", A, "shell", "wm", "size"]) == 1  # the `adb` sub-command reaches the client
