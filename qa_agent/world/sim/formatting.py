"""Answer texts in mobile-mcp 1.0.4's formats."""

from __future__ import annotations

import json
from typing import Any

from qa_agent.world.sim.world import ElementView

ELEMENTS_HEADER = (
    "One element per line: @ref Type text= label= name= value= id= at=x,y size=WxH "
    "[focused] [selected] [checked] [disabled]"
)


def js_number(value: Any) -> str:
    """How JavaScript prints a number (``200`` not ``200.0``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


def _q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _flags(v: ElementView) -> list[tuple[str, bool]]:
    """The states mobile-mcp prints, in its order."""
    return [("focused", v.focused), ("selected", v.selected), ("checked", v.checked), ("disabled", not v.enabled)]


def elements_text(views: list[ElementView]) -> str:
    lines = [ELEMENTS_HEADER]
    for v in views:
        parts = [v.ref, v.type.rsplit(".", 1)[-1]]
        if v.text:
            parts.append(f"text={_q(v.text)}")
        if v.label:
            parts.append(f"label={_q(v.label)}")
        if v.identifier:
            parts.append(f"id={_q(v.identifier)}")
        parts.append(f"at={v.x},{v.y}")
        parts.append(f"size={v.width}x{v.height}")
        parts += [flag for flag, on in _flags(v) if on]
        lines.append(" ".join(parts))
    return "\n".join(lines)


def elements_json(views: list[ElementView]) -> str:
    items: list[dict[str, Any]] = []
    for v in views:
        item: dict[str, Any] = {"ref": v.ref, "type": v.type, "text": v.text}
        if v.label:
            item["label"] = v.label
        if v.identifier:
            item["identifier"] = v.identifier
        item["coordinates"] = {"x": v.x, "y": v.y, "width": v.width, "height": v.height}
        for flag, on in _flags(v):
            if on:
                item.update({"enabled": False} if flag == "disabled" else {flag: True})
        items.append(item)
    return "Found these elements on screen: " + json.dumps(items, ensure_ascii=False, separators=(",", ":"))
