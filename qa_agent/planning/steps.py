"""The step library: Cucumber Expressions mapped to semantic actions, as data.

The built-in steps live in `steps.yaml` beside this module; a team adds its own in the same
format (`QA_STEPS_FILE`), tried first. The hand-written part is the parameter types: `{element}`
reads the UI vocabulary every step shares (`the "Sign in" button`, `'Email' field`), `{app}` the
app names the ticket or the configuration maps to packages.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from cucumber_expressions.expression import CucumberExpression
from cucumber_expressions.parameter_type import ParameterType
from cucumber_expressions.parameter_type_registry import ParameterTypeRegistry
from pydantic import BaseModel, Field, ValidationError, model_validator

from graph.state import SEMANTIC_ACTIONS

BUILT_IN = Path(__file__).with_name("steps.yaml")
_KINDS = (
    "radio button|button|text field|input field|input|text box|textbox|field|tab|link|switch|toggle|checkbox|"
    "check box|icon|menu item|menu|option|list item|item|label|text|error message|message|title|banner|screen|"
    "page|dialog|popup|pop-up|toast|notification|error|header|entry|dropdown|image|view|section|card|spinner|"
    "loader|progress bar|indicator"
)
_ELEMENT = (
    rf"(?:the |a |an )?(?:(?:{_KINDS}) )?\"[^\"]*\"(?: (?:{_KINDS}))?"
    rf"|(?:the )?[A-Z][\w'-]*(?: [A-Za-z][\w'-]*){{0,3}} (?:{_KINDS})"
)
_GENERIC_APP = r"(?:the |l')?(?:app|application|appli)"
_PACKAGE = r"[A-Za-z][\w]*(?:\.[\w]+)+"


class StepsFileError(ValueError):
    """A steps file that cannot be used, naming the file and the entry."""


class ActionTemplate(BaseModel):
    action: str
    args: dict[str, Any] = Field(default_factory=dict)


class StepDef(BaseModel):
    """One step: an expression, an example line, and the actions it stands for."""

    expression: str
    example: str
    actions: list[ActionTemplate] = Field(default_factory=list)
    rows: list[ActionTemplate] = Field(default_factory=list, description="Run once per data-table row")
    table: str | None = Field(default=None, description="An example data table, for the listing")
    doc: str | None = Field(default=None, description="An example doc string, for the listing")
    driver: str | None = Field(default=None, description="`$1`: the parameter that names the user (user{int} ...)")
    origin: str = "built-in"

    @model_validator(mode="after")
    def _has_actions(self) -> StepDef:
        if not self.actions and not self.rows:
            raise ValueError("a step needs `actions` or `rows`")
        return self

    @property
    def unsupported(self) -> list[str]:
        return [a.action for a in [*self.actions, *self.rows] if a.action not in SEMANTIC_ACTIONS]


@dataclass
class Match:
    definition: StepDef
    actions: list[tuple[str, dict[str, Any]]]
    driver: int | None = None


def _quoted_or_words(value: str) -> str:
    quoted = re.search(r"\"([^\"]*)\"", value)
    if quoted:
        return quoted.group(1).strip()
    return re.sub(rf"^(?:the )?|\s(?:{_KINDS})$", "", value).strip()


@lru_cache(maxsize=32)
def _registry(apps: tuple[tuple[str, str], ...]) -> ParameterTypeRegistry:
    registry = ParameterTypeRegistry()
    names = "|".join(re.escape(name) for name, _ in sorted(apps, key=lambda a: -len(a[0])))
    app = rf"{_GENERIC_APP}|(?:the )?(?:app(?:lication)? )?\"{_PACKAGE}\""
    if names:
        app += rf"|(?:the )?(?:\"(?:{names})\"|(?:{names}))(?: app(?:lication)?)?"
    by_name = {name.lower(): package for name, package in apps}

    def to_package(value: str) -> str:
        package = re.search(rf"\"({_PACKAGE})\"", value)
        if package:
            return package.group(1)
        name = re.sub(r"^the |\"| app(?:lication)?$", "", value).strip().lower()
        return by_name.get(name, "")

    registry.define_parameter_type(ParameterType("element", _ELEMENT, str, _quoted_or_words, False, False))
    registry.define_parameter_type(ParameterType("app", app, str, to_package, False, False))
    registry.define_parameter_type(ParameterType("direction", r"up|down|left|right", str, str.lower, False, False))
    return registry


def _fill(value: Any, params: list[Any], extra: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = re.fullmatch(r"\$(\d+|c\d+|doc)", value)
        if whole:
            key = whole.group(1)
            return params[int(key) - 1] if key.isdigit() and int(key) <= len(params) else extra.get(key, "")
        return re.sub(r"\$(\d+)", lambda m: str(params[int(m.group(1)) - 1]), value)
    return value


def _instantiate(
    templates: list[ActionTemplate], params: list[Any], extra: dict[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for t in templates:
        args = {k: _fill(v, params, extra) for k, v in t.args.items()}
        out.append((t.action, {k: v for k, v in args.items() if v not in ("", None)}))
    return out


class StepLibrary:
    """Every step known for a run: the team's first, then the built-in ones."""

    def __init__(self, definitions: list[StepDef], apps: dict[str, str] | None = None) -> None:
        self.definitions = definitions
        registry = _registry(tuple(sorted((apps or {}).items())))
        self._compiled: list[tuple[StepDef, CucumberExpression]] = []
        for d in definitions:
            try:
                self._compiled.append((d, CucumberExpression(d.expression, registry)))
            except Exception as exc:  # the library raises its own exception types, with no common base
                raise StepsFileError(f"{d.origin}: step {d.expression!r}: {exc}") from None

    def match(
        self,
        phrase: str,
        *,
        with_subject: bool = False,
        table: list[list[str]] | None = None,
        doc: str | None = None,
    ) -> Match | None:
        """The first step whose expression matches (only steps naming the user when `with_subject`)."""
        for definition, expression in self._compiled:
            if bool(definition.driver) != with_subject or bool(definition.rows) != bool(table):
                continue
            if doc is not None and "$doc" not in definition.model_dump_json():
                continue  # a doc string no action uses would be dropped silently
            found = expression.match(phrase)
            if found is None:
                continue
            params = [a.value for a in found]
            extra: dict[str, Any] = {"doc": doc or ""}
            actions = []
            if definition.rows:
                for row in table or []:
                    cells = {f"c{i}": cell for i, cell in enumerate(row, start=1)}
                    actions += _instantiate(definition.rows, params, extra | cells)
            actions += _instantiate(definition.actions, params, extra)
            driver = _fill(definition.driver, params, extra) if definition.driver else None
            return Match(definition, actions, int(driver) if driver is not None else None)
        return None

    def nearest(self, line: str) -> str:
        """The known example closest to a line (for "did you mean")."""
        examples = [d.example for d in self.definitions]
        close = difflib.get_close_matches(line[:200], examples, n=1, cutoff=0.0)
        return close[0] if close else examples[0]


def read_steps_file(path: Path, origin: str) -> list[StepDef]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise StepsFileError(f"cannot read the steps file {path}: {exc}") from None
    entries = data.get("steps") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise StepsFileError(f"the steps file {path} must be a mapping with a `steps:` list")
    out = []
    for i, entry in enumerate(entries, start=1):
        try:
            out.append(StepDef.model_validate({**entry, "origin": origin} if isinstance(entry, dict) else entry))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise StepsFileError(f"the steps file {path}, step {i}: {problems}") from None
    return out


@lru_cache(maxsize=1)
def _built_in() -> tuple[StepDef, ...]:
    return tuple(read_steps_file(BUILT_IN, "built-in"))


def load_library(steps_file: Path | None = None, apps: dict[str, str] | None = None) -> StepLibrary:
    """The team's steps (if any) then the built-in ones. Raises StepsFileError."""
    try:
        changed = steps_file.stat().st_mtime_ns if steps_file else 0
    except OSError as exc:
        raise StepsFileError(f"cannot read the steps file {steps_file}: {exc}") from None
    return _library(steps_file, changed, tuple(sorted((apps or {}).items())))


@lru_cache(maxsize=16)
def _library(steps_file: Path | None, changed: int, apps: tuple[tuple[str, str], ...]) -> StepLibrary:
    team = read_steps_file(steps_file, str(steps_file)) if steps_file else []
    return StepLibrary([*team, *_built_in()], dict(apps))
