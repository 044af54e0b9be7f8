"""Compile Gherkin test details into a Plan, offline.

Structure (Feature, Background, Rule, Scenario Outline with Examples, tags, data tables, doc
strings, comments, `# language:`) is read by Cucumber's own parser; each example row is a test
case. What a step does comes from the step library (`steps.py`), who does it from `subjects.py`.
Test details that are bare step lines get a Feature and a Scenario header around them.

Segments (steps between barriers) follow causality between users: steps of one user run
in order; a step by another user waits at a barrier for what came before, except where
the ticket says things happen together (a Given block, "user2 and user3 ...", "while ...").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from gherkin.dialect import Dialect
from gherkin.errors import CompositeParserException, ParserError, ParserException, UnexpectedTokenException
from gherkin.parser import Parser
from gherkin.pickles.compiler import Compiler
from gherkin.token_scanner import TokenScanner

from graph.state import ASSERTION_ACTIONS, Plan, Step
from qa_agent.planning.steps import StepLibrary, StepsFileError, load_library
from qa_agent.planning.subjects import Subjects, normalise, role_of, split_and, split_while, split_within

_STEP_LINE = re.compile(
    r"^(?:given|when|then|and|but|\*|soit|étant donné que|étant donné|etant donne|quand|lorsque|alors|et|mais)\s+\S",
    re.IGNORECASE,
)
_STRUCTURE = re.compile(
    r"^(?:feature|scenario outline|scenario template|scenario|background|rule|examples|example|scenarios|"
    r"fonctionnalité|plan du scénario|plan du scenario|scénario|scenario|contexte|règle|regle|exemples|exemple)\s*:",
    re.IGNORECASE,
)
_LANGUAGE = re.compile(r"^\s*#\s*language\s*:\s*(?P<lang>[\w-]+)\s*$")
_PHASES = {"Context": "given", "Action": "when", "Outcome": "then"}
_PLACEHOLDER = re.compile(r"<[^<>\s]+>")
_STILL_HELD = re.compile(
    r"^(?:the (?:\w+ )?(?:button|key)|it|(?:the )?\"[^\"]*\"(?: button)?) is (?:still )?(?:held|pressed|down)"
)
VOCABULARY = "see `qa-agent steps` for every step with an example"
Action = tuple[int, str, dict[str, Any]]


class GherkinError(ValueError):
    """Test details that cannot become a plan.

    `unmatched`: the lines no step matched, when they are the only problem (a model may plan them)."""

    def __init__(
        self, message: str, unmatched: list[Unmatched] | None = None, roles: dict[int, str] | None = None
    ) -> None:
        super().__init__(message)
        self.unmatched = unmatched or []
        self.roles = roles or {}


@dataclass
class Unmatched:
    line: int
    text: str
    scenario: str
    nearest: str


def looks_like_gherkin(text: str) -> bool:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    steps = sum(1 for ln in lines if _STEP_LINE.match(ln))
    if lines and _LANGUAGE.match(lines[0]):
        return True
    return steps >= 2 or (any(_STRUCTURE.match(ln) for ln in lines) and steps >= 1)


# --- structure -------------------------------------------------------------------------------------------


@dataclass
class _StepLine:
    line: int
    phase: str
    text: str
    table: list[list[str]] | None = None
    doc: str | None = None


@dataclass
class _Case:
    name: str
    steps: list[_StepLine]
    outline: bool


def _dialect(text: str) -> Dialect:
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    m = _LANGUAGE.match(first)
    dialect = Dialect.for_name(m.group("lang") if m else "en") or Dialect.for_name("en")
    assert dialect is not None
    return dialect


def _wrap(text: str) -> tuple[str, list[int]]:
    """Add the Feature/Scenario headers bare step lines lack; return the text and each line's original number."""
    lines = text.splitlines()
    dialect = _dialect(text)

    def starts(line: str, keywords: list[str]) -> bool:
        return any(line.strip().startswith(k.strip() + ":") for k in keywords)

    step_keywords = [
        k
        for k in [*dialect.given_keywords, *dialect.when_keywords, *dialect.then_keywords, *dialect.and_keywords]
        if k.strip() != "*"
    ]
    scenario_keywords = [*dialect.scenario_keywords, *dialect.scenario_outline_keywords, *dialect.background_keywords]
    numbers = list(range(1, len(lines) + 1))
    if any(starts(ln, dialect.feature_keywords) for ln in lines):
        return text, numbers
    at = next((i for i, ln in enumerate(lines) if ln.strip() and not ln.strip().startswith(("#", "@"))), len(lines))
    if not any(starts(ln, scenario_keywords) for ln in lines):
        first_step = next(
            (i for i, ln in enumerate(lines) if any(ln.strip().startswith(k) for k in step_keywords)), len(lines)
        )
        lines.insert(first_step, f"{dialect.scenario_keywords[0]}: {dialect.scenario_keywords[0]}")
        numbers.insert(first_step, numbers[first_step] if first_step < len(numbers) else len(numbers) + 1)
    lines.insert(at, f"{dialect.feature_keywords[0]}: {dialect.feature_keywords[0]}")
    numbers.insert(at, numbers[at] if at < len(numbers) else len(numbers) + 1)
    return "\n".join(lines) + "\n", numbers


def _parse_error(error: ParserException, numbers: list[int]) -> str:
    line = numbers[min(error.location["line"], len(numbers)) - 1] if numbers else error.location["line"]
    if isinstance(error, UnexpectedTokenException) and "#StepLine" in str(error):
        got = re.search(r"got '(?P<got>.*)'$", str(error), re.S)
        if got and not _STRUCTURE.match(got.group("got")):
            return f"line {line}: not a step (Given/When/Then/And/But): {got.group('got')!r}"
    message = re.sub(r"^\(\d+:\d+\): ", "", str(error))
    return f"line {line}, column {error.location.get('column') or 1}: {message}"


def _descriptions(document: dict[str, Any], raw: list[str], numbers: list[int]) -> list[str]:
    """Free text under a Scenario or Background: the parser takes a misspelled step for a description."""
    found = []
    children = (document.get("feature") or {}).get("children", [])
    for child in [*children, *(c for r in children if "rule" in r for c in r["rule"].get("children", []))]:
        block = child.get("scenario") or child.get("background")
        if not block or not block.get("description", "").strip():
            continue
        start = block["location"]["line"]
        for text in (t.strip() for t in block["description"].splitlines() if t.strip()):
            index = next((i for i in range(start, len(raw)) if raw[i].strip() == text), start)
            found.append(f"line {numbers[index]}: not a step (Given/When/Then/And/But): {text!r}")
    return found


def parse(text: str) -> list[_Case]:
    """The test cases of the test details (one per scenario, one per Examples row). Raises GherkinError."""
    wrapped, numbers = _wrap(text)
    try:
        document = cast(dict[str, Any], Parser().parse(TokenScanner(wrapped)))
    except CompositeParserException as exc:
        raise GherkinError("; ".join(_parse_error(e, numbers) for e in exc.errors)) from None
    except ParserException as exc:
        raise GherkinError(_parse_error(exc, numbers)) from None
    except ParserError as exc:
        raise GherkinError(f"the test details are not valid Gherkin: {exc}") from None
    raw = wrapped.splitlines()
    errors = _descriptions(document, raw, numbers)
    if errors:
        raise GherkinError("; ".join(errors))
    document["uri"] = "test-details.feature"
    ast_lines = _ast_step_lines(document)
    outlines = {s["id"] for s in _scenarios(document) if s.get("examples")}
    cases = []
    for pickle in cast(list[dict[str, Any]], Compiler().compile(cast(Any, document))):
        steps, phase = [], "given"
        for step in pickle["steps"]:
            phase = _PHASES.get(step.get("type", ""), phase)
            argument = step.get("argument") or {}
            table = argument.get("dataTable")
            doc = argument.get("docString")
            steps.append(
                _StepLine(
                    line=numbers[ast_lines[step["astNodeIds"][0]] - 1],
                    phase=phase,
                    text=step["text"],
                    table=[[c["value"] for c in row["cells"]] for row in table["rows"]] if table else None,
                    doc=doc["content"] if doc else None,
                )
            )
        outline = any(node in outlines for node in pickle["astNodeIds"])
        cases.append(_Case(name=pickle["name"], steps=steps, outline=outline))
    return cases


def _scenarios(document: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for child in (document.get("feature") or {}).get("children", []):
        if "scenario" in child:
            out.append(child["scenario"])
        for sub in child.get("rule", {}).get("children", []):
            if "scenario" in sub:
                out.append(sub["scenario"])
    return out


def _ast_step_lines(document: dict[str, Any]) -> dict[str, int]:
    lines: dict[str, int] = {}
    for child in (document.get("feature") or {}).get("children", []):
        blocks = [child.get("scenario"), child.get("background")]
        for sub in child.get("rule", {}).get("children", []):
            blocks += [sub.get("scenario"), sub.get("background")]
        for block in blocks:
            for step in (block or {}).get("steps", []):
                lines[step["id"]] = step["location"]["line"]
    return lines


# --- steps -----------------------------------------------------------------------------------------------


class _NoStep(Exception):
    pass


@dataclass
class _Line:
    step: _StepLine
    actions: list[Action]
    concurrent: bool = False
    held: int | None = None  # index in actions of the action the concurrent clause happens during
    joins_previous: bool = False  # "while the button is held": during the previous line's hold
    source: str = ""


def _join(previous: _Line, line: _Line) -> _Line | None:
    """`When user1 holds "Talk"` + `Then user2 sees "X" while the button is held`: one hold, a check during it."""
    holds = [i for i, (_, a, _) in enumerate(previous.actions) if a == "long_press_text"]
    if not line.joins_previous or not holds or previous.concurrent:
        return None
    return _Line(line.step, previous.actions + line.actions, concurrent=True, held=holds[-1], source=line.source)


@dataclass
class _Reader:
    """Turns one scenario's step lines into actions by driver."""

    library: StepLibrary
    subjects: Subjects

    def clause(self, phrase: str, step: _StepLine) -> list[Action]:
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

    def _single(self, drivers: list[int], rest: str, step: _StepLine) -> list[Action] | None:
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
    def _checked(definition: Any, actions: list[Action], phrase: str) -> list[Action]:
        if definition.unsupported:
            raise _NoStep(
                f"{phrase!r} is a known phrasing, but its action {', '.join(definition.unsupported)} "
                "is not supported yet"
            )
        return actions

    def line(self, step: _StepLine) -> _Line:
        text = normalise(step.text)
        parts = split_while(text)
        if parts is None:
            return _Line(step, self.clause(text, step))
        try:
            held = self.clause(parts[0], step)
        except _NoStep:
            if not _STILL_HELD.match(parts[0]):
                raise
            return _Line(step, self.clause(parts[1], step), concurrent=True, joins_previous=True)
        during = self.clause(parts[1], step)
        index = next((i for i, (_, a, _) in enumerate(held) if a not in ASSERTION_ACTIONS), None)
        return _Line(step, held + during, concurrent=True, held=index)


# --- segments --------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    steps: list[Step] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    group_of: list[int] = field(default_factory=list)
    group: int = 0


def _add_case(out: _Plan, lines: list[_Line], label: str, case: int, cold_starts: bool) -> None:
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
                args["during"] = held_id
                if action == "assert_visible" and hold is not None and "timeout_s" not in args:
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


@dataclass
class Compiled:
    cases: list[tuple[_Case, list[_Line]]]
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
            role = role_of(step.text)
            if role:
                roles[role[0]] = role[1]
    out = Compiled([], roles, [], [])
    for case in cases:
        reader = _Reader(library, Subjects(roles=dict(roles)))
        lines: list[_Line] = []
        for step in case.steps:
            if role_of(step.text):
                continue
            missing = _PLACEHOLDER.search(step.text) if case.outline else None
            if missing:
                out.problems.append(
                    f"line {step.line}: placeholder {missing.group()} has no column in the Examples table"
                )
                continue
            if resolved and step.text in resolved:
                lines.append(_Line(step, [(d, a, dict(args)) for d, a, args in resolved[step.text]], source="llm"))
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
                if "is a known phrasing" in detail:
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


def plan_from_cases(cases: list[tuple[_Case, list[_Line]]], roles: dict[int, str]) -> Plan:
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
