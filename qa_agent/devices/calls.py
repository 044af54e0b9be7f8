"""One device tool call: allowlist, schema-aware argument injection, timeout, retries."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from mcp import ClientSession

from graph.state import ErrorClass
from qa_agent.devices.owned import describe
from qa_agent.devices.results import ToolText, classify_error, to_tool_text

SAFE_TOOLS: frozenset[str] = frozenset(
    {
        "mobile_list_available_devices",
        "mobile_list_apps",
        "mobile_launch_app",
        "mobile_terminate_app",
        "mobile_get_screen_size",
        "mobile_click_on_screen_at_coordinates",
        "mobile_double_tap_on_screen",
        "mobile_long_press_on_screen_at_coordinates",
        "mobile_list_elements_on_screen",
        "mobile_press_button",
        "mobile_swipe_on_screen",
        "mobile_type_keys",
        "mobile_take_screenshot",  # not mobile_save_screenshot: it writes wherever `saveTo` says
        "mobile_set_orientation",
        "mobile_get_orientation",
        "mobile_get_foreground_app",
        "mobile_get_device_logs",
        "mobile_list_crashes",
        "mobile_get_crash",
    }
)
# They change what is installed or leave the app under test: an explicit opt-in enables them.
UNSAFE_TOOLS: frozenset[str] = frozenset({"mobile_install_app", "mobile_uninstall_app", "mobile_open_url"})
# Calls that act on the device and are not idempotent. A server is not told to stop a call whose
# client timed out (mobile-mcp goes on running a stuck mobilecli), so after a timeout such a call
# may still take effect: sending it again could type the text twice or tap a toggle back.
NOT_IDEMPOTENT_TOOLS: frozenset[str] = frozenset(
    {
        "mobile_click_on_screen_at_coordinates",
        "mobile_double_tap_on_screen",
        "mobile_long_press_on_screen_at_coordinates",
        "mobile_type_keys",
        "mobile_press_button",
        "mobile_swipe_on_screen",
        "mobile_install_app",
        "mobile_uninstall_app",
        "mobile_open_url",
        "mobile_batch_commands",
    }
)
DEVICE_KEYS = ("device", "device_id", "deviceId", "udid", "serial", "android_device_id")
PACKAGE_TOOLS = {"mobile_launch_app": "packageName", "mobile_terminate_app": "packageName"}


def allowed_tools(allow_unsafe: bool) -> frozenset[str]:
    return SAFE_TOOLS | UNSAFE_TOOLS if allow_unsafe else SAFE_TOOLS


@dataclass
class CallOutcome:
    tool: str
    args: dict[str, Any]
    ok: bool
    result: ToolText
    error_class: ErrorClass = "none"
    tries: int = 1
    started_at: float = 0.0
    ended_at: float = 0.0
    unconfirmed: bool = False  # a state-changing call timed out: it may still take effect

    @property
    def text(self) -> str:
        return self.result.text


@dataclass
class CallPolicy:
    timeout_s: float
    attempts: int
    backoff_base_s: float
    allowed: frozenset[str] = field(default_factory=lambda: SAFE_TOOLS)


def inject_arguments(
    tool: str, args: dict[str, Any], schema: dict[str, Any] | None, device: str | None, package: str | None
) -> dict[str, Any]:
    """Fill what a plan leaves implicit, and only where the tool's schema has a place for it.

    A device named in `args` is dropped: a lane acts on its assigned device and no other."""
    props: dict[str, Any] = ((schema or {}).get("inputSchema") or {}).get("properties") or {}
    out = {k: v for k, v in args.items() if k not in DEVICE_KEYS}
    if device:
        key = next((k for k in DEVICE_KEYS if k in props), None)
        if key is None and schema is None and tool != "mobile_list_available_devices":
            key = "device"  # no schema known: every device tool of mobile-mcp takes `device`
        if key:
            out[key] = device
    pkg_key = PACKAGE_TOOLS.get(tool)
    if pkg_key and package and not out.get(pkg_key) and (schema is None or pkg_key in props):
        out[pkg_key] = package
    if "noParams" in props and "noParams" not in out:
        out["noParams"] = {}  # servers up to 0.0.44 require it; newer ones have no such key
    return out


class SessionLost(Exception):
    """The transport under a session broke; the caller may reconnect."""


async def call_tool(
    session: ClientSession,
    tool: str,
    args: dict[str, Any],
    policy: CallPolicy,
) -> CallOutcome:
    started = time.time()
    if tool not in policy.allowed:
        why = "needs QA_ALLOW_UNSAFE_TOOLS=1" if tool in UNSAFE_TOOLS else "is not in the allowlist"
        return CallOutcome(
            tool,
            args,
            False,
            ToolText(f"tool {tool!r} {why}"),
            "cannot_run" if tool in UNSAFE_TOOLS else "plan_defect",
            0,
            started,
            time.time(),
        )
    last = ToolText("")
    error_class: ErrorClass = "none"
    tries = 0
    for tries in range(1, policy.attempts + 1):
        try:
            async with asyncio.timeout(policy.timeout_s):  # not wait_for: on 3.11 that is a task per call
                raw = await session.call_tool(tool, args)
            last = to_tool_text(raw)
            if not last.failed:
                return CallOutcome(tool, args, True, last, "none", tries, started, time.time())
            error_class = classify_error(last.text)
        except TimeoutError:
            last = ToolText(f"{tool} did not answer within {policy.timeout_s:g}s", is_error=True)
            error_class = "transient"
            if tool in NOT_IDEMPOTENT_TOOLS:  # never sent twice: the caller checks the device instead
                return CallOutcome(tool, args, False, last, error_class, tries, started, time.time(), unconfirmed=True)
        except Exception as exc:  # transport failures surface as many exception types
            raise SessionLost(f"{tool}: connection to the device server lost ({describe(exc)})") from exc
        if error_class != "transient":
            break
        if tries < policy.attempts:
            await asyncio.sleep(policy.backoff_base_s * tries)
    return CallOutcome(tool, args, False, last, error_class, tries, started, time.time())
