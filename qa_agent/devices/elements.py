"""Parse `mobile_list_elements_on_screen` output and find elements by what a person reads."""

from __future__ import annotations

import json
import re
import unicodedata

from pydantic import BaseModel

_JSON_PREFIX = "Found these elements on screen:"
_LINE = re.compile(r"^(?:(?P<ref>@e\d+)\s+)?(?P<type>[A-Za-z_][\w.$]*)\s+(?P<rest>.*)$")
_FIELD = re.compile(r'(?P<key>text|label|name|value|id)=(?P<val>"(?:[^"\\]|\\.)*")')
_AT = re.compile(r"\bat=(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)")
_SIZE = re.compile(r"\bsize=(\d+(?:\.\d+)?)x(\d+(?:\.\d+)?)")


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

    @property
    def center(self) -> tuple[int, int]:
        return round(self.x + self.width / 2), round(self.y + self.height / 2)

    @property
    def readable(self) -> list[str]:
        return [s for s in (self.text, self.label, self.name, self.value) if s]

    def describe(self) -> str:
        shown = self.text or self.label or self.name or self.identifier or "?"
        return f"{self.type.rsplit('.', 1)[-1]} {shown!r}"


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
                focused=bool(re.search(r"\bfocused\b", match.group("rest"))),
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
                focused=bool(item.get("focused", False)),
            )
        )
    return out


def normalize(text: str) -> str:
    """Case, accents, typographic quotes and spacing do not decide a match."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()
    return " ".join(re.sub(r"[\"'`’‘“”«»…]", " ", folded).split())


def find_element(elements: list[Element], query: str) -> Element | None:
    """Best element for a target a person names: exact text, then label, id, then fuzzier."""
    wanted = normalize(query)
    if not wanted:
        return None
    tiers = (
        lambda e: query in (e.text, e.label, e.name),
        lambda e: e.identifier == query or e.identifier.endswith(f"/{query}"),
        lambda e: any(normalize(s) == wanted for s in e.readable),
        lambda e: normalize(e.identifier.rsplit("/", 1)[-1].replace("_", " ")) == wanted,
        lambda e: any(wanted in normalize(s) for s in e.readable),
    )
    for matches in tiers:
        hits = [e for e in elements if e.width > 0 and e.height > 0 and matches(e)]
        if hits:
            # The smallest hit is the most specific (a button rather than its container).
            return min(hits, key=lambda e: e.width * e.height)
    return None


def is_visible(elements: list[Element], query: str) -> bool:
    wanted = normalize(query)
    return any(wanted in normalize(s) for e in elements for s in e.readable)


def summarize(elements: list[Element], limit: int = 40) -> str:
    shown = ", ".join(e.describe() for e in elements[:limit])
    more = f" (+{len(elements) - limit} more)" if len(elements) > limit else ""
    return shown + more if shown else "(no elements)"
