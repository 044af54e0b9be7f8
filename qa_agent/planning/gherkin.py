"""Compile Gherkin test details into a Plan, offline.

Structure comes from Cucumber's parser (`structure.py`); what a step does from the step library
(`steps.py`, Cucumber Expressions), who does it from `subjects.py`; what runs together from
`segments.py`. Hand-written here: compound steps (`X and Y`), `while` steps, and the refusal of
every line that would not become a step, so that no check is ever dropped silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph.state import ASSERTION_ACTIONS, Plan
from qa_agent.planning.segments import Action, Line, plan_from_cases
from qa_agent.planning.steps import StepDef, StepLibrary, StepsFileError, load_library
from qa_agent.planning.structure import Case, GherkinError, StepLine, Unmatched, looks_like_gherkin, parse
from qa_agent.planning.subjects import Subjects, normalise, role_of, split_and, split_while, split_within

__all__ = ["GherkinError", "Unmatched", "compile_gherkin", "looks_like_gherkin", "problems"]

_PLACEHOLDER = re.compile(r"<[^<>\s]+>")
_STILL_HELD = re.compile(
    r"^(?:the (?:\w+ )?(?:button|key)|it|(?:the )?\"[^\"]*\"(?: button)?) is (?:still )?(?:held|pressed|down)"
)
VOCABULARY = "see `qa-agent steps` for every step with an example"


class _NoStep(Exception):
    """No step matches (`known`: one does, but cannot be used as written; the model must not guess)."""

    def __init__(self, detail: str, known: bool = False) -> None:
        super().__init__(detail)
        self.known = known


def _join(previous: Line, line: Line) -> Line | None:
    """`When user1 holds "Talk"` + `Then user2 sees "X" while the button is held`: one hold, a check during it."""
    holds = [i for i, (_, a, _) in enumerate(previous.actions) if a == "long_press_text"]
    if not line.joins_previous or not holds or previous.concurrent:
        return None
    return Line(line.step, previous.actions + line.actions, concurrent=True, held=holds[-1], source=line.source)


@dataclass
class _Reader:
    """Turns one scenario's step lines into actions by driver."""

    library: StepLibrary
    subjects: Subjects

    def clause(self, phrase: str, step: StepLine) -> list[Action]:
        team = self.library.match(split_within(phrase)[0], with_subject=True, table=step.table, doc=step.doc)
        if team is not None and team.driver is not None:
            self.subjects.current = team.driver
            return self._checked(team.definition, [(team.driver, a, args) for a, args in team.actions], phrase)
        named, rest = self.subjects.split(phrase)
        drivers = named or [self.subjects.current]
        single = self._single(drivers, rest, step)
        if single is not None:
            return single
        parts = split_and(rest)
        if len(parts) < 2:
            raise _NoStep(rest)
        out: list[Action] = []
        for i, part in enumerate(parts):
            last = [*re.finditer(r"\"[^\"]*\"", parts[i - 1])][-1:] if i else []
            if last and re.fullmatch(r"\"[^\"]*\"", part):  # `sees "A" and "B"`: the verb of the part before
                before = parts[i - 1]
                part = parts[i] = before[: last[0].start()] + part + before[last[0].end() :]
            part_named, part_rest = self.subjects.split(part)
            got = self._single(part_named or drivers, part_rest, step)
            if got is None:
                raise _NoStep(part)
            out += got
        return out

    def _single(self, drivers: list[int], rest: str, step: StepLine) -> list[Action] | None:
        rest, within = split_within(rest)
        rest = rest[:1].lower() + rest[1:]
        found = self.library.match(rest, table=step.table, doc=step.doc)
        if found is None:
            return None
        actions = [(d, a, dict(args)) for d in drivers for a, args in found.actions]
        for _, action, args in actions:
            if within is not None and action in ASSERTION_ACTIONS:
                args["timeout_s"] = within
        return self._checked(found.definition, actions, rest)

    @staticmethod
    def _checked(definition: StepDef, actions: list[Action], phrase: str) -> list[Action]:
        if definition.unsupported:
            raise _NoStep(
                f"{phrase!r} is a known phrasing, but its action {', '.join(definition.unsupported)} "
                "is not supported yet",
                known=True,
            )
        for driver, _, args in actions:
            if driver < 1:
                raise _NoStep(f"{phrase!r}: users are numbered from 1 (user1, user2, ...)", known=True)
            if any(isinstance(args.get(k), float) and args[k] <= 0 for k in ("duration_s", "seconds", "timeout_s")):
                raise _NoStep(f"{phrase!r}: a duration must be more than 0 seconds", known=True)
        return actions

    def line(self, step: StepLine) -> Line:
        text = normalise(step.text)
        parts = split_while(text)
        if parts is None:
            return Line(step, self.clause(text, step))
        try:
            held = self.clause(parts[0], step)
        except _NoStep:
            if not _STILL_HELD.match(parts[0]):
                raise
            return Line(step, self.clause(parts[1], step), concurrent=True, joins_previous=True)
        during = self.clause(parts[1], step)
        index = next((i for i, (_, a, _) in enumerate(held) if a not in ASSERTION_ACTIONS), None)
        return Line(step, held + during, concurrent=True, held=index)


@dataclass
class Compiled:
    cases: list[tuple[Case, list[Line]]]
    roles: dict[int, str]
    problems: list[str]
    unmatched: list[Unmatched]  # only lines no step matched: what a model may plan

    @property
    def only_unmatched(self) -> bool:
        return bool(self.unmatched) and len(self.problems) == len({u.line for u in self.unmatched})


def compile_cases(text: str, *, library: StepLibrary, resolved: dict[str, list[Action]] | None = None) -> Compiled:
    """Every case with its compiled lines; `resolved` gives the actions of step texts no step matched."""
    cases = parse(text)
    roles: dict[int, str] = {}
    for case in cases:
        for step in case.steps:
            role = role_of(step.text) if step.phase == "given" else None  # `Then user1 is Online` is a check
            if role:
                roles[role[0]] = role[1]
    out = Compiled([], roles, [], [])
    for case in cases:
        reader = _Reader(library, Subjects(roles=dict(roles)))
        lines: list[Line] = []
        for step in case.steps:
            if step.phase == "given" and role_of(step.text):
                continue
            missing = _PLACEHOLDER.search(step.text) if case.outline else None
            if missing:
                out.problems.append(
                    f"line {step.line}: placeholder {missing.group()} has no column in the Examples table"
                )
                continue
            if resolved and step.text in resolved:
                lines.append(Line(step, [(d, a, dict(args)) for d, a, args in resolved[step.text]], source="llm"))
                continue
            try:
                line = reader.line(step)
                joined = _join(lines[-1], line) if lines else None
                if joined is not None:
                    lines[-1] = joined
                elif line.joins_previous:
                    out.problems.append(f"line {step.line}: 'while ... is held' follows no step that holds a button")
                else:
                    lines.append(line)
            except _NoStep as exc:
                detail = str(exc.args[0])
                if exc.known:
                    out.problems.append(f"line {step.line}: {detail}")
                    continue
                nearest = library.nearest(step.text)
                if all(u.line != step.line for u in out.unmatched):
                    out.problems.append(
                        f"line {step.line}: cannot compile step {detail!r} for user{reader.subjects.current}; "
                        f"nearest known phrasing: {nearest!r}"
                    )
                if all(u.text != step.text for u in out.unmatched):
                    scenario = "\n".join(s.text for s in case.steps)
                    out.unmatched.append(Unmatched(step.line, step.text, scenario, nearest))
        out.cases.append((case, lines))
    if not cases:
        out.problems.append("the test details contain no scenario with steps (Given/When/Then)")
    return out


def problems(text: str, **kwargs: Any) -> list[str]:
    """Every line of the test details that would not become a step, each with its line number."""
    try:
        return compile_cases(text, library=_library(**kwargs)).problems
    except GherkinError as exc:
        return str(exc).split("; ")


def _library(
    *, library: StepLibrary | None = None, apps: dict[str, str] | None = None, steps_file: Path | None = None
) -> StepLibrary:
    if library is not None:
        return library
    try:
        return load_library(steps_file, apps)
    except StepsFileError as exc:
        raise GherkinError(str(exc)) from None


def compile_gherkin(
    text: str,
    *,
    apps: dict[str, str] | None = None,
    steps_file: Path | None = None,
    library: StepLibrary | None = None,
    resolved: dict[str, list[Action]] | None = None,
) -> Plan:
    """Gherkin text -> Plan. Raises GherkinError listing every line that could not be understood.

    `resolved`: actions for step texts no step matches (planned by the model), marked `source="llm"`."""
    compiled = compile_cases(
        text, library=_library(library=library, apps=apps, steps_file=steps_file), resolved=resolved
    )
    if compiled.problems:
        message = "; ".join(compiled.problems) + f". Known steps: {VOCABULARY}"
        raise GherkinError(message, compiled.unmatched if compiled.only_unmatched else [], compiled.roles)
    return plan_from_cases(compiled.cases, compiled.roles)
