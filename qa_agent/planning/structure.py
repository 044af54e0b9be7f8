"""The structure of Gherkin test details, read by Cucumber's own parser.

Feature, Background, Rule, Scenario, Scenario Outline with Examples (each row a test case), tags,
data tables, doc strings, comments and `# language:`. Hand-written here: the Feature/Scenario
headers bare step lines lack, and errors that name the line of the ticket (not of the wrapped text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast

from gherkin.dialect import Dialect
from gherkin.errors import CompositeParserException, ParserError, ParserException, UnexpectedTokenException
from gherkin.parser import Parser
from gherkin.pickles.compiler import Compiler
from gherkin.token_scanner import TokenScanner

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
class StepLine:
    line: int
    phase: str
    text: str
    table: list[list[str]] | None = None
    doc: str | None = None


@dataclass
class Case:
    name: str
    steps: list[StepLine]
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
    feature = next((i for i, ln in enumerate(lines) if starts(ln, dialect.feature_keywords)), None)
    if feature is not None:
        # A preamble before the Feature ("Preconditions: ...") is no part of the test; a step line there is
        # left for the parser to refuse.
        for i in range(feature):
            if (
                lines[i].strip()
                and not lines[i].strip().startswith(("#", "@"))
                and not _STEP_LINE.match(lines[i].strip())
            ):
                lines[i] = "# " + lines[i]
        return "\n".join(lines) + "\n", numbers
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


def parse(text: str) -> list[Case]:
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
                StepLine(
                    line=numbers[ast_lines[step["astNodeIds"][0]] - 1],
                    phase=phase,
                    text=step["text"],
                    table=[[c["value"] for c in row["cells"]] for row in table["rows"]] if table else None,
                    doc=doc["content"] if doc else None,
                )
            )
        outline = any(node in outlines for node in pickle["astNodeIds"])
        cases.append(Case(name=pickle["name"], steps=steps, outline=outline))
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
