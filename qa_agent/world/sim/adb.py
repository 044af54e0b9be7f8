"""A fake ``adb`` over the simulator's shared world (for the real mobile-mcp 1.0.4 / mobilecli 1.0.9).

Two halves:

* the **client** (:func:`client_main`, in ``adb_client.py``: a few stdlib imports, so a call costs what a real
  adb round trip does): ``python -S -I .../adb_client.py ARGS`` (the fake SDK's ``adb``; also ``qa-agent sim adb
  ARGS`` / ``python -m qa_agent.world.sim.adb ARGS``) posts ``{"argv": ARGS}`` to ``$QA_SIM_ATTACH/sim/adb`` and
  replays the answer (stdout bytes, stderr text, exit code);
* the **emulator** (:class:`AdbEmulator`), which runs inside the simulator process behind ``POST /sim/adb``
  and answers the command lines mobilecli issues, acting on the world through the same runtime code
  paths (and device locks) as the MCP tools. World-changing and world-reading commands are recorded in
  the action log as tool ``"adb"`` with arguments ``{"device": serial, "argv": [...]}``.

``forward tcp:0 localabstract:mobilecli-server`` starts a tiny stand-in for mobilecli's on-device agent
(:class:`DeviceAgent`, loopback HTTP JSON-RPC) that only answers ``device.apps.list`` (mobilecli 1.0.9 has no
adb fallback for listing apps) and refuses everything else, so mobilecli falls back to its plain adb paths
(screencap, uiautomator dump, input ...). The agent bootstrap commands (push, mv, pkill, app_process) are
accepted and ignored.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import quoteattr

from qa_agent.world.sim.adb_client import client_main

__all__ = ["AdbEmulator", "client_main", "handle_request"]

if TYPE_CHECKING:
    from qa_agent.world.sim.tools import Simulator
    from qa_agent.world.sim.world import Device, ElementView

ADB_VERSION = "Android Debug Bridge version 1.0.41\nVersion 35.0.2-12147458\nInstalled as /fake/adb\n"
LAUNCHER_ACTIVITY = "com.google.android.apps.nexuslauncher/.NexusLauncherActivity"
KEYCODES = {
    "KEYCODE_BACK": "BACK",
    "KEYCODE_HOME": "HOME",
    "KEYCODE_VOLUME_UP": "VOLUME_UP",
    "KEYCODE_VOLUME_DOWN": "VOLUME_DOWN",
    "KEYCODE_ENTER": "ENTER",
    "KEYCODE_DPAD_CENTER": "DPAD_CENTER",
    "KEYCODE_DPAD_UP": "DPAD_UP",
    "KEYCODE_DPAD_DOWN": "DPAD_DOWN",
    "KEYCODE_DPAD_LEFT": "DPAD_LEFT",
    "KEYCODE_DPAD_RIGHT": "DPAD_RIGHT",
    "KEYCODE_DEL": "BACKSPACE",
    "KEYCODE_APP_SWITCH": "APP_SWITCH",
    "KEYCODE_POWER": "POWER",
    "3": "HOME",
    "4": "BACK",
    "24": "VOLUME_UP",
    "25": "VOLUME_DOWN",
    "26": "POWER",
    "66": "ENTER",
    "67": "BACKSPACE",
    "187": "APP_SWITCH",
}
# Commands that only serve discovery/bootstrap chatter: answered without touching the action log.
_QUIET_SHELL = frozenset({"getprop", "wm", "pm", "run-as", "mv", "pkill", "echo", "true", "CLASSPATH", "cmd"})


# ---------------------------------------------------------------------------------------------- emulator
@dataclass
class AdbResult:
    stdout: bytes = b""
    stderr: str = ""
    code: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "stdout": base64.b64encode(self.stdout).decode("ascii"),
            "stderr": self.stderr,
            "code": self.code,
        }


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _ok(text: str | bytes = "") -> AdbResult:
    return AdbResult(stdout=text.encode() if isinstance(text, str) else text)


def _fail(stderr: str, code: int = 1, stdout: str = "") -> AdbResult:
    return AdbResult(stdout=stdout.encode(), stderr=stderr, code=code)


def avd_name(device: Device) -> str:
    """The AVD name reported by ``getprop ro.boot.qemu.avd_name`` (mobilecli's device id for emulators)."""
    return f"Pixel_8_API_35_{device.user}"


def _num(token: str) -> float:
    return float(token)


class AdbEmulator:
    """Answers adb command lines against ``sim``'s current world (``sim.world`` may be swapped by reset)."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.agents: dict[str, DeviceAgent] = {}

    # ------------------------------------------------------------------ entry point
    async def run(self, argv: list[str]) -> AdbResult:
        args = list(argv)
        serial: str | None = None
        while args and args[0] in ("-s", "-t", "-P", "-H", "-L", "-d", "-e", "-a"):
            opt = args.pop(0)
            if opt in ("-d", "-e", "-a"):
                continue
            value = args.pop(0) if args else ""
            if opt == "-s":
                serial = value
        if not args:
            return _fail("adb: no command given\n")
        cmd = args[0]
        if cmd == "devices":
            return self._devices(long="-l" in args[1:])
        if cmd == "version":
            return _ok(ADB_VERSION)
        if cmd in ("start-server", "kill-server", "reconnect"):
            return _ok()
        if cmd == "forward":
            return await self._forward(serial, args[1:])
        if cmd == "reverse":
            return _fail("adb: error: reverse is not supported by the simulator\n")
        world = self.sim.world
        online = world.online()
        if serial is None:
            if len(online) != 1:
                return _fail("adb: more than one device/emulator\n" if online else "adb: no devices/emulators found\n")
            device = online[0]
        else:
            found = [d for d in online if d.id == serial]
            if not found:
                return _fail(f"adb: device '{serial}' not found\n")
            device = found[0]
        if cmd in ("get-state",):
            return _ok("device\n")
        if cmd in ("wait-for-device", "root", "unroot"):
            return _ok()
        if cmd == "get-serialno":
            return _ok(device.id + "\n")
        if cmd in ("shell", "exec-out"):
            line = " ".join(args[1:])
            try:
                tokens = shlex.split(line)
            except ValueError:
                tokens = line.split()
            if not tokens:
                return _fail("adb: interactive shell is not supported by the simulator\n")
            if tokens[0] in _QUIET_SHELL or tokens[0].startswith("CLASSPATH="):
                return await self._shell(device, tokens)
            from qa_agent.world.sim.latency import adb_kind  # here: the client half stays stdlib-only

            await self._phone_time(device, adb_kind(tokens, device.running))
            return await self._logged(device, args, self._shell(device, tokens))
        if cmd == "install" or cmd == "install-multiple":
            await self._phone_time(device, "cold_launch")
            return await self._logged(device, args, self._install(device, args[1:]))
        if cmd == "uninstall":
            return await self._logged(device, args, self._uninstall(device, args[1:]))
        if cmd == "logcat":
            return await self._logged(device, args, self._logcat(device, args[1:]))
        if cmd == "emu":
            return self._emu(device, args[1:])
        if cmd == "push":
            return _ok(f"{args[1] if len(args) > 1 else 'file'}: 1 file pushed, 0 skipped.\n")
        if cmd == "pull":
            return _fail(f"adb: error: failed to stat remote object '{args[1] if len(args) > 1 else ''}'\n")
        return _fail(f"adb: unknown command {cmd}\n")

    async def _phone_time(self, device: Device, kind: str) -> None:
        """The latency profile's time for this work, holding the device as the MCP tools do. Quick queries
        (kind ``query``) add nothing: starting the fake adb process already costs what a real adb round
        trip does."""
        knobs = self.sim.knobs
        if kind == "query" or knobs.profile == "fast":
            return
        async with device.lock:
            await asyncio.sleep(self.sim.world.latency.delay(knobs.profile, device.id, kind))

    async def _logged(self, device: Device, argv: list[str], work: Any) -> AdbResult:
        log = self.sim.world.actions
        action = log.begin("adb", {"device": device.id, "argv": list(argv)})
        try:
            result: AdbResult = await work
        except Exception as exc:
            log.finish(action, ok=False, error=f"adb: {exc}")
            return _fail(f"adb: simulator error: {exc}\n")
        error = (result.stderr.strip() or result.stdout.decode(errors="replace").strip()) if result.code else None
        log.finish(action, ok=result.code == 0, error=error or None)
        return result

    # ------------------------------------------------------------------ host-side commands
    def _devices(self, *, long: bool) -> AdbResult:
        lines = ["List of devices attached"]
        for i, d in enumerate(self.sim.world.online(), start=1):
            extra = f" product:sdk_gphone64_x86_64 model:sdk_gphone64_x86_64 device:emu64x transport_id:{i}"
            lines.append(f"{d.id}\tdevice" + (extra if long else ""))
        return _ok("\n".join(lines) + "\n\n")

    async def _forward(self, serial: str | None, rest: list[str]) -> AdbResult:
        if rest[:1] == ["--list"]:
            return _ok(
                "".join(f"{dev} tcp:{srv.port} localabstract:mobilecli-server\n" for dev, srv in self.agents.items())
            )
        if rest[:1] == ["--remove-all"]:
            for dev in list(self.agents):
                self.agents.pop(dev).close()
            return _ok()
        if rest[:1] == ["--remove"]:
            for dev, srv in list(self.agents.items()):
                if rest[1:2] == [f"tcp:{srv.port}"]:
                    self.agents.pop(dev).close()
            return _ok()
        local, remote = [*rest, "", ""][:2]
        if remote != "localabstract:mobilecli-server" or local != "tcp:0":
            return _fail(f"adb: error: cannot bind listener: {remote or 'nothing'} is not served by the simulator\n")
        if serial is None or not any(d.id == serial for d in self.sim.world.online()):
            return _fail(f"adb: device '{serial}' not found\n")
        server = self.agents.get(serial)
        if server is None:
            server = await DeviceAgent.start(self.sim, serial)
            self.agents[serial] = server
        return _ok(f"{server.port}\n")

    async def _logcat(self, device: Device, rest: list[str]) -> AdbResult:
        if "-b" in rest and "crash" in rest:
            return _ok("".join(c.content for c in device.crashes))
        return _ok()  # no streaming: mobilecli reads until EOF

    @staticmethod
    def _emu(device: Device, rest: list[str]) -> AdbResult:
        if rest[:2] == ["geo", "fix"] and len(rest) >= 4:
            lon, lat = float(rest[2]), float(rest[3])
            device.location = None if (round(lon, 6), round(lat, 6)) == (-122.084, 37.421998) else (lat, lon)
            return _ok("OK\n")
        return _ok("OK\n")

    async def _install(self, device: Device, rest: list[str]) -> AdbResult:
        paths = [a for a in rest if not a.startswith("-")]
        if not paths:
            return _fail("adb: install requires an apk argument\n")
        path = paths[-1]
        pkg = Path(path).stem
        if Path(path).suffix.lower() != ".apk" or pkg not in self.sim.catalog:
            return _fail(
                f"adb: failed to install {path}: Failure [INSTALL_PARSE_FAILED_NOT_APK: no app model named after it]\n",
                stdout="Performing Streamed Install\n",
            )
        async with device.input_lock, device.lock:
            device.installed[pkg] = self.sim.catalog[pkg]
        return _ok("Performing Streamed Install\nSuccess\n")

    async def _uninstall(self, device: Device, rest: list[str]) -> AdbResult:
        pkgs = [a for a in rest if not a.startswith("-")]
        if not pkgs:
            return _fail("adb: usage: adb uninstall [-k] PACKAGE\n")
        pkg = pkgs[-1]
        async with device.input_lock, device.lock:
            if pkg not in device.installed:
                return AdbResult(stdout=b"Failure [DELETE_FAILED_INTERNAL_ERROR]\n", code=1)
            self.sim.runtime.terminate(device, pkg)
            del device.installed[pkg]
        return _ok("Success\n")

    # ------------------------------------------------------------------ device shell
    async def _shell(self, device: Device, t: list[str]) -> AdbResult:
        rt = self.sim.runtime
        head = t[0]
        if head == "getprop":
            return _ok(self._getprop(device, t[1] if len(t) > 1 else "") + "\n")
        if head == "settings":
            return await self._settings(device, t[1:])
        if head == "content":
            return await self._content(device, t[1:])
        if head == "wm":
            if t[1:2] == ["size"]:
                return _ok("Physical size: 1080x2400\n")
            if t[1:2] == ["density"]:
                return _ok("Physical density: 420\n")
            return _ok()
        if head == "pm":
            return self._pm(device, t[1:])
        if head == "cmd":
            return self._cmd(device, t[1:])
        if head == "dumpsys":
            return self._dumpsys(device, t[1:])
        if head == "screencap":
            return await self._screencap(device)
        if head == "uiautomator":
            if t[1:2] == ["dump"]:
                async with device.lock:
                    xml = self.hierarchy_xml(device)
                target = t[2] if len(t) > 2 else "/sdcard/window_dump.xml"
                return _ok(xml + f"UI hierchary dumped to: {target}\n")
            return _ok()
        if head == "input":
            return await self._input(device, t[1:])
        if head == "monkey":
            pkg = t[t.index("-p") + 1] if "-p" in t and t.index("-p") + 1 < len(t) else ""
            async with device.input_lock, device.lock:
                if pkg not in device.installed:
                    return AdbResult(stdout=b"** No activities found to run, monkey aborted.\n", code=252)
                rt.launch(device, pkg)
            return _ok("  bash arg: -p\n  bash arg: " + pkg + "\nEvents injected: 1\n")
        if head == "am":
            return await self._am(device, t[1:])
        if head == "run-as":
            pkg = t[1] if len(t) > 1 else ""
            return _fail(f"run-as: package not debuggable: {pkg}\n")
        return _ok()

    @staticmethod
    def _getprop(device: Device, name: str) -> str:
        return {
            "ro.boot.qemu.avd_name": avd_name(device),
            "ro.kernel.qemu.avd_name": avd_name(device),
            "ro.product.model": "sdk_gphone64_x86_64",
            "ro.product.manufacturer": "Google",
            "ro.build.version.release": "15",
            "ro.build.version.sdk": "35",
            "ro.serialno": device.id,
            "sys.boot_completed": "1",
            "ro.product.cpu.abi": "x86_64",
        }.get(name, "")

    async def _settings(self, device: Device, t: list[str]) -> AdbResult:
        if t[:3] == ["get", "global", "device_name"]:
            return _ok("null\n")
        if t[:3] == ["get", "system", "user_rotation"]:
            return _ok(("1" if device.orientation == "landscape" else "0") + "\n")
        if t[:3] == ["put", "system", "user_rotation"] and len(t) > 3:
            async with device.input_lock, device.lock:
                device.orientation = "portrait" if t[3] in ("0", "2") else "landscape"
            return _ok()
        if t[:1] == ["get"]:
            return _ok("null\n")
        return _ok()

    async def _content(self, device: Device, t: list[str]) -> AdbResult:
        binds = [t[i + 1] for i, tok in enumerate(t[:-1]) if tok == "--bind"]
        if t[:1] == ["insert"] and "name:s:user_rotation" in binds:
            value = next((b.split(":", 2)[2] for b in binds if b.startswith("value:")), "0")
            async with device.input_lock, device.lock:
                device.orientation = "portrait" if value in ("0", "2") else "landscape"
        return _ok()

    @staticmethod
    def _pm(device: Device, t: list[str]) -> AdbResult:
        if t[:2] == ["list", "packages"]:
            return _ok("".join(f"package:{pkg}\n" for pkg in device.installed))
        if t[:2] == ["list", "features"]:
            return _ok("feature:android.hardware.touchscreen\nfeature:android.hardware.wifi\n")
        if t[:1] == ["path"] and len(t) > 1:
            if t[1] in device.installed:
                return _ok(f"package:/data/app/{t[1]}-1/base.apk\n")
            return AdbResult(code=1)
        return _ok()

    @staticmethod
    def _cmd(device: Device, t: list[str]) -> AdbResult:
        if t[:2] == ["package", "query-activities"]:
            out = []
            for i, pkg in enumerate(device.installed):
                out.append(
                    f"Activity #{i}:\n  priority=0 preferredOrder=0 match=0x108000 specificIndex=-1 "
                    f"isDefault=false\n  ActivityInfo:\n    name={pkg}.MainActivity\n    packageName={pkg}\n"
                    "    enabled=true exported=true directBootAware=false\n"
                )
            return _ok("".join(out))
        if t[:2] == ["package", "resolve-activity"]:
            pkg = t[-1]
            if pkg not in device.installed:
                return _ok("No activity found\n")
            return _ok(
                f"priority=0 preferredOrder=0 match=0x108000 specificIndex=-1 isDefault=false\n{pkg}/.MainActivity\n"
            )
        return _ok()

    def _dumpsys(self, device: Device, t: list[str]) -> AdbResult:
        if t[:1] == ["SurfaceFlinger"]:
            return _ok('Display 4619827259835644672 (HWC display 0): port=0 pnpId=GGL displayName="EMU_display_0"\n')
        if t[:1] == ["window"]:
            _name, pkg = self.sim.runtime.foreground(device)
            activity = LAUNCHER_ACTIVITY if device.foreground is None else f"{pkg}/{pkg}.MainActivity"
            return _ok(
                f"  mCurrentFocus=Window{{4d2c9b1 u0 {activity}}}\n"
                f"  mFocusedApp=ActivityRecord{{8a1f2e3 u0 {activity} t12}}\n"
            )
        if t[:1] == ["package"] and len(t) > 1:
            model = device.installed.get(t[1])
            if model is None:
                return _ok(f"Unable to find package: {t[1]}\n")
            return _ok(f"Packages:\n  Package [{t[1]}] (a1b2c3):\n    versionName={model.version}\n")
        return _ok()

    async def _screencap(self, device: Device) -> AdbResult:
        from qa_agent.world.sim import render

        async with device.lock:
            data = await self.sim._screen_bytes(device, (render.SCREEN_W, render.SCREEN_H), "png")
        return _ok(data)

    async def _am(self, device: Device, t: list[str]) -> AdbResult:
        rt = self.sim.runtime
        if t[:1] == ["force-stop"] and len(t) > 1:
            async with device.input_lock, device.lock:
                rt.terminate(device, t[1])
            return _ok()
        if t[:1] in (["start"], ["start-activity"]):
            if "-n" in t and t.index("-n") + 1 < len(t):
                component = t[t.index("-n") + 1]
                pkg = component.split("/", 1)[0]
                async with device.input_lock, device.lock:
                    if pkg not in device.installed:
                        return _ok(
                            f"Starting: Intent {{ cmp={component} }}\n"
                            f"Error type 3\nError: Activity class {{{component}}} does not exist.\n"
                        )
                    rt.launch(device, pkg)
                return _ok(f"Starting: Intent {{ cmp={component} }}\n")
            if "-d" in t and t.index("-d") + 1 < len(t):
                url = t[t.index("-d") + 1]
                async with device.input_lock, device.lock:
                    browser = "com.android.chrome"
                    if browser in device.installed:
                        rt.launch(device, browser)
                        run = device.running[browser]
                        run.state["url"] = url
                        run.focused = None
                return _ok(f"Starting: Intent {{ act=android.intent.action.VIEW dat={url} }}\n")
            return _ok("Starting: Intent { }\n")
        return _ok()

    async def _input(self, device: Device, t: list[str]) -> AdbResult:
        rt = self.sim.runtime
        if t[:1] and t[0] in ("touchscreen", "keyboard", "mouse"):
            t = t[1:]
        if not t:
            return _fail("usage: input [<source>] <command> [<arg>...]\n")
        verb, rest = t[0], t[1:]
        try:
            if verb == "tap" and len(rest) >= 2:
                x, y = _num(rest[0]), _num(rest[1])
                async with device.input_lock, device.lock:
                    rt.tap(device, x, y)
                return _ok()
            if verb in ("swipe", "draganddrop") and len(rest) >= 4:
                x0, y0, x1, y1 = (_num(v) for v in rest[:4])
                duration = _num(rest[4]) if len(rest) > 4 else 300.0
                if abs(x1 - x0) < 10 and abs(y1 - y0) < 10:
                    return await self._long_press(device, x0, y0, duration)
                dx, dy = x1 - x0, y1 - y0
                direction = ("left" if dx < 0 else "right") if abs(dx) > abs(dy) else ("up" if dy < 0 else "down")
                async with device.input_lock, device.lock:
                    rt.swipe(device, direction, (x0, y0))
                return _ok()
            if verb == "text" and rest:
                text = " ".join(rest).replace("%s", " ")
                async with device.input_lock, device.lock:
                    rt.type_text(device, text)
                return _ok()
            if verb == "keyevent" and rest:
                async with device.input_lock, device.lock:
                    for code in rest:
                        if code.startswith("--"):
                            continue
                        button = KEYCODES.get(code)
                        if button is not None:
                            rt.press_button(device, button)
                return _ok()
        except ValueError as exc:
            return _fail(f"Error: {exc}\n")
        return _fail(f"Error: Unknown command: {verb}\n")

    async def _long_press(self, device: Device, x: float, y: float, duration_ms: float) -> AdbResult:
        """The same hold as ``mobile_long_press_on_screen_at_coordinates`` (finger down, wait, finger up)."""
        rt = self.sim.runtime
        async with device.input_lock:
            async with device.lock:
                pressed = rt.press_start(device, x, y)
            try:
                await asyncio.sleep(duration_ms / 1000)
            finally:
                async with device.lock:
                    rt.press_end(device, pressed)
        return _ok()

    # ------------------------------------------------------------------ view hierarchy
    def hierarchy_xml(self, device: Device) -> str:
        """The current screen as ``uiautomator dump`` XML (root FrameLayout, one node per element)."""
        views = self.sim.runtime.elements(device)
        _name, pkg = self.sim.runtime.foreground(device)
        nodes = [self._node(i, v, pkg) for i, v in enumerate(views)]
        root = (
            '<node index="0" text="" resource-id="" class="android.widget.FrameLayout" '
            f'package="{pkg}" content-desc="" checkable="false" checked="false" clickable="false" '
            'enabled="true" focusable="false" focused="false" scrollable="false" long-clickable="false" '
            'password="false" selected="false" bounds="[0,0][1080,2400]">'
        )
        return (
            "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>"
            '<hierarchy rotation="'
            + ("1" if device.orientation == "landscape" else "0")
            + '">'
            + root
            + "".join(nodes)
            + "</node></hierarchy>"
        )

    @staticmethod
    def _node(index: int, v: ElementView, pkg: str) -> str:
        model = v.model
        clickable = v.clickable
        long_clickable = model is not None and bool(model.on.long_press or model.on.hold_start)
        editable = model is not None and model.field is not None
        password = model is not None and model.password
        attrs = [
            ("index", str(index)),
            ("text", v.text),
            ("resource-id", v.identifier),
            ("class", v.type),
            ("package", pkg),
            ("content-desc", v.label),
            ("checkable", _bool(v.checkable)),
            ("checked", _bool(v.checked)),
            ("clickable", _bool(clickable)),
            ("enabled", _bool(v.enabled)),
            ("focusable", _bool(clickable or editable)),
            ("focused", _bool(v.focused)),
            ("scrollable", _bool(v.scrollable)),
            ("long-clickable", _bool(long_clickable)),
            ("password", _bool(password)),
            ("selected", _bool(v.selected)),
        ]
        if v.hint:
            attrs.append(("hint", v.hint))
        attrs.append(("bounds", f"[{v.x},{v.y}][{v.x + v.width},{v.y + v.height}]"))
        return "<node " + " ".join(f"{k}={quoteattr(val)}" for k, val in attrs) + " />"


class DeviceAgent:
    """A stand-in for mobilecli's on-device JSON-RPC ``DeviceServer`` (reached through ``adb forward``).

    It answers ``device.apps.list`` (what mobilecli 1.0.9 cannot do without it) and refuses every other
    method with JSON-RPC ``-32601`` so mobilecli uses its adb fallbacks (screencap, uiautomator, input).
    """

    def __init__(self, sim: Simulator, serial: str) -> None:
        self.sim = sim
        self.serial = serial
        self.port = 0
        self._server: asyncio.Server | None = None

    @classmethod
    async def start(cls, sim: Simulator, serial: str) -> DeviceAgent:
        agent = cls(sim, serial)
        agent._server = await asyncio.start_server(agent._serve, "127.0.0.1", 0)
        agent.port = agent._server.sockets[0].getsockname()[1]
        return agent

    def close(self) -> None:
        if self._server is not None:
            self._server.close()

    def answer(self, request: Any) -> dict[str, Any]:
        if not isinstance(request, dict) or "method" not in request:
            return {}
        rid = request.get("id")
        method = request.get("method")
        device = next((d for d in self.sim.world.online() if d.id == self.serial), None)
        if device is None:
            return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32000, "message": "device is gone"}}
        if method == "device.apps.list":
            apps = [
                {"packageName": pkg, "appName": m.name, "version": m.version} for pkg, m in device.installed.items()
            ]
            return {"jsonrpc": "2.0", "id": rid, "result": apps}
        if method == "device.version":
            return {"jsonrpc": "2.0", "id": rid, "result": {"version": "1.0.9"}}
        return {
            "jsonrpc": "2.0",
            "id": rid,
            "error": {"code": -32601, "message": f"Method not found: {method}"},
        }

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in head.decode("latin-1").split("\r\n")[1:])
                    if k
                }
                length = int(headers.get("content-length", "0") or 0)
                body = await reader.readexactly(length) if length else b""
                try:
                    request: Any = json.loads(body) if body else {}
                except ValueError:
                    request = None
                payload = json.dumps(self.answer(request)).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(payload)}\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()


async def handle_request(sim: Simulator, body: Any) -> tuple[dict[str, Any], int]:
    """``POST /sim/adb`` body ``{"argv": [...]}`` -> (``{"stdout": b64, "stderr", "code"}``, HTTP status)."""
    if not isinstance(body, dict) or not isinstance(body.get("argv"), list):
        return {"error": 'body must be {"argv": [strings]}'}, 400
    argv = [str(a) for a in body["argv"]]
    emulator = getattr(sim, "_adb_emulator", None)
    if emulator is None:
        emulator = AdbEmulator(sim)
        sim._adb_emulator = emulator  # type: ignore[attr-defined]
    result = await emulator.run(argv)
    return result.to_json(), 200


if __name__ == "__main__":
    sys.exit(client_main())
