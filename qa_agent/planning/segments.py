"""Segments of a compiled Gherkin plan: which steps run together, and where every driver waits.

Segments (steps between barriers) follow causality between users: steps of one user run
in order; a step by another user waits at a barrier for what came before, except where
the ticket says things happen together (a Given block, "user2 and user3 ...", "while ...").
Several test cases run one after the other, each ending at a barrier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graph.state import ASSERTION_ACTIONS, Plan, Step
from qa_agent.planning.structure import Case, GherkinError, StepLine

Action = tuple[int, str, dict[str, Any]]


@dataclass
class Line:
    step: StepLine
    actions: list[Action]
    concurrent: bool = False
    held: int | None = None  # index in actions of the action the concurrent clause happens during
    joins_previous: bool = False  # "while the button is held": during the previous line's hold
    source: str = ""


@dataclass
class _Plan:
    steps: list[Step] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    group_of: list[int] = field(default_factory=list)
    group: int = 0


def _add_case(out: _Plan, lines: list[Line], label: str, case: int, cold_starts: bool) -> None:
    phase = ""
    prev_driver_set: set[int] | None = None
    prev_parallel = False
    group_checks_only = False
    launched: set[int] = set()
    for compiled in lines:
        new_phase = compiled.step.phase
        drivers_here = {d for d, _, _ in compiled.actions}
        parallel = compiled.concurrent or len(drivers_here) > 1
        same_phase_given = new_phase == "given" and phase == "given"
        checks_only = not compiled.concurrent and all(a in ASSERTION_ACTIONS for _, a, _ in compiled.actions)
        joins_group = prev_driver_set is not None and (
            # checks change nothing, so checks by different users may run side by side
            (checks_only and group_checks_only)
            or (not parallel and not prev_parallel and (same_phase_given or drivers_here == prev_driver_set))
        )
        if prev_driver_set is not None and not joins_group:
            out.group += 1
            group_checks_only = checks_only
        else:
            group_checks_only = group_checks_only and checks_only
        covers: list[int] = []
        if new_phase == "then" and any(a in ASSERTION_ACTIONS for _, a, _ in compiled.actions):
            out.expected.append(label + compiled.step.text)
            covers = [len(out.expected) - 1]
        held_id = ""
        hold = compiled.actions[compiled.held][2] if compiled.held is not None else None
        for i, (driver, action, args) in enumerate(compiled.actions):
            if action == "launch_app" and cold_starts and driver not in launched:
                args["cold_start"] = True
            launched.add(driver) if action == "launch_app" else None
            if compiled.concurrent and action in ASSERTION_ACTIONS and held_id:
                if compiled.held is not None and driver != compiled.actions[compiled.held][0]:
                    args["during"] = held_id  # the holder's own lane checks after its hold, not during it
                if hold is not None and "timeout_s" not in args:  # a "does not see" holds for the whole hold
                    args["timeout_s"] = float(hold.get("duration_s", 1))
            step_id = f"S{len(out.steps) + 1}"
            held_id = step_id if i == compiled.held else held_id
            out.steps.append(
                Step(
                    id=step_id,
                    driver=driver,
                    action=action,
                    args=args,
                    expect=label + compiled.step.text,
                    covers=covers if action in ASSERTION_ACTIONS else [],
                    source="llm" if compiled.source == "llm" else "",
                    case=case,
                )
            )
            out.group_of.append(out.group)
        phase = new_phase
        merged = joins_group and (same_phase_given or checks_only)
        prev_driver_set = (prev_driver_set or set()) | drivers_here if merged else drivers_here
        prev_parallel = parallel
    out.group += 1  # a test case ends at a barrier


def plan_from_cases(cases: list[tuple[Case, list[Line]]], roles: dict[int, str]) -> Plan:
    out = _Plan()
    names: list[str] = []
    for case, _ in cases:
        name = case.name or "scenario"
        names.append(name if name not in names else f"{name} #{names.count(name) + 1}")
    several = len(cases) > 1
    for index, (_, lines) in enumerate(cases):
        _add_case(out, lines, f"[{names[index]}] " if several else "", index, cold_starts=several)
    if not out.steps:
        raise GherkinError("the test details contain no Gherkin step (Given/When/Then)")
    for i, step in enumerate(out.steps):
        last_of_group = i + 1 == len(out.steps) or out.group_of[i + 1] != out.group_of[i]
        step.barrier = last_of_group and i + 1 < len(out.steps)
    return Plan(
        steps=out.steps,
        verifications=out.expected,
        drivers_needed=max(s.driver for s in out.steps),
        roles=roles,
        cases=names if several else [],
        source="gherkin",
    )
