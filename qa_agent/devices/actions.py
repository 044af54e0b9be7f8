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
import contextlib
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mcp import ClientSession

from graph.context import Context
from graph.state import ASSERTION_ACTIONS, ErrorClass, Evidence, Step, StepResult, StepStatus
from qa_agent.devices import reveal
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
    EDITABLE_TYPES,
    MATCH_MODES,
    STATES,
    Element,
    SlowRegex,
    describe_all,
    find_matches,
    near_misses,
    parse_elements,
    summarize,
    targets,
)
from qa_agent.devices.failures import StepFailed
from qa_agent.devices.owned import OwnedResource, ResourceLost
from qa_agent.devices.results import ToolText, device_gone, truncate
from qa_agent.devices.screens import ScreenMemory, Sighting
from qa_agent.devices.signals import ActionSignals
from qa_agent.reports.paths import atomic_write, inside

BUTTONS = {"back": "BACK", "home": "HOME", "enter": "ENTER"}
MAX_LONG_PRESS_MS = 10_000
MAX_POLL_INTERVAL_S = 1.0
MIN_LOOK_S = 0.05  # a poll with less time left than this could not be answered
STABLE_LOOKS = 3  # on a screen that keeps changing, a target is acted on after this many more listings
MIN_RELOOK_S = 1.0  # after bringing a target into view, it is looked for at least this long
# Tools that only look: any other call may change the screen, so listings from before it are stale.
OBSERVING_TOOLS = frozenset(
    {
        "mobile_list_elements_on_screen",
        "mobile_take_screenshot",
        "mobile_list_available_devices",
        "mobile_list_apps",
        "mobile_get_screen_size",
        "mobile_get_orientation",
        "mobile_get_foreground_app",
        "mobile_get_device_logs",
        "mobile_list_crashes",
        "mobile_get_crash",
    }
)


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
    # The session's owner: a call waits on it watched, so a broken transport ends the call at once,
    # not at its timeout.
    session_watch: Callable[[], OwnedResource[Any] | None] | None = None
    # The run's lease in a shared lab: why it may have expired (now / once it does). No call after that.
    lease_lost_now: Callable[[], str | None] = lambda: None
    lease_lost: Callable[[], Awaitable[str]] | None = None
    signals: ActionSignals = field(default_factory=ActionSignals)
    calls: int = 0
    last_elements: list[Element] = field(default_factory=list)
    last_elements_text: str = ""
    screen: ScreenMemory = field(default_factory=ScreenMemory)  # the run's, for this device (screens.py)

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
        if tool not in OBSERVING_TOOLS:
            self.screen.acted(time.monotonic())
        outcome = await self._send(tool, final_args, policy)
        if outcome.unconfirmed:
            outcome = await self._settle(outcome, policy)
        self.calls += outcome.tries
        return outcome

    async def _watched(self, tool: str, args: dict[str, Any], policy: CallPolicy) -> CallOutcome:
        session = await self.get_session()
        if (why := self.lease_lost_now()) is not None:  # another agent may hold the device now
            raise StepFailed("blocked", "cannot_run", why)
        owner = self.session_watch() if self.session_watch is not None else None
        try:
            with owner.watching() if owner is not None else contextlib.nullcontext():
                if self.lease_lost is None:
                    return await call_tool(session, tool, args, policy)
                return await self._unless_lease_lost(call_tool(session, tool, args, policy))
        except ResourceLost as exc:
            raise SessionLost(f"{tool}: connection to the device server lost ({exc})") from exc

    async def _unless_lease_lost(self, call: Awaitable[CallOutcome]) -> CallOutcome:
        """A call in a shared lab races the run's lease: once it may have expired, the call is dropped."""
        assert self.lease_lost is not None
        task, lost = asyncio.ensure_future(call), asyncio.ensure_future(self.lease_lost())
        try:
            done, _ = await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (task, lost):
                t.cancel()  # no-op on the one that finished
            await asyncio.gather(task, lost, return_exceptions=True)
        if task in done:
            return task.result()
        raise StepFailed("blocked", "cannot_run", lost.result())

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
                        self._listed(outcome.text, late, began, ended)
                    else:
                        trouble = f"the last answer came {ended - deadline:.1f}s after the window closed"
                    break
                took = max(took, ended - began)
                covered = covered or began >= deadline - cover
                seen = (began - opened, ended - opened)
                elements = parse_elements(outcome.text)
                self._listed(outcome.text, elements, began, ended)
                found = predicate(elements)
                if found:
                    return Look(found, elements, True, seen=seen)
            elif outcome.error_class == "transient" and not device_gone(outcome.text):
                trouble = outcome.text.strip()[:300]
            else:
                self._raise_for(tool, outcome)
            now = time.monotonic()
            # polls start every `interval`: a slow listing is followed at once (a toast lasts ~2 s)
            next_start = min(max(now, began + interval), max(now, deadline))
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

    def _listed(self, text: str, elements: list[Element], began: float, ended: float) -> None:
        self.screen.listed(Sighting(began, ended, elements, text))
        self.last_elements_text, self.last_elements = text, elements

    async def list_now(self, step: Step) -> list[Element]:
        began = time.monotonic()
        outcome = await self.must("mobile_list_elements_on_screen", {}, step)
        elements = parse_elements(outcome.text)
        self._listed(outcome.text, elements, began, time.monotonic())
        return elements

    def seen_since_action(self, window_s: float, predicate: Callable[[list[Element]], Any]) -> tuple[Any, Sighting]:
        """A listing taken since the device's last action, within `window_s` of it, that satisfies `predicate`."""
        acted_at = self.screen.acted_at
        for sighting in self.screen.sightings if acted_at else []:
            if sighting.began >= acted_at and sighting.ended <= acted_at + window_s:
                found = predicate(sighting.elements)
                if found:
                    return found, sighting
        return None, Sighting(0.0, 0.0, [])

    async def locate(self, step: Step, target: str) -> tuple[Element, str]:
        """The one element the step's target names, and what it took to bring it into view.

        It is taken from a listing equal to the one before it (nothing changed in between, so its ref
        and position still name it at tap time; see `_settled`). Once the screen is still without it:
        the soft keyboard is hidden if it may cover it, then the list on screen is scrolled (reveal.py);
        it is looked for until the window's end."""
        timeout = float(step.args.get("timeout_s") or self.ctx.find_timeout_s)
        mode = match_mode(step)
        deadline = time.monotonic() + timeout
        notes: list[str] = []
        tried: set[str] = set()
        scrolled: StepFailed | None = None
        while True:

            def seen(els: list[Element]) -> Any:
                hits = targets(els, target, mode)
                if hits:
                    return hits
                if not self.screen.stable:
                    return None
                if "keyboard" not in tried and reveal.keyboard_may_hide(self, els):
                    return "keyboard"
                if "scroll" not in tried and reveal.scroll_container(els) is not None:
                    return "scroll"
                return None

            look = await self.observe(step, max(deadline - time.monotonic(), MIN_RELOOK_S), seen)
            if look.found in ("keyboard", "scroll"):
                tried.add(look.found)
                if look.found == "keyboard":
                    notes.append(await reveal.hide_keyboard(self, step, look.elements))
                    continue
                if not reveal.same_list(self.screen.before_scroll, look.elements):
                    self.screen.before_scroll = look.elements  # what this screen showed before we scrolled it
                try:
                    _, how = await reveal.scroll_to(self, step, target, mode, None, look.elements)
                    notes.append(how)
                except StepFailed as exc:
                    scrolled = exc
                continue  # look again: a list may still be moving after a swipe
            if look.found:
                element = await self._settled(step, self.one(look.found, target, mode), target, mode)
                if element is not None:
                    return element, "; ".join(notes)
                if time.monotonic() < deadline:
                    continue  # it went away while the screen changed: look again
                raise StepFailed(
                    "blocked",
                    "transient",
                    f"inconclusive: {target!r} ({mode} match) went away each time the screen was listed again "
                    f"within {timeout:g}s (the screen kept changing); last: {summarize(self.last_elements)}",
                )
            if scrolled is not None:
                raise scrolled
            if not look.covered:
                raise self.inconclusive(f"looking for {target!r}", timeout, look)
            raise StepFailed(
                "failed",
                "plan_defect",
                f"no element matching {target!r} ({mode} match) within {timeout:g}s"
                f"{_closest(look.elements, target)}; on screen: {summarize(look.elements)}",
            )

    async def _settled(self, step: Step, element: Element, target: str, mode: str) -> Element | None:
        """The target as a listing equal to the one before it shows it (None if it went away).

        A ref names the element at that place of the list at tap time, so a listing taken before the
        screen last changed (our own action, an app timer) may name another element; re-listing until
        two agree (at most STABLE_LOOKS times, then the latest) is what makes the ref the target's."""
        for _ in range(STABLE_LOOKS):
            if self.screen.stable:
                break
            hits = targets(await self.list_now(step), target, mode)
            if not hits:
                return None
            element = self.one(hits, target, mode)
        return element

    @staticmethod
    def one(found: list[Element], target: str, mode: str) -> Element:
        """The element a target names; several distinct ones are a plan defect."""
        if len(found) > 1:
            raise StepFailed(
                "blocked",
                "plan_defect",
                f"ambiguous target {target!r} ({mode} match): {len(found)} elements match: {describe_all(found)}; "
                "name the one to use (its whole text, label or resource id)",
            )
        return found[0]

    def acting(self, step: Step, attempt: int, element: Element) -> None:
        """Tell concurrent checks of this segment that the step's device action on `element` starts now."""
        self.screen.touched(element, editable=element.kind in EDITABLE_TYPES)
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

        def save() -> Path:  # off the loop: resolving the path is a chain of lstat calls
            path = inside(self.evidence_dir, f"{name}.{'png' if 'png' in mime else 'jpg'}")
            atomic_write(path, data, sync=False)  # the report syncs the evidence folder before it is written
            return path

        return str(await asyncio.to_thread(save))


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
        if not look.found and start is None:
            # It may have come and gone (a toast lasts ~2 s) while an earlier step looked at this device.
            found, sighting = d.seen_since_action(timeout, lambda els: find_matches(els, text, mode))
            if found:
                d.last_elements_text = sighting.text  # the evidence is the listing that saw it
                since = (sighting.began - d.screen.acted_at, sighting.ended - d.screen.acted_at)
                return (
                    f"{what} visible: {describe_all(found[:3])} (in the listing taken {since[0]:.2f}-{since[1]:.2f}s "
                    "after the device's last action, before this step looked)"
                )
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
        if hidden := reveal.scrolled_away(d.screen.before_scroll, look.elements, text, mode):
            raise StepFailed(
                "blocked",
                "cannot_run",
                f"inconclusive: {what} absent {look.when(timeout)}, but it showed ({describe_all(hidden[:3])}) in "
                "the list the agent scrolled to reach an earlier target, and that list is still on screen: it may "
                "only be scrolled out of view",
            )
        near = near_misses(look.elements, text)
        similar = f"; on screen, not matching: {describe_all(near)}" if near else ""
        return f"{what} absent {look.when(timeout)}{similar}"
    seen = find_matches(look.elements, text, mode)
    raise StepFailed(
        "failed",
        "app_defect",
        f"{what} still visible after {timeout:g}s: {describe_all(seen[:3])} {look.when(timeout)}",
    )


def _after(how: str) -> str:
    return f" ({how})" if how else ""


def _truth(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).strip().lower() in ("true", "false"):
        return str(value).strip().lower() == "true"
    raise ValueError(f"value must be true or false, got {value!r}")


def _why_unknown(element: Element, state: str) -> str:
    if element.ref is None:
        return "this element list (no refs: mobile-mcp 1.0.2 or its legacy robot) reports focus only"
    return f"mobile-mcp lists `checked` only when set, and a {element.kind} is not a known checkable widget"


async def _assert_state(d: LaneDriver, step: Step) -> str:
    """Whether the one element the target names reports the state; an element that cannot tell never passes."""
    a = step.args
    target, state, want = str(a["target"]), str(a["state"]), _truth(a.get("value", True))
    if state not in STATES:
        raise ValueError(f"state must be one of {', '.join(STATES)}, got {state!r}")
    mode = match_mode(step)
    timeout = float(a.get("timeout_s") or d.ctx.assert_timeout_s)
    what = f"{target!r} ({mode} match) {state}={str(want).lower()}"

    def judged(els: list[Element]) -> list[Element] | None:
        hits = targets(els, target, mode)
        decided = len(hits) == 1 and hits[0].state(state) in (None, want)
        return hits if len(hits) > 1 or decided else None

    look = await d.observe(step, timeout, judged)
    if look.found:
        element = d.one(look.found, target, mode)
        if element.state(state) is None:
            raise StepFailed(
                "blocked",
                "cannot_run",
                f"inconclusive: {element.describe()} does not report whether it is {state} "
                f"({_why_unknown(element, state)}), so {what} cannot be checked",
            )
        return f"{what}: {element.describe()} reports {state}={str(want).lower()} {look.when(timeout)}"
    if not look.covered:
        raise d.inconclusive(what, timeout, look)
    hits = targets(look.elements, target, mode)
    if not hits:
        raise StepFailed(
            "failed",
            "plan_defect",
            f"{what}: no element matching {target!r} on screen after {timeout:g}s {look.when(timeout)}"
            f"{_closest(look.elements, target)}; on screen: {summarize(look.elements)}",
        )
    element = hits[0]
    raise StepFailed(
        "failed",
        "app_defect",
        f"{what}: {element.describe()} still reports {state}={str(element.state(state)).lower()} after "
        f"{timeout:g}s {look.when(timeout)}",
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
            d.screen.before_scroll = []  # the app starts (or stops): its lists start at their tops
            tool = "mobile_launch_app" if step.action == "launch_app" else "mobile_terminate_app"
            return (await d.must(tool, {"packageName": package}, step)).text
        case "tap_text" | "double_tap_text":
            element, how = await d.locate(step, str(a["target"]))
            d.acting(step, attempt, element)
            if step.action == "tap_text":
                await d.tap(step, element)
            else:
                x, y = element.center
                await d.must("mobile_double_tap_on_screen", {"x": x, "y": y}, step)
            return f"{step.action} {element.describe()}{_after(how)}"
        case "long_press_text":
            element, how = await d.locate(step, str(a["target"]))
            x, y = element.center
            ms = min(MAX_LONG_PRESS_MS, max(1, round(float(a.get("duration_s", 1.0)) * 1000)))
            d.acting(step, attempt, element)
            await d.must("mobile_long_press_on_screen_at_coordinates", {"x": x, "y": y, "duration": ms}, step)
            return f"held {element.describe()} for {ms} ms{_after(how)}"
        case "type_into":
            element, how = await d.locate(step, str(a["target"]))
            d.acting(step, attempt, element)
            await d.tap(step, element)
            await d.must("mobile_type_keys", {"text": str(a["text"]), "submit": bool(a.get("submit"))}, step)
            return f"typed into {element.describe()}{_after(how)}"
        case "scroll_to":
            d.screen.before_scroll = []  # the ticket scrolls: what moves out of view is its own doing
            target, mode = str(a["target"]), match_mode(step)
            elements = await d.list_now(step)
            if hits := targets(elements, target, mode):
                return f"{d.one(hits, target, mode).describe()} already on screen: no scroll"
            direction = str(a["direction"]).lower() if a.get("direction") else None
            hits, how = await reveal.scroll_to(d, step, target, mode, direction, elements)
            return f"{d.one(hits, target, mode).describe()} {how}"
        case "hide_keyboard":
            return await reveal.hide_keyboard(d, step, await d.list_now(step))
        case "type_text":
            await d.must("mobile_type_keys", {"text": str(a["text"]), "submit": bool(a.get("submit"))}, step)
            return "typed text"
        case "swipe":
            d.screen.before_scroll = []
            args = {"direction": str(a.get("direction", "up")).lower()}
            args.update({k: a[k] for k in ("x", "y", "distance") if k in a})
            return (await d.must("mobile_swipe_on_screen", args, step)).text
        case "press_button" | "back" | "home":
            button = BUTTONS.get(step.action) or str(a.get("button", "")).upper()
            return (await d.must("mobile_press_button", {"button": button}, step)).text
        case "wait":
            d.screen.waited()
            await asyncio.sleep(float(a.get("seconds", 1)))
            return f"waited {a.get('seconds', 1)}s"
        case "assert_visible" | "assert_not_visible":
            return await _assert(d, step, attempt)
        case "assert_state":
            return await _assert_state(d, step)
        case "tool":
            d.screen.keyboard_hidden_over = None  # it may have tapped a text field
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
    is_assertion = step.action in ASSERTION_ACTIONS
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
