"""Compile Gherkin test details into a Plan, offline, with a small step vocabulary.

Segments (steps between barriers) follow causality between users: steps of one user run
in order; a step by another user waits at a barrier for what came before, except where
the ticket says things happen together (a Given block, "user2 and user3 ...", "while ...").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from graph.state import Plan, Step

_KEYWORDS = {
    "given": "given",
    "when": "when",
    "then": "then",
    "and": "and",
    "but": "and",
    "*": "and",
    "soit": "given",
    "etant donne": "given",
    "étant donné": "given",
    "étant donné que": "given",
    "quand": "when",
    "lorsque": "when",
    "alors": "then",
    "et": "and",
    "mais": "and",
}
_STEP_LINE = re.compile(
    r"^(?P<kw>given|when|then|and|but|\*|soit|étant donné que|étant donné|etant donne|quand|lorsque|"
    r"alors|et|mais)"
    r"\s+(?P<text>.+)$",
    re.IGNORECASE,
)
_STRUCTURE = re.compile(
    r"^(?P<header>feature|scenario outline|scenario template|scenario|background|rule|examples|example|scenarios|"
    r"fonctionnalité|plan du scénario|plan du scenario|scénario|scenario|contexte|règle|regle|exemples|exemple)\s*:",
    re.IGNORECASE,
)
# Headers after which every line must be a step: a misspelled keyword must not drop a check silently.
_STEP_BLOCKS = frozenset(
    {"scenario", "scenario outline", "scenario template", "background", "example", "scénario", "plan du scénario",
     "plan du scenario", "contexte", "exemple"}
)  # fmt: skip
_PLACEHOLDER = re.compile(r"<[^<>\s]+>")
_SUBJECT = r"(?:the user|i|user\s*\d+|driver\s*\d+|device\s*\d+|phone\s*\d+)"
_SUBJECTS = re.compile(rf"^(?P<subj>{_SUBJECT}(?:\s*(?:,|and)\s*{_SUBJECT})*)\s+(?P<rest>.+)$", re.IGNORECASE)
_WHILE = re.compile(r"^while\s+(?P<first>.+?),\s*(?P<second>.+)$", re.IGNORECASE)
_Q = r"[\"“«]\s*(?P<{name}>[^\"”»]+?)\s*[\"”»]"
_SECONDS = r"(?P<{name}>\d+(?:\.\d+)?)\s*(?:s|sec|secs|seconds?)"
_WITHIN = rf"(?:\s+(?:within|in less than|in under)\s+{_SECONDS.format(name='within')})?"
_MODE = r"(?:text\s+(?P<mode>containing|matching)\s+)?"  # a partial match only when the step says so


def _q(name: str) -> str:
    return _Q.format(name=name)


_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "launch_app",
        re.compile(rf"^(?:opens|launches|starts)\s+(?:the\s+)?(?:app(?:lication)?\s*)?(?:{_q('pkg')})?$", re.I),
    ),
    (
        "terminate_app",
        re.compile(
            rf"^(?:closes|terminates|stops|kills)\s+(?:the\s+)?(?:app(?:lication)?\s*)?(?:{_q('pkg')})?$",
            re.I,
        ),
    ),
    (
        "press_button",
        re.compile(r"^(?:presses|taps|hits)\s+(?:the\s+)?(?P<button>back|home|enter)(?:\s+button)?$", re.I),
    ),
    ("double_tap_text", re.compile(rf"^double[- ]?(?:taps|clicks)\s+(?:on\s+)?{_q('target')}$", re.I)),
    (
        "long_press_text",
        re.compile(
            rf"^(?:long[- ]?presses|holds|presses and holds)\s+(?:on\s+)?{_q('target')}"
            rf"(?:\s+for\s+{_SECONDS.format(name='duration')})?$",
            re.I,
        ),
    ),
    ("tap_text", re.compile(rf"^(?:taps|clicks|presses|selects)\s+(?:on\s+)?{_q('target')}$", re.I)),
    (
        "type_into",
        re.compile(rf"^(?:types|enters|fills in)\s+{_q('text')}\s+(?:into|in)\s+(?:the\s+)?{_q('target')}$", re.I),
    ),
    ("type_text", re.compile(rf"^(?:types|enters)\s+{_q('text')}$", re.I)),
    ("swipe", re.compile(r"^swipes\s+(?P<direction>up|down|left|right)$", re.I)),
    ("wait", re.compile(rf"^waits\s+(?:for\s+)?{_SECONDS.format(name='seconds')}$", re.I)),
    (
        "assert_not_visible",
        re.compile(
            r"^(?:does not see|doesn't see|should not see|no longer sees|must not see)\s+"
            rf"{_MODE}{_q('text')}{_WITHIN}$",
            re.I,
        ),
    ),
    (
        "assert_visible",
        re.compile(rf"^(?:sees|see|should see|must see|can see)\s+{_MODE}{_q('text')}{_WITHIN}$", re.I),
    ),
]
VOCABULARY = (
    'userN opens the app ["pkg"]; closes the app; taps "X"; double taps "X"; holds "X" for N seconds; '
    'types "T" into "F"; types "T"; swipes up|down|left|right; presses back|home|enter; '
    'sees "X" [within N seconds] (the whole text; sees text containing "X" / sees text matching "regex" for '
    'less); does not see "X" [within N seconds]; waits N seconds; '
    'while user1 holds "X" for N seconds, user2 sees "Y"; user2 and user3 see "X"'
)


class GherkinError(ValueError):
    pass


def looks_like_gherkin(text: str) -> bool:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    steps = sum(1 for ln in lines if _STEP_LINE.match(ln))
    return steps >= 2 or (any(_STRUCTURE.match(ln) for ln in lines) and steps >= 1)


def _drivers(subject: str) -> list[int]:
    numbers = [int(n) for n in re.findall(r"\d+", subject)]
    return numbers or [1]


@dataclass
class _Compiled:
    steps: list[Step] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    group_of: list[int] = field(default_factory=list)


def _action(driver: int, phrase: str, line_no: int) -> tuple[str, dict[str, object]]:
    phrase = phrase.strip().rstrip(".")
    for action, pattern in _PATTERNS:
        m = pattern.match(phrase)
        if not m:
            continue
        g = {k: v for k, v in m.groupdict().items() if v is not None}
        args: dict[str, object] = {}
        if action in ("launch_app", "terminate_app") and "pkg" in g:
            args["package"] = g["pkg"]
        elif action == "press_button":
            return {"back": "back", "home": "home"}.get(g["button"].lower(), "press_button"), (
                {} if g["button"].lower() in ("back", "home") else {"button": g["button"].upper()}
            )
        elif action == "long_press_text":
            args = {"target": g["target"], "duration_s": float(g.get("duration", 1))}
        elif action in ("tap_text", "double_tap_text"):
            args = {"target": g["target"]}
        elif action == "type_into":
            args = {"text": g["text"], "target": g["target"]}
        elif action == "type_text":
            args = {"text": g["text"]}
        elif action == "swipe":
            args = {"direction": g["direction"].lower()}
        elif action == "wait":
            args = {"seconds": float(g["seconds"])}
        elif action in ("assert_visible", "assert_not_visible"):
            args = {"text": g["text"]}
            if "within" in g:
                args["timeout_s"] = float(g["within"])
            if "mode" in g:
                args["match"] = {"containing": "contains", "matching": "regex"}[g["mode"].lower()]
        return action, args
    raise GherkinError(f"line {line_no}: cannot compile step {phrase!r} for user{driver}. Known steps: {VOCABULARY}")


def _clauses(body: str) -> list[str]:
    while_m = _WHILE.match(body)
    return [while_m.group("first"), while_m.group("second")] if while_m else [body]


def problems(text: str) -> list[str]:
    """Every line of the test details that would not become a step, each with its line number.

    Inside a scenario or background every non-blank, non-comment line must be a step, a table
    row or a doc string; free text is allowed only as a description before the first scenario.
    """
    found: list[str] = []
    in_steps = False
    in_doc = False
    examples = False
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith(('"""', "```")):
            in_doc = not in_doc
            continue
        if in_doc or not line or line.startswith(("#", "@", "|")):
            continue
        header = _STRUCTURE.match(line)
        if header:
            name = header.group("header").lower()
            in_steps = name in _STEP_BLOCKS
            examples = examples or name in ("scenario outline", "scenario template", "plan du scénario")
            continue
        m = _STEP_LINE.match(line)
        if not m:
            if in_steps:
                found.append(f"line {line_no}: not a step (Given/When/Then/And/But): {line!r}")
            continue
        in_steps = True
        body = m.group("text").strip()
        if examples and _PLACEHOLDER.search(body):
            found.append(f"line {line_no}: Scenario Outline placeholders are not substituted offline: {line!r}")
            continue
        for clause in _clauses(body):
            sm = _SUBJECTS.match(clause.strip())
            if not sm:
                found.append(f"line {line_no}: say who acts (user1, user2, the user): {clause.strip()!r}")
                continue
            try:
                for driver in _drivers(sm.group("subj")):
                    _action(driver, sm.group("rest"), line_no)
            except GherkinError as exc:
                found.append(str(exc).split(". Known steps:")[0])
    return found


def compile_gherkin(text: str) -> Plan:
    """Gherkin text -> Plan. Raises GherkinError listing every line that could not be understood."""
    errors = problems(text)
    if errors:
        raise GherkinError("; ".join(errors) + f". Known steps: {VOCABULARY}")
    out = _Compiled()
    group = 0
    phase = ""
    prev_driver_set: set[int] | None = None
    prev_parallel = False
    group_checks_only = False
    counter = 0

    def add(driver: int, action: str, args: dict[str, object], expect: str, covers: list[int], grp: int) -> None:
        nonlocal counter
        counter += 1
        out.steps.append(Step(id=f"S{counter}", driver=driver, action=action, args=args, expect=expect, covers=covers))
        out.group_of.append(grp)

    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", "@", "|", '"""')) or _STRUCTURE.match(line):
            continue
        m = _STEP_LINE.match(line)
        if not m:
            continue
        kw = _KEYWORDS.get(m.group("kw").lower(), "and")
        new_phase = phase if kw == "and" else kw
        body = m.group("text").strip()
        is_then = new_phase == "then"

        while_m = _WHILE.match(body)
        clauses = [while_m.group("first"), while_m.group("second")] if while_m else [body]
        parsed: list[tuple[list[int], str]] = []
        for clause in clauses:
            sm = _SUBJECTS.match(clause.strip())
            if not sm:
                raise GherkinError(f"line {line_no}: say who acts (user1, user2, the user): {clause!r}")
            parsed.append((_drivers(sm.group("subj")), sm.group("rest")))
        drivers_here = {d for ds, _ in parsed for d in ds}
        parallel = bool(while_m) or len(drivers_here) > 1
        same_phase_given = new_phase == "given" and phase == "given"
        compiled = [(d, *_action(d, rest, line_no)) for ds, rest in parsed for d in ds]
        checks_only = not while_m and all(a.startswith("assert_") for _, a, _ in compiled)
        joins_group = prev_driver_set is not None and (
            # checks change nothing, so checks by different users may run side by side
            (checks_only and group_checks_only)
            or (not parallel and not prev_parallel and (same_phase_given or drivers_here == prev_driver_set))
        )
        if prev_driver_set is not None and not joins_group:
            group += 1
            group_checks_only = checks_only
        else:
            group_checks_only = group_checks_only and checks_only
        has_assertion = any(a.startswith("assert_") for _, a, _ in compiled)
        covers: list[int] = []
        if is_then and has_assertion:
            out.expected.append(body)
            covers = [len(out.expected) - 1]
        if while_m:
            hold_at = next((i for i, (_, a, _) in enumerate(compiled) if a == "long_press_text"), None)
            for driver, a, args in compiled:
                if hold_at is None:
                    break
                if a == "assert_visible" and "timeout_s" not in args:
                    args["timeout_s"] = float(str(compiled[hold_at][2].get("duration_s", 1)))
                if a.startswith("assert_") and driver != compiled[hold_at][0]:
                    # another user's check: its window opens when the hold starts, not the segment
                    args["during"] = f"S{counter + hold_at + 1}"
        for driver, action, args in compiled:
            add(driver, action, args, body, covers if action.startswith("assert_") else [], group)
        phase = new_phase
        merged = joins_group and (same_phase_given or checks_only)
        prev_driver_set = (prev_driver_set or set()) | drivers_here if merged else drivers_here
        prev_parallel = parallel

    if not out.steps:
        raise GherkinError("the test details contain no Gherkin step (Given/When/Then)")
    for i, step in enumerate(out.steps):
        last_of_group = i + 1 == len(out.steps) or out.group_of[i + 1] != out.group_of[i]
        step.barrier = last_of_group and i + 1 < len(out.steps)
    return Plan(
        steps=out.steps,
        verifications=out.expected,
        drivers_needed=max(s.driver for s in out.steps),
        source="gherkin",
    )
