"""Execute one plan step on one device: our semantic actions mapped to mobile-mcp calls.

Nothing else in the project knows tool names. Targets are resolved at run time from the
element list (the planner cannot see the screen); assertions poll until they hold or
their window closes, never sleep a fixed time.

Matching: a query names an element's whole text, label, name, value or resource id (case and
spacing aside); `args.match` = `contains` or `regex` asks for less. Deadlines: an assertion is
judged only by observations taken inside its window; when the device let us see too little of
the window to decide, the step is `blocked` (transient), never passed or failed.
"""

from __future__ import annotations

import asyncio
import re
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
from qa_agent.devices.elements import (
    MATCH_MODES,
    Element,
    SlowRegex,
    describe_all,
    find_matches,
    near_misses,
    parse_elements,
    summarize,
    targets,
)
from qa_agent.devices.results import ToolText, device_gone, truncate
from qa_agent.devices.signals import ActionSignals
from qa_agent.reports.paths import atomic_write, inside

BUTTONS = {"back": "BACK", "home": "HOME", "enter": "ENTER"}
MAX_LONG_PRESS_MS = 10_000
MAX_POLL_INTERVAL_S = 1.0
MIN_LOOK_S = 0.05  # a poll with less time left than this could not be answered


@dataclass
class Look:
    """What polling a window showed: `found` from an observation taken inside it, else whether the
    observations covered the window's end (a conclusive no) and, if not, why."""

    found: Any
    elements: list[Element]
    covered: bool
    trouble: str = ""
    seen: tuple[float, float] = (0.0, 0.0)  # the last observation's start and end, seconds into the window

    def when(self, window_s: float) -> str:
        return f"(observed {self.seen[0]:.2f}-{self.seen[1]:.2f}s into the {window_s:g}s window)"


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
    server_device: str = ""  # the id its server knows the device by, when the lab qualified it
    # Resolves when the session's transport breaks: a call racing it ends at once, not at its timeout.
    session_lost: Callable[[], Awaitable[str]] | None = None
    signals: ActionSignals = field(default_factory=ActionSignals)
    calls: int = 0
    last_elements: list[Element] = field(default_factory=list)
    last_elements_text: str = ""

    @property
    def tool_device(self) -> str:
        return self.server_device or self.device

    async def call(
        self,
        tool: str,
        args: dict[str, Any],
        step: Step | None = None,
        *,
        timeout_s: float | None = None,
        attempts: int | None = None,
    ) -> CallOutcome:
        final_args = inject_arguments(
            tool, args, self.schemas.get(tool), self.server_device or self.device, self.package
        )
        if timeout_s is None:
            timeout_s = step.timeout_s if step and step.timeout_s else self.ctx.step_default_timeout_s
        if tool == "mobile_long_press_on_screen_at_coordinates":
            timeout_s += _hold_seconds(final_args)  # the answer comes after the hold
        policy = CallPolicy(
            timeout_s=timeout_s,
            attempts=attempts or (step.attempts if step and step.attempts else self.ctx.step_default_attempts),
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

    async def _watched(self, tool: str, args: dict[str, Any], policy: CallPolicy) -> CallOutcome:
        session = await self.get_session()
        if self.session_lost is None:
            return await call_tool(session, tool, args, policy)
        call = asyncio.ensure_future(call_tool(session, tool, args, policy))
        lost = asyncio.ensure_future(self.session_lost())
        try:
            done, _ = await asyncio.wait({call, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (call, lost):
                task.cancel()  # no-op on the one that finished
            await asyncio.gather(call, lost, return_exceptions=True)
        if call in done:
            return call.result()
        raise SessionLost(f"{tool}: connection to the device server lost ({lost.result()})")

    async def _send(self, tool: str, args: dict[str, Any], policy: CallPolicy) -> CallOutcome:
        try:
            try:
                return await self._watched(tool, args, policy)
            except SessionLost:
                await self.reconnect()  # one reconnect: a restarted server gets a fresh session
                return await self._watched(tool, args, policy)
        except SessionLost as exc:
            raise StepFailed("blocked", "cannot_run", str(exc)) from exc
        except (ConnectionError, TimeoutError) as exc:  # the session could not be (re)opened
            raise StepFailed("blocked", "cannot_run", f"device server unreachable: {exc}") from exc

    async def _settle(self, timed_out: CallOutcome, policy: CallPolicy) -> CallOutcome:
        """A state-changing call timed out: wait until the device answers again, never send it twice.

        The server goes on running the call, so it may still take effect; the steps after it
        (assertions above all) check the screen anyway. A device that stays silent blocks the step.
        """
        probe_tool = "mobile_list_elements_on_screen"
        probe_args = inject_arguments(
            probe_tool, {}, self.schemas.get(probe_tool), self.server_device or self.device, self.package
        )
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

    def _raise_for(self, tool: str, outcome: CallOutcome) -> None:
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

    async def must(self, tool: str, args: dict[str, Any], step: Step) -> CallOutcome:
        outcome = await self.call(tool, args, step)
        if not outcome.ok:
            self._raise_for(tool, outcome)
        return outcome

    async def observe(
        self,
        step: Step,
        timeout_s: float,
        predicate: Callable[[list[Element]], Any],
        *,
        start: float | None = None,
        late_no: bool = False,
    ) -> Look:
        """Poll the element list inside the window [start, start + timeout_s] (monotonic clock) until
        `predicate` returns something truthy.

        Only observations that began and ended inside the window count: each poll is capped at the
        time left, and an answer that comes late anyway (a reconnect, a slow device) is dropped, since
        the screen it shows may be from after the deadline. A "no" is conclusive only if an
        observation *began* within the window's last `cover` seconds (a listing may capture the
        screen as soon as it starts), so the last poll is timed to start in that stretch and end
        before the deadline, judging by how long listings took so far. Polls quickly at first and
        backs off to MAX_POLL_INTERVAL_S.

        `late_no`: a device slower than that stretch may finish the covering look after the deadline
        (it is waited for up to the call timeout), and its answer may then decide a "no" only (the
        look began in the last stretch, so what it shows was still there then or later). Sound for
        "X is gone by the deadline", whose "no" is X still showing; never for "X shows up", whose
        "no" could be a toast that came and went.
        """
        tool = "mobile_list_elements_on_screen"
        opened = time.monotonic() if start is None else start
        deadline = opened + timeout_s
        cover = max(MAX_POLL_INTERVAL_S, min(2.0, timeout_s / 3))
        interval = self.ctx.poll_interval_s
        call_timeout = step.timeout_s or self.ctx.step_default_timeout_s
        elements: list[Element] = []
        covered = False
        took = 0.0  # the longest listing so far
        seen = (0.0, 0.0)
        trouble = ""
        while (left := deadline - time.monotonic()) > MIN_LOOK_S:
            began = time.monotonic()
            covering = began >= deadline - cover
            # A late_no covering look may answer after the deadline and still decide, so only the call
            # timeout bounds it: a cap from earlier looks' times cut a look just slower than them.
            cap = call_timeout if late_no and covering else left
            outcome = await self.call(tool, {}, step, timeout_s=min(cap, call_timeout), attempts=1)
            ended = time.monotonic()
            if outcome.ok and not outcome.unconfirmed:
                if ended > deadline:
                    late = parse_elements(outcome.text)
                    if late_no and covering and not predicate(late):
                        covered, elements, seen = True, late, (began - opened, ended - opened)
                        self.last_elements_text, self.last_elements = outcome.text, late
                    else:
                        trouble = f"the last answer came {ended - deadline:.1f}s after the window closed"
                    break
                took = max(took, ended - began)
                covered = covered or began >= deadline - cover
                seen = (began - opened, ended - opened)
                self.last_elements_text = outcome.text
                self.last_elements = elements = parse_elements(outcome.text)
                found = predicate(elements)
                if found:
                    return Look(found, elements, True, seen=seen)
            elif outcome.error_class == "transient" and not device_gone(outcome.text):
                trouble = outcome.text.strip()[:300]
            else:
                self._raise_for(tool, outcome)
            now = time.monotonic()
            next_start = now + min(interval, max(0.0, deadline - now))
            if not covered:
                # the covering look: as late as possible, early enough to end inside the window
                last_start = deadline - min(cover, max(took * 1.25, MIN_LOOK_S))
                if next_start + took * 1.25 > last_start:
                    next_start = max(now, last_start)
            await asyncio.sleep(max(0.0, next_start - now))
            interval = min(interval * 1.5, max(MAX_POLL_INTERVAL_S, self.ctx.poll_interval_s))
        if not covered and not trouble:
            trouble = f"no observation began in its last {cover:g}s and ended in time: the device was too slow or late"
        return Look(None, elements, covered, trouble, seen)

    def inconclusive(self, what: str, window_s: float, look: Look) -> StepFailed:
        return StepFailed(
            "blocked",
            "transient",
            f"inconclusive: {what}: the device let us observe too little of the {window_s:g}s window ({look.trouble})",
        )

    async def locate(self, step: Step, target: str) -> Element:
        """The one element the step's target names; several distinct ones are a plan defect."""
        timeout = float(step.args.get("timeout_s") or self.ctx.find_timeout_s)
        mode = match_mode(step)
        look = await self.observe(step, timeout, lambda els: targets(els, target, mode))
        if not look.found:
            if not look.covered:
                raise self.inconclusive(f"looking for {target!r}", timeout, look)
            raise StepFailed(
                "failed",
                "plan_defect",
                f"no element matching {target!r} ({mode} match) within {timeout:g}s"
                f"{_closest(look.elements, target)}; on screen: {summarize(look.elements)}",
            )
        found: list[Element] = look.found
        if len(found) > 1:
            raise StepFailed(
                "blocked",
                "plan_defect",
                f"ambiguous target {target!r} ({mode} match): {len(found)} elements match: {describe_all(found)}; "
                "name the one to use (its whole text, label or resource id)",
            )
        return found[0]

    def acting(self, step: Step, attempt: int) -> None:
        """Tell concurrent checks of this segment that the step's device action starts now."""
        self.signals.started(attempt, step.id)

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
        await asyncio.to_thread(atomic_write, path, data)
        return str(path)


def _hold_seconds(args: dict[str, Any]) -> float:
    try:
        return max(0.0, float(args.get("duration", 0))) / 1000
    except (TypeError, ValueError):
        return 0.0


def match_mode(step: Step) -> str:
    mode = str(step.args.get("match") or "exact")
    if mode not in MATCH_MODES:
        raise ValueError(f"match must be one of {', '.join(MATCH_MODES)}, got {mode!r}")
    return mode


def _closest(elements: list[Element], query: str) -> str:
    near = near_misses(elements, query)
    return f"; closest: {describe_all(near)}" if near else ""


async def _absent_throughout(
    d: LaneDriver, step: Step, what: str, text: str, mode: str, window_s: float, start: float
) -> str:
    """A concurrent "does not see": the text must stay away for the whole window (while the other
    lane acts), so one early absence proves nothing; any sighting inside the window is a failure."""
    look = await d.observe(step, window_s, lambda els: find_matches(els, text, mode), start=start)
    if look.found:
        raise StepFailed(
            "failed",
            "app_defect",
            f"{what} visible while step {step.args['during']} acted: {describe_all(look.found[:3])} "
            f"{look.when(window_s)}",
        )
    if not look.covered:
        raise d.inconclusive(f"{what} absent throughout", window_s, look)
    return f"{what} absent throughout the {window_s:g}s window {look.when(window_s)}"


async def _assert(d: LaneDriver, step: Step, attempt: int) -> str:
    a = step.args
    text = str(a["text"])
    mode = match_mode(step)
    timeout = float(a.get("timeout_s") or d.ctx.assert_timeout_s)
    want = step.action == "assert_visible"
    start: float | None = None
    if a.get("during"):
        # A concurrent check: its window opens when the other lane's action starts.
        other = str(a["during"])
        wait_s = d.ctx.find_timeout_s + d.ctx.step_default_timeout_s
        try:
            start = await d.signals.wait_started(attempt, other, wait_s)
        except TimeoutError:
            raise StepFailed(
                "blocked",
                "transient",
                f"inconclusive: {text!r} is checked while step {other} acts, and nothing was heard of "
                f"step {other} within {wait_s:g}s (was this run resumed in another process?)",
            ) from None
        if start is None:
            raise StepFailed("skipped", "none", f"skipped: step {other}, which this check watches, did not act")
    what = f"{text!r} ({mode} match)"
    if not want and start is not None:
        return await _absent_throughout(d, step, what, text, mode, window_s=timeout, start=start)
    if want:
        look = await d.observe(step, timeout, lambda els: find_matches(els, text, mode), start=start)
    else:
        absent = lambda els: not find_matches(els, text, mode)  # noqa: E731
        look = await d.observe(step, timeout, absent, start=start, late_no=True)
    if not look.found and not look.covered:
        raise d.inconclusive(f"{what} {'visible' if want else 'absent'}", timeout, look)
    if want and look.found:
        return f"{what} visible: {describe_all(look.found[:3])} {look.when(timeout)}"
    if want:
        raise StepFailed(
            "failed",
            "app_defect",
            f"{what} not visible after {timeout:g}s {look.when(timeout)}{_closest(look.elements, text)}; "
            f"on screen: {summarize(look.elements)}",
        )
    if look.found:
        near = near_misses(look.elements, text)
        similar = f"; on screen, not matching: {describe_all(near)}" if near else ""
        return f"{what} absent {look.when(timeout)}{similar}"
    seen = find_matches(look.elements, text, mode)
    raise StepFailed(
        "failed",
        "app_defect",
        f"{what} still visible after {timeout:g}s: {describe_all(seen[:3])} {look.when(timeout)}",
    )


async def _perform(d: LaneDriver, step: Step, attempt: int) -> str:
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
            d.acting(step, attempt)
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
            d.acting(step, attempt)
            await d.must("mobile_long_press_on_screen_at_coordinates", {"x": x, "y": y, "duration": ms}, step)
            return f"held {element.describe()} for {ms} ms"
        case "type_into":
            element = await d.locate(step, str(a["target"]))
            d.acting(step, attempt)
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
            return await _assert(d, step, attempt)
        case "tool":
            return (await d.must(str(a["name"]), dict(a.get("args") or {}), step)).text
    raise StepFailed("blocked", "plan_defect", f"unknown action {step.action!r}")


async def run_step(d: LaneDriver, step: Step, *, segment: int, attempt: int) -> StepResult:
    started = time.time()
    calls_before = d.calls
    status: StepStatus = "passed"
    error_class: ErrorClass = "none"
    try:
        message = await _perform(d, step, attempt)
    except StepFailed as exc:
        status, error_class, message = exc.status, exc.error_class, exc.message
    except SlowRegex as exc:
        status, error_class, message = "blocked", "plan_defect", str(exc)
    except (KeyError, ValueError, TypeError, re.error) as exc:
        status, error_class, message = "blocked", "plan_defect", f"malformed step arguments: {exc!r}"
    finally:
        d.signals.ended(attempt, step.id)
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
