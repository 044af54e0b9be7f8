"""One validation for every plan, whoever wrote it (Gherkin compiler, LLM, replay)."""

from __future__ import annotations

import re
from typing import Any

import regex

from graph.context import Context
from graph.state import ASSERTION_ACTIONS, SEMANTIC_ACTIONS, Plan, Step, TicketSummary
from qa_agent.devices.calls import DEVICE_KEYS, PACKAGE_TOOLS, UNSAFE_TOOLS
from qa_agent.devices.elements import MATCH_MODES, MAX_REGEX_CHARS, STATES

_REQUIRED: dict[str, tuple[str, ...]] = {
    "tap_text": ("target",),
    "double_tap_text": ("target",),
    "long_press_text": ("target",),
    "type_into": ("text", "target"),
    "type_text": ("text",),
    "assert_visible": ("text",),
    "assert_not_visible": ("text",),
    "assert_state": ("target", "state"),
    "scroll_to": ("target",),
    "press_button": ("button",),
    "swipe": ("direction",),
    "tool": ("name",),
}
_DIRECTIONS = {"up", "down", "left", "right"}
MAX_WAIT_S = 600.0  # no step waits, holds or watches a window longer than ten minutes
_STEP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")  # it names evidence files


def launchable_packages(ctx: Context, summary: TicketSummary | None) -> frozenset[str]:
    """The ticket's packages (as it names them or as configured) and QA_ALLOWED_PACKAGES."""
    named = [summary.package if summary else None, ctx.global_package, *ctx.driver_packages.values()]
    return frozenset(p for p in [*named, *ctx.allowed_packages] if p)


def launched_package(step: Step) -> str | None:
    """The package a step names explicitly for launching or stopping, if any."""
    if step.action in ("launch_app", "terminate_app"):
        return str(step.args.get("package") or "") or None
    key = PACKAGE_TOOLS.get(str(step.args.get("name", ""))) if step.action == "tool" else None
    if key and isinstance(step.args.get("args"), dict):
        return str(step.args["args"].get(key) or "") or None
    return None


_ACTING = {"tap_text", "double_tap_text", "long_press_text", "type_into"}  # they signal when they act
_MATCHED = {"tap_text", "double_tap_text", "long_press_text", "type_into", "scroll_to", *ASSERTION_ACTIONS}
_TEXT_CHECKS = {"assert_visible", "assert_not_visible"}  # the others name their element by `target`


def validate_plan(
    plan: Plan,
    *,
    server_tools: dict[str, dict[str, Any]],
    allowed: frozenset[str],
    packages: dict[int, str | None],
    launchable: frozenset[str] = frozenset(),
) -> list[str]:
    """Every problem found, each naming the step; an empty list means the plan may run.

    A step may launch only the drivers' packages and `launchable` (see launchable_packages);
    devices are the agent's to assign, never the plan's."""
    errors: list[str] = []
    if not plan.steps:
        return ["the plan has no steps"]
    seen: set[str] = set()
    permitted = launchable | {p for p in packages.values() if p}
    segment_of = {s.id: i for i, segment in enumerate(plan.segments()) for s in segment}
    by_id = {s.id: s for s in plan.steps}
    for step in plan.steps:
        where = f"step {step.id} (driver {step.driver}, {step.action})"
        if not _STEP_ID.match(step.id):
            errors.append(f"{where}: a step id is 1-40 letters, digits, '_', '.' or '-', starting alphanumeric")
        if step.id in seen:
            errors.append(f"{where}: duplicate step id")
        seen.add(step.id)
        package = launched_package(step)
        if package and package not in permitted:
            errors.append(
                f"{where}: package {package!r} is neither the ticket's ({', '.join(sorted(permitted)) or 'none'}) "
                "nor allowed: add it to QA_ALLOWED_PACKAGES to let plans launch it"
            )
        if step.action not in SEMANTIC_ACTIONS:
            errors.append(f"{where}: unknown action; known actions: {', '.join(SEMANTIC_ACTIONS)}")
            continue
        missing = [a for a in _REQUIRED.get(step.action, ()) if step.args.get(a) in (None, "")]
        if missing:
            errors.append(f"{where}: missing argument(s) {', '.join(missing)}")
        if step.action in _MATCHED:
            errors.extend(_match_errors(step, where))
        if step.action in ASSERTION_ACTIONS and step.args.get("during") is not None:
            other = by_id.get(str(step.args["during"]))
            if (
                step.action not in _TEXT_CHECKS
                or other is None
                or other.action not in _ACTING
                or other.driver == step.driver
                or segment_of[other.id] != segment_of[step.id]
            ):
                errors.append(
                    f"{where}: during must name a {'/'.join(sorted(_ACTING))} step of another driver in the "
                    f"same segment (got {step.args['during']!r})"
                )
        errors.extend(_duration_errors(step, where))
        if step.action == "swipe" and str(step.args.get("direction", "")).lower() not in _DIRECTIONS:
            errors.append(f"{where}: direction must be one of up, down, left, right")
        if step.action == "scroll_to" and str(step.args.get("direction") or "down").lower() not in ("up", "down"):
            errors.append(f"{where}: a scroll_to direction is up or down (or none: down, then up)")
        if step.action == "assert_state":
            if step.args.get("state") not in (None, "") and step.args["state"] not in STATES:
                errors.append(f"{where}: state must be one of {', '.join(STATES)}, got {step.args['state']!r}")
            if str(step.args.get("value", True)).lower() not in ("true", "false"):
                errors.append(f"{where}: value must be true or false, got {step.args['value']!r}")
        if step.action in ("launch_app", "terminate_app") and not (
            step.args.get("package") or packages.get(step.driver)
        ):
            errors.append(
                f"{where}: missing package name: name the app's package in the ticket "
                f"(e.g. `@package:com.example.app`) or set DRIVER{step.driver}_PACKAGE or GLOBAL_PACKAGE"
            )
        if step.action == "tool":
            name = str(step.args.get("name", ""))
            if name and name not in allowed:
                hint = " (install, uninstall and open-URL need QA_ALLOW_UNSAFE_TOOLS=1)" if name in UNSAFE_TOOLS else ""
                errors.append(f"{where}: tool {name!r} is not allowed{hint}")
            elif name and server_tools and name not in server_tools:
                errors.append(f"{where}: the device server has no tool {name!r}")
            elif not isinstance(step.args.get("args", {}), dict):
                errors.append(f"{where}: args must be an object")
            elif named := [k for k in DEVICE_KEYS if k in step.args.get("args", {})]:
                errors.append(f"{where}: devices are assigned by the agent; remove the {', '.join(named)} argument")
    return errors


def _duration_errors(step: Step, where: str) -> list[str]:
    """A wait or a window beyond MAX_WAIT_S would hold the devices (and a batch's leases) for hours."""
    named = {
        "timeout_s": step.args.get("timeout_s"),
        "seconds": step.args.get("seconds") if step.action == "wait" else None,
        "duration_s": step.args.get("duration_s"),
        "the step's timeout_s": step.timeout_s,
    }
    errors = []
    for name, value in named.items():
        if value is None:
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            errors.append(f"{where}: {name} must be a number of seconds, got {value!r}")
            continue
        if not 0 < number <= MAX_WAIT_S:
            errors.append(f"{where}: {name} must be more than 0 and at most {MAX_WAIT_S:g} seconds, got {number:g}")
    return errors


def _match_errors(step: Step, where: str) -> list[str]:
    mode = step.args.get("match", "exact")
    if mode not in MATCH_MODES:
        return [f"{where}: match must be one of {', '.join(MATCH_MODES)}, got {mode!r}"]
    if mode == "regex":
        pattern = str(step.args.get("text" if step.action in _TEXT_CHECKS else "target") or "")
        if len(pattern) > MAX_REGEX_CHARS:
            return [f"{where}: a regular expression is at most {MAX_REGEX_CHARS} characters"]
        try:
            regex.compile(pattern)
        except regex.error as exc:
            return [f"{where}: invalid regular expression: {exc}"]
    return []


def mark_cold_starts(plan: Plan) -> Plan:
    """Each driver's first app launch of an attempt is a cold start (terminate, then launch),
    so a replanned attempt or a second run does not inherit what the last one left on screen."""
    seen: set[int] = set()
    for step in plan.steps:
        if step.action == "launch_app" and step.driver not in seen:
            step.args.setdefault("cold_start", True)
        if step.action == "launch_app":
            seen.add(step.driver)
    return plan
