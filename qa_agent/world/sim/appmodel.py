"""Pydantic models of the declarative app DSL (see README.md, "App models")."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from qa_agent.world.sim.expr import compile_expr, template_parts

_ACTION_KEYS = (
    "go",
    "back",
    "home",
    "set",
    "set_shared",
    "focus",
    "hide_keyboard",
    "toast",
    "log",
    "crash",
    "broadcast",
    "if_",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _check_expr(value: str | None) -> str | None:
    if value is not None:
        compile_expr(value)
    return value


def _check_template(value: str | None) -> str | None:
    if value is not None:
        for part in template_parts(value):
            compile_expr(part)
    return value


def _check_values(values: dict[str, Any] | None) -> dict[str, Any] | None:
    for v in (values or {}).values():
        if isinstance(v, str) and v.startswith("="):
            compile_expr(v[1:])
    return values


class Broadcast(_Strict):
    """Run ``effects`` on other devices that run the same app (in their own context, ``sender`` = us)."""

    to: Literal["others", "all"] = "others"
    where: Literal["running", "foreground"] = "running"
    effects: list[Effect]


class Effect(_Strict):
    """One step of an action. Exactly one action key; ``after_ms`` delays it (the caller does not wait)."""

    go: str | None = None
    back: bool | None = None
    home: bool | None = None
    set: dict[str, Any] | None = None
    set_shared: dict[str, Any] | None = None
    focus: str | None = None
    hide_keyboard: bool | None = None
    toast: str | None = None  # a template; shown over any app for ``duration_ms``
    duration_ms: float = Field(default=2000.0, gt=0)
    log: str | None = None
    level: Literal["Verbose", "Debug", "Info", "Warn", "Error"] = "Info"  # of the ``log`` line
    crash: str | None = None
    broadcast: Broadcast | None = None
    if_: str | None = Field(default=None, alias="if")
    then: list[Effect] = Field(default_factory=list)
    else_: list[Effect] = Field(default_factory=list, alias="else")
    after_ms: float = Field(default=0.0, ge=0)

    @field_validator("if_")
    @classmethod
    def _expr_ok(cls, v: str | None) -> str | None:
        return _check_expr(v)

    @field_validator("log", "crash", "toast")
    @classmethod
    def _templates_ok(cls, v: str | None) -> str | None:
        return _check_template(v)

    @field_validator("set", "set_shared")
    @classmethod
    def _values_ok(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        return _check_values(v)

    @model_validator(mode="after")
    def _one_action(self) -> Effect:
        present = [k for k in _ACTION_KEYS if getattr(self, k) is not None]
        if len(present) != 1:
            names = ", ".join(k.rstrip("_") for k in _ACTION_KEYS)
            raise ValueError(f"an effect needs exactly one of: {names} (got {present or 'none'})")
        if (self.then or self.else_) and self.if_ is None:
            raise ValueError("'then'/'else' are only allowed together with 'if'")
        return self


class ElementHandlers(_Strict):
    tap: list[Effect] = Field(default_factory=list)
    double_tap: list[Effect] = Field(default_factory=list)
    long_press: list[Effect] = Field(default_factory=list)
    hold_start: list[Effect] = Field(default_factory=list)
    hold_end: list[Effect] = Field(default_factory=list)
    back: list[Effect] | None = None  # a modal element: what BACK does while it is shown

    def any(self) -> bool:
        return bool(self.tap or self.double_tap or self.long_press or self.hold_start or self.hold_end)


class Element(_Strict):
    """A view on a screen. ``text``/``label`` are templates; ``visible`` is an expression."""

    key: str | None = None
    type: str = "android.widget.TextView"
    text: str = ""
    label: str | None = None
    hint: str | None = None
    identifier: str | None = None
    bounds: tuple[int, int, int, int]
    visible: str | None = None
    field: str | None = None
    password: bool = False
    on: ElementHandlers = Field(default_factory=ElementHandlers)
    # states (expressions): checked makes the element checkable; enabled defaults to true
    checked: str | None = None
    selected: str | None = None
    enabled: str | None = None
    # layout: children are drawn over their parent (absolute bounds); a shown modal element (a dialog) is
    # all the app shows and takes every touch, like a dialog window
    children: list[Element] = Field(default_factory=list)
    modal: bool = False
    # a scrollable list: one row (``item``, bounds relative to the row) per entry of ``items`` (an
    # expression giving a list; ``item`` and ``index`` name the entry in the row's templates and handlers)
    items: str | None = None
    item: Element | None = None
    row_height: int | None = Field(default=None, gt=0)
    stick_to_end: bool = False  # a chat: shows the newest rows until the user scrolls back

    @field_validator("visible", "checked", "selected", "enabled", "items")
    @classmethod
    def _visible_ok(cls, v: str | None) -> str | None:
        return _check_expr(v)

    @model_validator(mode="after")
    def _list_ok(self) -> Element:
        if (self.items is None) != (self.item is None):
            raise ValueError("'items' and 'item' go together (a scrollable list)")
        return self

    @field_validator("text", "label")
    @classmethod
    def _templates_ok(cls, v: str | None) -> str | None:
        return _check_template(v)

    @property
    def name(self) -> str | None:
        """The element's key: ``key``, else ``field``, else the part of ``identifier`` after ``:id/``."""
        if self.key:
            return self.key
        if self.field:
            return self.field
        if self.identifier:
            return self.identifier.rsplit("/", 1)[-1]
        return None

    @property
    def interactive(self) -> bool:
        return self.field is not None or self.on.any() or self.checked is not None

    def walk(self) -> list[Element]:
        """This element, its children and its row template, depth first."""
        out = [self]
        for child in [*self.children, *([self.item] if self.item else [])]:
            out.extend(child.walk())
        return out


class ScreenHandlers(_Strict):
    back: list[Effect] | None = None
    enter: list[Effect] = Field(default_factory=list)
    swipe_up: list[Effect] = Field(default_factory=list)
    swipe_down: list[Effect] = Field(default_factory=list)
    swipe_left: list[Effect] = Field(default_factory=list)
    swipe_right: list[Effect] = Field(default_factory=list)


class Screen(_Strict):
    title: str | None = None
    focus: str | None = None
    elements: list[Element] = Field(default_factory=list)
    on: ScreenHandlers = Field(default_factory=ScreenHandlers)


class AppModel(_Strict):
    """One app. ``state`` is per device (reset on terminate), ``shared`` is one copy per world."""

    package: str = Field(pattern=r"^[a-zA-Z0-9._-]+$")
    name: str
    version: str = "1.0"
    description: str = ""
    extends: str | None = None
    system: bool = False
    start: str
    state: dict[str, Any] = Field(default_factory=dict)
    shared: dict[str, Any] = Field(default_factory=dict)
    screens: dict[str, Screen]

    @model_validator(mode="after")
    def _check_references(self) -> AppModel:
        if self.start not in self.screens:
            raise ValueError(f"start screen {self.start!r} is not defined in screens")
        for sname, screen in self.screens.items():
            fields = {e.field for top in screen.elements for e in top.walk() if e.field}
            if screen.focus is not None and screen.focus not in fields:
                raise ValueError(f"screens.{sname}.focus: no element has field {screen.focus!r}")
            for effect in _screen_effects(screen):
                for eff in _walk(effect):
                    if eff.go is not None and eff.go not in self.screens:
                        raise ValueError(f"screens.{sname}: 'go: {eff.go}' names an unknown screen")
        return self


def _walk(effect: Effect) -> list[Effect]:
    out = [effect]
    for sub in [*effect.then, *effect.else_, *(effect.broadcast.effects if effect.broadcast else [])]:
        out.extend(_walk(sub))
    return out


def _screen_effects(screen: Screen) -> list[Effect]:
    effects: list[Effect] = []
    for handlers in (
        screen.on.back or [],
        screen.on.enter,
        screen.on.swipe_up,
        screen.on.swipe_down,
        screen.on.swipe_left,
        screen.on.swipe_right,
    ):
        effects.extend(handlers)
    for el in (e for top in screen.elements for e in top.walk()):
        h = el.on
        effects.extend([*h.tap, *h.double_tap, *h.long_press, *h.hold_start, *h.hold_end, *(h.back or [])])
    return effects


Broadcast.model_rebuild()
Effect.model_rebuild()
Element.model_rebuild()
