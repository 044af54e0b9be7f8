"""Parse `mobile_list_elements_on_screen` output and find elements by what a person reads."""

from __future__ import annotations

import json
import re
import unicodedata

import regex
from pydantic import BaseModel

_JSON_PREFIX = "Found these elements on screen:"
_LINE = re.compile(r"^(?:(?P<ref>@e\d+)\s+)?(?P<type>[A-Za-z_][\w.$]*)\s+(?P<rest>.*)$")
_FIELD = re.compile(r'(?P<key>text|label|name|value|id)=(?P<val>"(?:[^"\\]|\\.)*")')
_AT = re.compile(r"\bat=(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)")
_SIZE = re.compile(r"\bsize=(\d+(?:\.\d+)?)x(\d+(?:\.\d+)?)")
_FLAG = re.compile(r"(?<![\w=])(focused|selected|checked|disabled)(?![\w=])")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')

STATES = ("checked", "enabled", "selected", "focused")
# mobile-mcp lists `checked` only when it is set, so an unchecked element looks like one that cannot be
# checked at all: only these widgets (class name after the last `.`) are known to be checkable.
CHECKABLE_TYPES = frozenset(
    {
        "Switch",
        "SwitchCompat",
        "SwitchMaterial",
        "MaterialSwitch",
        "CheckBox",
        "MaterialCheckBox",
        "AppCompatCheckBox",
        "RadioButton",
        "MaterialRadioButton",
        "AppCompatRadioButton",
        "ToggleButton",
        "CheckedTextView",
        "Chip",
    }
)
SCROLLABLE_TYPES = frozenset(
    {"RecyclerView", "ListView", "ScrollView", "NestedScrollView", "GridView", "ExpandableListView"}
)
EDITABLE_TYPES = frozenset({"EditText", "AppCompatEditText", "TextInputEditText", "AutoCompleteTextView"})


class Element(BaseModel):
    ref: str | None = None
    type: str = ""
    text: str = ""
    label: str = ""
    name: str = ""
    value: str = ""
    identifier: str = ""
    x: float = 0
    y: float = 0
    width: float = 0
    height: float = 0
    focused: bool = False
    selected: bool = False
    checked: bool = False
    enabled: bool = True

    @property
    def kind(self) -> str:
        return self.type.rsplit(".", 1)[-1]

    @property
    def center(self) -> tuple[int, int]:
        return round(self.x + self.width / 2), round(self.y + self.height / 2)

    @property
    def readable(self) -> list[str]:
        return [s for s in (self.text, self.label, self.name, self.value) if s]

    def describe(self) -> str:
        """Type, text and bounds: enough for a reader to find the element on the screenshot."""
        shown = self.text or self.label or self.name or self.identifier or "?"
        bounds = f"[{self.x:g},{self.y:g} {self.width:g}x{self.height:g}]"
        return f"{self.kind} {shown!r} at {bounds}"

    def state(self, name: str) -> bool | None:
        """What the listing says of one state, or None when it cannot tell.

        Listings with refs (mobile-mcp 1.0.3+) mark `focused`, `selected`, `checked` and `disabled` when
        set; older ones and the legacy robot report `focused` only. An absent `checked` means off only
        on a widget known to be checkable."""
        if name == "focused":
            return self.focused
        if self.ref is None:
            return None
        if name == "checked" and not self.checked and self.kind not in CHECKABLE_TYPES:
            return None
        return {"checked": self.checked, "enabled": self.enabled, "selected": self.selected}.get(name)

    def key(self) -> tuple[str, str, str, str, float, float, float, float, bool, bool, bool, bool]:
        """Everything the listing says of it but its ref: two listings with equal keys show the same screen."""
        return (
            self.type,
            " ".join(self.readable),
            self.identifier,
            self.ref or "",
            self.x,
            self.y,
            self.width,
            self.height,
            self.focused,
            self.selected,
            self.checked,
            self.enabled,
        )


def parse_elements(text: str) -> list[Element]:
    """Both formats: 1.0.3+ compact lines with @eN refs, and the JSON list (1.0.2 and format=json)."""
    stripped = text.strip()
    if stripped.startswith(_JSON_PREFIX) or stripped.startswith("["):
        return _parse_json(stripped.removeprefix(_JSON_PREFIX).strip())
    out: list[Element] = []
    for line in stripped.splitlines():
        line = line.strip()
        if not line or line.startswith("One element per line"):
            continue
        match = _LINE.match(line)
        at, size = _AT.search(line), _SIZE.search(line)
        if not match or not at or not size:
            continue
        fields = {m.group("key"): json.loads(m.group("val")) for m in _FIELD.finditer(match.group("rest"))}
        flags = set(_FLAG.findall(_QUOTED.sub("", match.group("rest"))))
        out.append(
            Element(
                ref=match.group("ref"),
                type=match.group("type"),
                text=fields.get("text", ""),
                label=fields.get("label", ""),
                name=fields.get("name", ""),
                value=fields.get("value", ""),
                identifier=fields.get("id", ""),
                x=float(at.group(1)),
                y=float(at.group(2)),
                width=float(size.group(1)),
                height=float(size.group(2)),
                focused="focused" in flags,
                selected="selected" in flags,
                checked="checked" in flags,
                enabled="disabled" not in flags,
            )
        )
    return out


def _parse_json(payload: str) -> list[Element]:
    try:
        items = json.loads(payload)
    except json.JSONDecodeError:
        return []
    out: list[Element] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        coords = item.get("coordinates") or item.get("rect") or {}
        out.append(
            Element(
                ref=item.get("ref"),
                type=str(item.get("type") or ""),
                text=str(item.get("text") or ""),
                label=str(item.get("label") or ""),
                name=str(item.get("name") or ""),
                value=str(item.get("value") or ""),
                identifier=str(item.get("identifier") or ""),
                x=float(coords.get("x", 0)),
                y=float(coords.get("y", 0)),
                width=float(coords.get("width", 0)),
                height=float(coords.get("height", 0)),
                focused=item.get("focused") is True,
                selected=item.get("selected") is True,
                checked=item.get("checked") is True,
                enabled=item.get("enabled") is not False,
            )
        )
    return out


MATCH_MODES = ("exact", "contains", "regex")


REGEX_TIMEOUT_S = 0.2  # a ticket's regex must not freeze the event loop (catastrophic backtracking)
MAX_REGEX_CHARS = 300


class SlowRegex(ValueError):
    """A ticket's regex took too long on a screen text: a plan defect, never a verdict about the app."""


def _shown(text: str) -> str:
    """The text as a person reads it: composed accents, no invisible format characters (bidi
    isolates Android puts around names, zero-width spaces, soft hyphens)."""
    return "".join(c for c in unicodedata.normalize("NFC", text) if unicodedata.category(c) != "Cf")


def fold(text: str) -> str:
    """What a match ignores: case, runs of whitespace and invisible characters. Accents and punctuation count."""
    return unicodedata.normalize("NFC", " ".join(_shown(text).casefold().split()))


def _loose(text: str) -> str:
    """Only to name near misses: accents, quotes and case ignored."""
    folded = unicodedata.normalize("NFKD", _shown(text)).encode("ascii", "ignore").decode().casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", folded).split())


def _candidates(e: Element) -> list[str]:
    """What a tap target is called: text, label (content-description), name, value, resource id
    (whole, or the part after `:id/`)."""
    ids = [e.identifier, e.identifier.rsplit("/", 1)[-1]] if e.identifier else []
    return [*e.readable, *ids]


def _regex_search(pattern: str, texts: list[str]) -> bool:
    if len(pattern) > MAX_REGEX_CHARS:
        raise SlowRegex(f"the regex is longer than {MAX_REGEX_CHARS} characters")
    for s in texts:
        try:
            if regex.search(pattern, _shown(s), flags=regex.IGNORECASE, timeout=REGEX_TIMEOUT_S):
                return True
        except TimeoutError:
            raise SlowRegex(
                f"the regex {pattern!r} took over {REGEX_TIMEOUT_S:g}s on {s[:80]!r}: make it simpler"
            ) from None
    return False


def matches(e: Element, query: str, mode: str = "exact", *, ids: bool = False) -> bool:
    """Whether `e` is what `query` names: its whole text, or part of it / a regex when the step says so.

    Resource ids name tap targets (`ids=True`) but never prove what a person sees: an empty
    TextView with id `error` is not the text "Error"."""
    if mode == "regex":  # partial modes read what a person reads, never resource ids
        return _regex_search(query, e.readable)
    wanted = fold(query)
    if not wanted:
        return False
    if mode == "contains":
        return any(wanted in fold(s) for s in e.readable)
    return any(fold(s) == wanted for s in (_candidates(e) if ids else e.readable))


def on_screen(e: Element) -> bool:
    """Drawn with a size and at least partly inside the screen's top-left quadrant of coordinates."""
    return e.width > 0 and e.height > 0 and e.x + e.width > 0 and e.y + e.height > 0


def find_matches(elements: list[Element], query: str, mode: str = "exact", *, ids: bool = False) -> list[Element]:
    return [e for e in elements if on_screen(e) and matches(e, query, mode, ids=ids)]


def near_misses(elements: list[Element], query: str, limit: int = 3) -> list[Element]:
    """Elements a reader might mistake for the query (one text inside the other, accent, case or
    punctuation variants): named in messages, never a match."""
    wanted = _loose(query)
    if not wanted:
        return []

    def close(s: str) -> bool:
        seen = _loose(s)
        return bool(seen) and (wanted in seen or seen in wanted)

    return [e for e in elements if any(close(s) for s in e.readable)][:limit]


def targets(elements: list[Element], query: str, mode: str = "exact") -> list[Element]:
    """Distinct tappable elements `query` names. A hit around another hit (a container and its
    button, which Android dumps list both) is one target: the innermost, the most specific."""
    hits = find_matches(elements, query, mode, ids=True)
    out = []
    for i, e in enumerate(hits):
        # the same box twice: the later one (drawn on top, a child) is the target
        if not any(encloses(e, o) and (_box(o) != _box(e) or j > i) for j, o in enumerate(hits) if j != i):
            out.append(e)
    return out


def _box(e: Element) -> tuple[float, float, float, float]:
    return e.x, e.y, e.width, e.height


def encloses(outer: Element, inner: Element) -> bool:
    return (
        outer.x <= inner.x
        and outer.y <= inner.y
        and inner.x + inner.width <= outer.x + outer.width
        and inner.y + inner.height <= outer.y + outer.height
    )


def describe_all(elements: list[Element]) -> str:
    return ", ".join(e.describe() for e in elements)


def summarize(elements: list[Element], limit: int = 40) -> str:
    shown = ", ".join(e.describe() for e in elements[:limit])
    more = f" (+{len(elements) - limit} more)" if len(elements) > limit else ""
    return shown + more if shown else "(no elements)"
