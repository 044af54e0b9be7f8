"""The tool implementations: mobile-mcp 1.0.4's answers over the simulated world, plus faults and logging."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from mcp import types

from qa_agent.world.sim import formatting, latency, render
from qa_agent.world.sim.actionlog import charge
from qa_agent.world.sim.appmodel import AppModel
from qa_agent.world.sim.config import Knobs, SimConfig
from qa_agent.world.sim.errors import (
    ActionableError,
    ProtocolError,
    SimError,
    ToolFailure,
    command_failed,
    transient_failure,
)
from qa_agent.world.sim.runtime import Runtime
from qa_agent.world.sim.schema import input_schema, tool_names, validate_arguments
from qa_agent.world.sim.world import Device, World

SCREENSHOT_CACHE = 64  # encoded screens kept (by screen content and size)

Content = list[types.TextContent | types.ImageContent]
Handler = Callable[[Device, dict[str, Any]], Awaitable[Content]]

BUTTONS = frozenset(
    {
        "BACK",
        "HOME",
        "VOLUME_UP",
        "VOLUME_DOWN",
        "ENTER",
        "DPAD_CENTER",
        "DPAD_UP",
        "DPAD_DOWN",
        "DPAD_LEFT",
        "DPAD_RIGHT",
        "BACKSPACE",
        "APP_SWITCH",
        "POWER",
    }
)
REF_RE = re.compile(r"^@e\d+$")
COORDINATES_RE = re.compile(r"^\d+,\d+$")
# Log and crash-buffer reads run beside the device's work, like logcat: no device lock, and not one of
# the device's calls for the fault knobs (the "n-th call" and the seeded draws stay the agent's actions).
UNLOCKED_TOOLS = frozenset({"mobile_get_device_logs", "mobile_list_crashes", "mobile_get_crash"})
# Tools that only observe: they may run while a long press holds the device's input.
READ_ONLY_TOOLS = frozenset(
    {
        "mobile_list_apps",
        "mobile_get_foreground_app",
        "mobile_get_screen_size",
        "mobile_list_elements_on_screen",
        "mobile_take_screenshot",
        "mobile_save_screenshot",
        "mobile_get_orientation",
    }
)


def _text(s: str) -> Content:
    return [types.TextContent(type="text", text=s)]


def _ext(path: str) -> str:
    return os.path.splitext(path)[1]


def check_save_path(path: str, allowed_exts: tuple[str, ...], tool: str) -> Path:
    """mobile-mcp's checks for files it writes: the extension, then an allowed directory."""
    ext = _ext(path)
    if ext.lower() not in allowed_exts:
        raise ActionableError(f'{tool} requires a {", ".join(allowed_exts)} file extension, got: "{ext}"')
    resolved = Path(path).expanduser().resolve()
    roots = [Path(tempfile.gettempdir()).resolve(), Path.cwd().resolve()]
    if not any(resolved.parent == r or r in resolved.parent.parents for r in roots):
        raise ActionableError(
            f'"{resolved.parent}" is not in the list of allowed directories. Allowed directories include the '
            "current directory and the temp directory on this host."
        )
    return resolved


class Simulator:
    """One world plus the tool surface over it. ``reset()`` swaps in a fresh world with the same config."""

    def __init__(self, config: SimConfig, catalog: dict[str, AppModel]) -> None:
        self.config = config
        self.catalog = catalog
        self.world = World(config, catalog)
        self.runtime = Runtime(self.world)
        self._shots: dict[tuple[Any, ...], asyncio.Future[bytes]] = {}
        self._handlers: dict[str, Handler] = {
            name: getattr(self, "_" + name.removeprefix("mobile_"))
            for name in tool_names()
            if name != "mobile_list_available_devices"
        }

    # ------------------------------------------------------------------ control
    @property
    def knobs(self) -> Knobs:
        return self.config.knobs

    def reset(self) -> None:
        self.world.close()
        self.world = World(self.config, self.catalog)
        self.runtime = Runtime(self.world)

    def configure(self, updates: dict[str, Any]) -> Knobs:
        merged = {**self.config.knobs.model_dump(), **updates}
        knobs = Knobs.model_validate(merged)
        self.config = self.config.model_copy(update={"knobs": knobs})
        self.world.config = self.config
        return knobs

    # ------------------------------------------------------------------ entry point
    async def call(self, name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
        args = dict(arguments or {})
        action = self.world.actions.begin(name, args)
        try:
            content = await self._dispatch(name, args)
        except SimError as err:
            if name == "mobile_take_screenshot" and isinstance(err, ActionableError):
                # 1.0.4 registers this tool outside its wrapper: every failure is "Error: <msg>" + isError
                err = ToolFailure(err.message)
            self.world.actions.finish(action, ok=False, error=err.text())
            return types.CallToolResult(content=list(_text(err.text())), isError=err.is_error)
        except Exception as exc:  # an unexpected bug: answer like the real server's generic catch
            msg = f"Error: {exc}"
            self.world.actions.finish(action, ok=False, error=msg)
            return types.CallToolResult(content=list(_text(msg)), isError=True)
        self.world.actions.finish(action, ok=True)
        return types.CallToolResult(content=list(content))

    async def _dispatch(self, name: str, raw: dict[str, Any]) -> Content:
        if input_schema(name) is None or name in self.config.without_tools:
            raise ProtocolError(f"MCP error -32602: Tool {name} not found")
        args = validate_arguments(name, raw)
        if name == "mobile_list_available_devices":
            delay = self.knobs.latency_ms / 1000 + self.world.latency.delay(self.knobs.profile, "", "query")
            charge(delay)
            if delay:
                await asyncio.sleep(delay)
            devices = [d.describe() for d in self.world.online()]
            return _text(json.dumps({"devices": devices}, separators=(",", ":")))
        world = self.world
        device = world.device(args["device"])
        if name in UNLOCKED_TOOLS:
            return await self._handlers[name](device, args)
        if name == "mobile_long_press_on_screen_at_coordinates":
            return await self._long_press(device, args)
        if name in READ_ONLY_TOOLS:
            return await self._locked(device, name, args)
        async with device.input_lock:
            return await self._locked(device, name, args)

    async def _locked(self, device: Device, name: str, args: dict[str, Any]) -> Content:
        async with device.lock:
            await self._faults(device, self._kind(device, name, args))
            if name == "mobile_list_elements_on_screen" and device.id in self.knobs.slow_list_ms:
                await asyncio.sleep(self.knobs.slow_list_ms[device.id] / 1000)
            try:
                return await self._handlers[name](device, args)
            finally:
                self._maybe_vanish(device)

    async def _long_press(self, device: Device, args: dict[str, Any]) -> Content:
        """Finger down, hold ``duration`` ms, finger up. Other input on the device waits for the release;
        read-only tools (list elements, screenshots...) may observe the device while it is held."""
        duration = args.get("duration")
        duration = 500 if duration is None else duration
        async with device.input_lock:
            async with device.lock:
                await self._faults(device, "input")
                pressed = self.runtime.press_start(device, *self._point(args))
            charge(float(duration) / 1000)
            try:
                await asyncio.sleep(float(duration) / 1000)
            finally:
                async with device.lock:
                    self.runtime.press_end(device, pressed)
                    self._maybe_vanish(device)
        return _text(
            f"Long pressed on screen at coordinates: {formatting.js_number(args['x'])}, "
            f"{formatting.js_number(args['y'])} for {formatting.js_number(duration)}ms"
        )

    @staticmethod
    def _kind(device: Device, name: str, args: dict[str, Any]) -> str:
        if name == "mobile_launch_app":
            return latency.launch_kind(args["packageName"], device.running)
        return latency.TOOL_KINDS.get(name, "query")

    async def _faults(self, device: Device, kind: str) -> None:
        """The device's time for this work (latency knob + profile), then the injected hangs and errors."""
        knobs = self.knobs
        device.calls += 1
        r_error, r_hang = device.rng.random(), device.rng.random()
        delay = knobs.latency_ms / 1000 + self.world.latency.delay(knobs.profile, device.id, kind)
        charge(delay)
        if delay:
            await asyncio.sleep(delay)
        if r_hang < knobs.hang_rate or knobs.hang_at.get(device.id) == device.calls:
            await asyncio.sleep(knobs.hang_s)
        if r_error < knobs.error_rate:
            self._maybe_vanish(device)
            raise transient_failure(device.id)

    def _maybe_vanish(self, device: Device) -> None:
        after = self.knobs.vanish.get(device.id)
        if after is not None and device.calls >= after:
            device.vanished = True

    # ------------------------------------------------------------------ apps
    async def _list_apps(self, device: Device, args: dict[str, Any]) -> Content:
        apps = ", ".join(f"{m.name} ({m.package})" for m in device.installed.values())
        return _text(f"Found these apps on device: {apps}")

    async def _get_foreground_app(self, device: Device, args: dict[str, Any]) -> Content:
        name, pkg = self.runtime.foreground(device)
        return _text(f"Foreground app: {name} ({pkg})")

    async def _launch_app(self, device: Device, args: dict[str, Any]) -> Content:
        pkg = args["packageName"]
        if pkg not in device.installed:
            raise command_failed(
                f"apps launch {pkg} --device {device.id}",
                f"failed to launch app on device {device.id}: no launcher activity found for {pkg} (is it installed?)",
            )
        self.runtime.launch(device, pkg)
        return _text(f"Launched app {pkg}")

    async def _terminate_app(self, device: Device, args: dict[str, Any]) -> Content:
        self.runtime.terminate(device, args["packageName"])
        return _text(f"Terminated app {args['packageName']}")

    async def _install_app(self, device: Device, args: dict[str, Any]) -> Content:
        path = args["path"]
        ext = _ext(path)
        if ext.lower() not in (".apk", ".ipa", ".zip", ".app"):
            raise ActionableError(f'install_app requires a .apk, .ipa, .zip, .app file extension, got: "{ext}"')
        if not await asyncio.to_thread(os.path.exists, path):
            raise ActionableError(f"App file not found: {path}")
        pkg = Path(path).stem
        if ext.lower() != ".apk" or pkg not in self.catalog:
            raise command_failed(
                f"apps install {path} --device {device.id}",
                f"failed to install app on device {device.id}: failed to install app: exit status 1\n"
                f"Output: Performing Streamed Install\nadb: failed to install {path}: "
                "Failure [INSTALL_PARSE_FAILED_NOT_APK: no app model named after it]\n",
            )
        device.installed[pkg] = self.catalog[pkg]
        return _text(f"Installed app from {path}")

    async def _uninstall_app(self, device: Device, args: dict[str, Any]) -> Content:
        pkg = args["bundle_id"]
        if pkg not in device.installed:
            raise command_failed(
                f"apps uninstall {pkg} --device {device.id}",
                f"failed to uninstall app on device {device.id}: failed to uninstall app: exit status 1\n"
                "Output: Failure [DELETE_FAILED_INTERNAL_ERROR]\n",
            )
        self.runtime.terminate(device, pkg)
        del device.installed[pkg]
        return _text(f"Uninstalled app {pkg}")

    # ------------------------------------------------------------------ screen
    async def _get_screen_size(self, device: Device, args: dict[str, Any]) -> Content:
        return _text(f"Screen size is {render.SCREEN_W}x{render.SCREEN_H} pixels")

    async def _list_elements_on_screen(self, device: Device, args: dict[str, Any]) -> Content:
        views = self.runtime.list_with_refs(device)
        if args.get("format") == "json":
            return _text(formatting.elements_json(views))
        return _text(formatting.elements_text(views))

    async def _screen_bytes(self, device: Device, size: tuple[int, int], fmt: str) -> bytes:
        """The encoded screen, drawn at ``size``. Cached by what is on screen, not by device: phones showing
        the same screen share one rendering, and concurrent requests for it wait on the same one. Rendering
        runs off the event loop (Pillow releases the GIL), so it does not stall the other devices."""
        name, _pkg = self.runtime.foreground(device)
        views = self.runtime.elements(device)
        keyboard = self.runtime.keyboard_up(device)
        status = time.strftime("%H:%M")
        key = (
            name,
            status,
            keyboard,
            size,
            fmt,
            tuple(
                (
                    v.type,
                    v.text,
                    v.label,
                    v.hint,
                    v.identifier,
                    v.x,
                    v.y,
                    v.width,
                    v.height,
                    v.focused,
                    v.checked,
                    v.launches,
                    v.button is not None,
                )
                for v in views
            ),
        )
        shot = self._shots.get(key)
        if shot is None:

            def draw() -> bytes:
                screen = render.draw_screen(views, title=name, status=status, keyboard=keyboard, size=size)
                return render.encode(screen, fmt)

            shot = self._shots[key] = asyncio.ensure_future(asyncio.to_thread(draw))
            while len(self._shots) > SCREENSHOT_CACHE:
                self._shots.pop(next(iter(self._shots)))
        try:
            return await asyncio.shield(shot)  # a caller that gives up does not cancel the others' rendering
        except Exception:
            if self._shots.get(key) is shot:
                del self._shots[key]
            raise

    async def _take_screenshot(self, device: Device, args: dict[str, Any]) -> Content:
        max_size = args.get("maxSize")
        scale = args.get("scale")
        size = render.target_size(max_size if max_size is not None else (None if scale else 1024), scale)
        data = await self._screen_bytes(device, size, "jpeg")
        return [
            types.TextContent(type="text", text=render.mapping_text(size)),
            types.ImageContent(type="image", data=base64.b64encode(data).decode("ascii"), mimeType="image/jpeg"),
        ]

    async def _save_screenshot(self, device: Device, args: dict[str, Any]) -> Content:
        save_to = args["saveTo"]
        target = check_save_path(save_to, (".png", ".jpg", ".jpeg"), "save_screenshot")
        size = render.target_size(args.get("maxSize"), args.get("scale"))
        fmt = "png" if target.suffix.lower() == ".png" else "jpeg"
        data = await self._screen_bytes(device, size, fmt)
        await asyncio.to_thread(target.write_bytes, data)
        return _text(f"Screenshot saved to: {save_to}")

    # ------------------------------------------------------------------ input
    def _point(self, args: dict[str, Any]) -> tuple[float, float]:
        return float(args["x"]), float(args["y"])

    def _ref_target(self, device: Device, ref: str) -> tuple[float, float]:
        """Where mobilecli taps for ``io tap <ref>``: it dumps the UI again and resolves the ref against the
        screen *now* (a stale ref taps whatever holds that number today); ``x,y`` targets are coordinates."""
        if COORDINATES_RE.match(ref):
            x, y = ref.split(",")
            return float(x), float(y)
        if not REF_RE.match(ref):
            raise command_failed(
                f"io tap {ref} --device {device.id}",
                f"invalid target format. Expected 'x,y' coordinates or an element ref like '@e15', got '{ref}'",
            )
        for view in self.runtime.list_with_refs(device):
            if view.ref == ref:
                return view.center
        raise command_failed(
            f"io tap {ref} --device {device.id}",
            f"ref {ref} not found on current screen; refs come from the latest 'dump ui'",
        )

    async def _click_on_screen_at_coordinates(self, device: Device, args: dict[str, Any]) -> Content:
        ref = args.get("ref")
        if ref is not None:  # 1.0.4 hands even an empty ref to mobilecli
            self.runtime.tap(device, *self._ref_target(device, ref))
            return _text(f"Clicked on element {ref}")
        if args.get("x") is None or args.get("y") is None:
            raise ActionableError("Either ref or both x and y must be provided")
        self.runtime.tap(device, *self._point(args))
        return _text(
            f"Clicked on screen at coordinates: {formatting.js_number(args['x'])}, {formatting.js_number(args['y'])}"
        )

    async def _double_tap_on_screen(self, device: Device, args: dict[str, Any]) -> Content:
        self.runtime.double_tap(device, *self._point(args))
        return _text(
            f"Double-tapped on screen at coordinates: {formatting.js_number(args['x'])}, "
            f"{formatting.js_number(args['y'])}"
        )

    async def _long_press_on_screen_at_coordinates(self, device: Device, args: dict[str, Any]) -> Content:
        """Used by batch steps (the batch already holds the device); direct calls use :meth:`_long_press`."""
        duration = args.get("duration")
        duration = 500 if duration is None else duration
        pressed = self.runtime.press_start(device, *self._point(args))
        try:
            await asyncio.sleep(float(duration) / 1000)
        finally:
            self.runtime.press_end(device, pressed)
        return _text(
            f"Long pressed on screen at coordinates: {formatting.js_number(args['x'])}, "
            f"{formatting.js_number(args['y'])} for {formatting.js_number(duration)}ms"
        )

    async def _press_button(self, device: Device, args: dict[str, Any]) -> Content:
        button = args["button"]
        if button not in BUTTONS:
            raise command_failed(
                f"io button {button} --device {device.id}",
                f"failed to press button on device {device.id}: AndroidDevice: unsupported button key: {button}",
            )
        self.runtime.press_button(device, button)
        return _text(f"Pressed the button: {button}")

    async def _open_url(self, device: Device, args: dict[str, Any]) -> Content:
        url = args["url"]
        if os.environ.get("MOBILEMCP_ALLOW_UNSAFE_URLS") != "1" and not url.lower().startswith(("http://", "https://")):
            raise ActionableError(
                "Only http:// and https:// URLs are allowed. "
                "Set MOBILEMCP_ALLOW_UNSAFE_URLS=1 to allow other URL schemes."
            )
        browser = "com.android.chrome"
        if browser in device.installed:
            self.runtime.launch(device, browser)
            run = device.running[browser]
            run.state["url"] = url
            run.focused = None
        return _text(f"Opened URL: {url}")

    async def _swipe_on_screen(self, device: Device, args: dict[str, Any]) -> Content:
        direction = args["direction"]
        has_point = args.get("x") is not None and args.get("y") is not None
        self.runtime.swipe(device, direction, self._point(args) if has_point else None)
        if args.get("x") is not None and args.get("y") is not None:
            dist = args.get("distance")
            dist_txt = f" {formatting.js_number(dist)} pixels" if dist is not None else ""
            return _text(
                f"Swiped {direction}{dist_txt} from coordinates: {formatting.js_number(args['x'])}, "
                f"{formatting.js_number(args['y'])}"
            )
        return _text(f"Swiped {direction} on screen")

    async def _type_keys(self, device: Device, args: dict[str, Any]) -> Content:
        self.runtime.type_text(device, args["text"])
        if args["submit"]:
            self.runtime.press_button(device, "ENTER")
        return _text(f"Typed text: {args['text']}")

    # ------------------------------------------------------------------ device settings
    async def _set_orientation(self, device: Device, args: dict[str, Any]) -> Content:
        device.orientation = args["orientation"]
        return _text(f"Changed device orientation to {args['orientation']}")

    async def _get_orientation(self, device: Device, args: dict[str, Any]) -> Content:
        return _text(f"Current device orientation is {device.orientation}")

    async def _set_location(self, device: Device, args: dict[str, Any]) -> Content:
        lat, lon = args.get("latitude"), args.get("longitude")
        if lat is None and lon is None:
            device.location = None
            return _text("Cleared location override")
        if lat is None or lon is None:
            raise ActionableError("Both latitude and longitude are required to set a location")
        device.location = (lat, lon)
        return _text(f"Set device location to {formatting.js_number(lat)},{formatting.js_number(lon)}")

    async def _clipboard(self, device: Device, args: dict[str, Any]) -> Content:
        text = args.get("text")
        if text is None:
            return _text(device.clipboard)
        device.clipboard = text
        return _text("Clipboard updated")

    # ------------------------------------------------------------------ logs and crashes
    async def _get_device_logs(self, device: Device, args: dict[str, Any]) -> Content:
        limit: int = args.get("limit", 100)
        if self.knobs.logs_fail:
            raise command_failed(f"device logs --limit {limit} --device {device.id}", "error: logcat exited: 1")
        filters: list[str] = args.get("filter", [])
        save_to = args.get("saveTo")
        target = check_save_path(save_to, (".log", ".txt", ".jsonl"), "get_device_logs") if save_to else None
        start = time.time()
        seen = len(device.logs)
        lines: list[str] = []
        silence = self.knobs.log_silence_s
        while len(lines) < limit:
            event = device.log_event
            try:
                await asyncio.wait_for(event.wait(), timeout=silence)
            except TimeoutError:
                break
            for entry in device.logs[seen:]:
                if entry.timestamp >= start and _log_matches(entry, filters):
                    lines.append(_log_line(entry))
            seen = len(device.logs)
            if device.vanished:
                break
        lines = lines[:limit]
        if target is not None:
            await asyncio.to_thread(target.write_text, "".join(line + "\n" for line in lines))
            return _text(f"Saved {len(lines)} log entries to: {save_to}")
        if not lines:
            return _text("No log entries received")
        return _text("\n".join(lines))

    async def _list_crashes(self, device: Device, args: dict[str, Any]) -> Content:
        data = [{"processName": c.process, "timestamp": c.timestamp, "id": c.id} for c in device.crashes]
        return _text(json.dumps(data, separators=(",", ":")))

    async def _get_crash(self, device: Device, args: dict[str, Any]) -> Content:
        if self.knobs.crash_read_s:
            await asyncio.sleep(self.knobs.crash_read_s)
        for c in device.crashes:
            if c.id == args["id"]:
                return _text(c.content)
        raise command_failed(
            f"device crashes get {args['id']} --device {device.id}",
            f"error getting crash report: crash {args['id']} not found",
        )

    # ------------------------------------------------------------------ batch
    async def _batch_commands(self, device: Device, args: dict[str, Any]) -> Content:
        steps: list[dict[str, Any]] = args["steps"]
        for i, step in enumerate(steps, start=1):
            if step["name"] not in self._handlers and step["name"] != "mobile_list_available_devices":
                raise ActionableError(f"Unknown tool in step {i}: {step['name']}")
        stop_on_error = args.get("stopOnError", True)
        out: list[str] = []
        for i, step in enumerate(steps, start=1):
            name = step["name"]
            try:
                if name == "mobile_batch_commands":
                    raise ActionableError("mobile_batch_commands cannot be nested")
                if name == "mobile_take_screenshot":
                    raise ActionableError(
                        "mobile_take_screenshot returns an image and cannot be used in a batch, "
                        "use mobile_save_screenshot instead"
                    )
                step_args = {"device": device.id, **step["arguments"]}
                if name == "mobile_list_available_devices" or step_args["device"] != device.id:
                    result = await self._dispatch(name, step_args)
                else:
                    result = await self._handlers[name](device, validate_arguments(name, step_args))
                text = "\n".join(c.text for c in result if isinstance(c, types.TextContent))
                out.append(f"Step {i} ({name}): {text}")
            except SimError as err:
                out.append(f"Step {i} ({name}) failed: {err.message}")
                if stop_on_error:
                    break
        if args.get("listElementsAtEnd"):
            views = self.runtime.list_with_refs(device)
            out.append(formatting.elements_text(views))
        return _text("\n".join(out))


_LEVELS = {"Info": "I", "Error": "E", "Warn": "W", "Debug": "D", "Verbose": "V"}


def _log_line(entry: Any) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry.timestamp))
    ms = int((entry.timestamp % 1) * 1000)
    return json.dumps(
        {
            "timestamp": f"{stamp}.{ms:03d}",
            "message": entry.message,
            "level": entry.level,
            "pid": entry.pid,
            "tag": entry.tag,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _log_matches(entry: Any, filters: list[str]) -> bool:
    for f in filters:
        neg = "!=" in f
        key, value = f.split("!=" if neg else "=", 1)
        actual = {
            "pid": str(entry.pid),
            "process": entry.process,
            "tag": entry.tag,
            "level": entry.level,
            "message": entry.message,
        }.get(key)
        if actual is None:
            hit = False
        elif key == "message":
            hit = value.lower() in actual.lower()
        else:
            hit = actual.lower() == value.lower()
        if hit == neg:
            return False
    return True
