"""Execute one plan step on one device: our semantic actions mapped to mobile-mcp calls.

Nothing else in the project knows tool names. Targets are resolved at run time from the
element list (the planner cannot see the screen); assertions poll until they hold or
their timeout passes, never sleep a fixed time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mcp import ClientSession

from graph.context import Context
from graph.state import ErrorClass, Evidence, Step, StepResult, StepStatus
from qa_agent.devices.calls import (
    UNSAFE_TOOLS,
    CallOutcome,
    CallPolicy,
    SessionLost,
    allowed_tools,
    call_tool,
    inject_arguments,
)
from qa_agent.devices.elements import Element, find_element, is_visible, parse_elements, summarize
from qa_agent.devices.results import ToolText, device_gone, truncate
from qa_agent.reports.paths import inside

BUTTONS = {"back": "BACK", "home": "HOME", "enter": "ENTER"}
MAX_LONG_PRESS_MS = 10_000
MAX_POLL_INTERVAL_S = 1.0


class StepFailed(Exception):
    def __init__(self, status: StepStatus, error_class: ErrorClass, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_class = error_class
        self.message = message


@dataclass
class LaneDriver:
    """Everything a lane needs to act on its device. Lives for one lane run, never in state."""

    ctx: Context
    driver: int
    device: str
    package: str | None
    schemas: dict[str, dict[str, Any]]
    get_session: Callable[[], Awaitable[ClientSession]]
    reconnect: Callable[[], Awaitable[None]]
    evidence_dir: Path
    calls: int = 0
    last_elements: list[Element] = field(default_factory=list)
    last_elements_text: str = ""

    async def call(self, tool: str, args: dict[str, Any], step: Step | None = None) -> CallOutcome:
        final_args = inject_arguments(tool, args, self.schemas.get(tool), self.device, self.package)
        timeout_s = step.timeout_s if step and step.timeout_s else self.ctx.step_default_timeout_s
        if tool == "mobile_long_press_on_screen_at_coordinates":
            timeout_s += _hold_seconds(final_args)  # the answer comes after the hold
        policy = CallPolicy(
            timeout_s=timeout_s,
            attempts=(step.attempts if step and step.attempts else self.ctx.step_default_attempts),
            backoff_base_s=self.ctx.step_backoff_base_s,
            allowed=allowed_tools(self.ctx.allow_unsafe_tools),
        )
        if tool not in policy.allowed:  # enforced here whatever the plan says (validated or not)
            refused = await call_tool(await self.get_session(), tool, final_args, policy)
            cls: ErrorClass = "cannot_run" if tool in UNSAFE_TOOLS else "plan_defect"
            raise StepFailed("blocked", cls, f"refused: {refused.text}")
        if tool not in self.schemas and self.schemas and tool in policy.allowed:
            raise StepFailed("blocked", "plan_defect", f"the device server has no tool {tool!r}")
        outcome = await self._send(tool, final_args, policy)
        if outcome.unconfirmed:
            outcome = await self._settle(outcome, policy)
        self.calls += outcome.tries
        return outcome

    async def _send(self, tool: str, args: dict[str, Any], policy: CallPolicy) -> CallOutcome:
        try:
            return await call_tool(await self.get_session(), tool, args, policy)
        except SessionLost:
            await self.reconnect()  # one reconnect: a restarted server gets a fresh session
            try:
                return await call_tool(await self.get_session(), tool, args, policy)
            except SessionLost as exc:
                raise StepFailed("blocked", "cannot_run", str(exc)) from exc
            except (ConnectionError, TimeoutError) as exc:
                raise StepFailed("blocked", "cannot_run", f"device server unreachable: {exc}") from exc

    async def _settle(self, timed_out: CallOutcome, policy: CallPolicy) -> CallOutcome:
        """A state-changing call timed out: wait until the device answers again, never send it twice.

        The server goes on running the call, so it may still take effect; the steps after it
        (assertions above all) check the screen anyway. A device that stays silent blocks the step.
        """
        probe_tool = "mobile_list_elements_on_screen"
        probe_args = inject_arguments(probe_tool, {}, self.schemas.get(probe_tool), self.device, self.package)
        probe = await self._send(probe_tool, probe_args, policy)
        tries = timed_out.tries + probe.tries
        if not probe.ok:
            text = f"{timed_out.text}, and the device did not answer afterwards: {probe.text.strip()[:300]}"
            return replace(timed_out, result=ToolText(text, is_error=True), tries=tries, ended_at=time.time())
        text = (
            f"{timed_out.text}; not sent again (it may still take effect); the device answered again after "
            f"{time.time() - timed_out.started_at:.1f}s"
        )
        return replace(timed_out, ok=True, result=ToolText(text), error_class="none", tries=tries, ended_at=time.time())

    async def must(self, tool: str, args: dict[str, Any], step: Step) -> CallOutcome:
        outcome = await self.call(tool, args, step)
        if not outcome.ok:
            if device_gone(outcome.text):
                raise StepFailed(
                    "blocked",
                    "cannot_run",
                    f"device {self.device} is gone: the device server no longer lists it "
                    f"({tool} answered: {outcome.text.strip()[:300]})",
                )
            status: StepStatus = "blocked" if outcome.error_class in ("cannot_run", "transient") else "failed"
            cls: ErrorClass = "cannot_run" if outcome.error_class == "transient" else outcome.error_class
            raise StepFailed(status, cls, f"{tool} failed: {outcome.text.strip()[:500]}")
        return outcome

    async def elements(self, step: Step) -> list[Element]:
        outcome = await self.must("mobile_list_elements_on_screen", {}, step)
        self.last_elements_text = outcome.text
        self.last_elements = parse_elements(outcome.text)
        return self.last_elements

    async def wait_for(
        self, step: Step, timeout_s: float, predicate: Callable[[list[Element]], Any]
    ) -> tuple[Any, list[Element]]:
        """Poll the element list until `predicate` returns something truthy or time runs out.

        Polls quickly at first (most changes land within a few hundred ms) and back off to
        MAX_POLL_INTERVAL_S, so a long wait does not flood the device; the last poll is at the deadline.
        """
        deadline = time.monotonic() + timeout_s
        interval = self.ctx.poll_interval_s
        while True:
            elements = await self.elements(step)
            found = predicate(elements)
            if found or time.monotonic() >= deadline:
                return found, elements
            await asyncio.sleep(min(interval, max(0.0, deadline - time.monotonic())))
            interval = min(interval * 1.5, max(MAX_POLL_INTERVAL_S, self.ctx.poll_interval_s))

    async def locate(self, step: Step, target: str) -> Element:
        timeout = float(step.args.get("timeout_s") or self.ctx.find_timeout_s)
        element, elements = await self.wait_for(step, timeout, lambda els: find_element(els, target))
        if element is None:
            raise StepFailed(
                "failed",
                "plan_defect",
                f"no element matching {target!r} within {timeout:g}s; on screen: {summarize(elements)}",
            )
        assert isinstance(element, Element)
        return element

    async def tap(self, step: Step, element: Element) -> None:
        props = (self.schemas.get("mobile_click_on_screen_at_coordinates") or {}).get("inputSchema", {})
        if element.ref and "ref" in (props.get("properties") or {}):
            await self.must("mobile_click_on_screen_at_coordinates", {"ref": element.ref}, step)
        else:
            x, y = element.center
            await self.must("mobile_click_on_screen_at_coordinates", {"x": x, "y": y}, step)

    async def screenshot(self, name: str) -> str | None:
        """Best effort: evidence must never turn a result into a crash."""
        try:
            outcome = await self.call("mobile_take_screenshot", {})
        except StepFailed:
            return None
        if not outcome.ok or not outcome.result.images:
            return None
        mime, data = outcome.result.images[0]
        path = inside(self.evidence_dir, f"{name}.{'png' if 'png' in mime else 'jpg'}")
        await asyncio.to_thread(_write_bytes, path, data)
        return str(path)


def _hold_seconds(args: dict[str, Any]) -> float:
    try:
        return max(0.0, float(args.get("duration", 0))) / 1000
    except (TypeError, ValueError):
        return 0.0


def _write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


async def _perform(d: LaneDriver, step: Step) -> str:
    """Run the step's calls; return a short description of what happened."""
    a = step.args
    match step.action:
        case "launch_app" | "terminate_app":
            package = a.get("package") or d.package
            if not package:
                raise StepFailed(
                    "blocked",
                    "cannot_run",
                    f"no package name for driver {d.driver}: name it in the ticket, or set "
                    f"DRIVER{d.driver}_PACKAGE or GLOBAL_PACKAGE",
                )
            if step.action == "launch_app" and a.get("cold_start"):
                # A test starts from a known state: stop whatever an earlier run left behind.
                await d.call("mobile_terminate_app", {"packageName": package}, step)
            tool = "mobile_launch_app" if step.action == "launch_app" else "mobile_terminate_app"
            return (await d.must(tool, {"packageName": package}, step)).text
        case "tap_text" | "double_tap_text":
            element = await d.locate(step, str(a["target"]))
            if step.action == "tap_text":
                await d.tap(step, element)
            else:
                x, y = element.center
                await d.must("mobile_double_tap_on_screen", {"x": x, "y": y}, step)
            return f"{step.action} {element.describe()}"
        case "long_press_text":
            element = await d.locate(step, str(a["target"]))
            x, y = element.center
            ms = min(MAX_LONG_PRESS_MS, max(1, round(float(a.get("duration_s", 1.0)) * 1000)))
            await d.must("mobile_long_press_on_screen_at_coordinates", {"x": x, "y": y, "duration": ms}, step)
            return f"held {element.describe()} for {ms} ms"
        case "type_into":
            element = await d.locate(step, str(a["target"]))
            await d.tap(step, element)
            await d.must("mobile_type_keys", {"text": str(a["text"]), "submit": bool(a.get("submit"))}, step)
            return f"typed into {element.describe()}"
        case "type_text":
            await d.must("mobile_type_keys", {"text": str(a["text"]), "submit": bool(a.get("submit"))}, step)
            return "typed text"
        case "swipe":
            args = {"direction": str(a.get("direction", "up")).lower()}
            args.update({k: a[k] for k in ("x", "y", "distance") if k in a})
            return (await d.must("mobile_swipe_on_screen", args, step)).text
        case "press_button" | "back" | "home":
            button = BUTTONS.get(step.action) or str(a.get("button", "")).upper()
            return (await d.must("mobile_press_button", {"button": button}, step)).text
        case "wait":
            await asyncio.sleep(float(a.get("seconds", 1)))
            return f"waited {a.get('seconds', 1)}s"
        case "assert_visible" | "assert_not_visible":
            text = str(a["text"])
            timeout = float(a.get("timeout_s") or d.ctx.assert_timeout_s)
            want = step.action == "assert_visible"
            held, elements = await d.wait_for(step, timeout, lambda els: is_visible(els, text) == want)
            if not held:
                seen = "still visible" if not want else "not visible"
                raise StepFailed(
                    "failed",
                    "app_defect",
                    f"{text!r} {seen} after {timeout:g}s; on screen: {summarize(elements)}",
                )
            return f"{text!r} {'visible' if want else 'absent'}"
        case "tool":
            return (await d.must(str(a["name"]), dict(a.get("args") or {}), step)).text
    raise StepFailed("blocked", "plan_defect", f"unknown action {step.action!r}")


async def run_step(d: LaneDriver, step: Step, *, segment: int, attempt: int) -> StepResult:
    started = time.time()
    calls_before = d.calls
    status: StepStatus = "passed"
    error_class: ErrorClass = "none"
    try:
        message = await _perform(d, step)
    except StepFailed as exc:
        status, error_class, message = exc.status, exc.error_class, exc.message
    except (KeyError, ValueError, TypeError) as exc:
        status, error_class, message = "blocked", "plan_defect", f"malformed step arguments: {exc!r}"
    evidence: Evidence | None = None
    # Evidence for failures and assertions, never after every step; QA_SCREENSHOTS chooses which
    # passing assertions also get a screenshot (all, only those proving an expected result, none).
    is_assertion = step.action in ("assert_visible", "assert_not_visible")
    wants_shot = status != "passed" or (
        is_assertion and (d.ctx.screenshots == "assertions" or (d.ctx.screenshots == "proofs" and bool(step.covers)))
    )
    if status != "passed" or is_assertion:
        name = f"a{attempt}-{step.id}-d{d.driver}"
        shot = await d.screenshot(name) if error_class != "cannot_run" and wants_shot else None
        evidence = Evidence(
            screenshot=shot,
            elements=truncate(d.last_elements_text, 4000, 80) if d.last_elements_text else None,
        )
    return StepResult(
        step_id=step.id,
        driver=d.driver,
        device=d.device,
        action=step.action,
        status=status,
        error_class=error_class,
        message=truncate(message, d.ctx.max_tool_chars, d.ctx.max_tool_lines),
        tool_calls=d.calls - calls_before,
        started_at=started,
        ended_at=time.time(),
        segment=segment,
        attempt=attempt,
        evidence=evidence,
        covers=list(step.covers),
    )
