"""Turn MCP tool results into text and images, and classify what went wrong."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any

from graph.state import ErrorClass

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
ACTIONABLE_SUFFIX = "Please fix the issue and try again."
_TRANSIENT = re.compile(
    r"timed? ?out|temporar|device offline|connection (?:reset|refused|closed)|try again later|"
    r"unavailable|econnreset|broken pipe|closed resource|device not (?:ready|responding)",
    re.IGNORECASE,
)
_DEVICE_GONE = re.compile(r'Device "[^"]*" not found', re.IGNORECASE)


@dataclass
class ToolText:
    text: str
    images: list[tuple[str, bytes]] = field(default_factory=list)
    is_error: bool = False

    @property
    def actionable_error(self) -> bool:
        """mobile-mcp's user-fixable errors come back without isError."""
        return self.text.rstrip().endswith(ACTIONABLE_SUFFIX)

    @property
    def failed(self) -> bool:
        return self.is_error or self.actionable_error


def strip_control(text: str) -> str:
    return _CONTROL.sub("", text)


def truncate(text: str, max_chars: int, max_lines: int) -> str:
    """Bound text kept in state or sent to a model; the marker says what was cut."""
    lines = text.splitlines()
    if len(lines) > max_lines:
        text = "\n".join(lines[:max_lines]) + f"\n...[truncated: {len(lines) - max_lines} more lines]"
    if len(text) > max_chars:
        text = text[:max_chars] + f"\n...[truncated: {len(text) - max_chars} more characters]"
    return text


def to_tool_text(result: Any) -> ToolText:
    texts: list[str] = []
    images: list[tuple[str, bytes]] = []
    for block in getattr(result, "content", None) or []:
        kind = getattr(block, "type", None)
        if kind == "text":
            texts.append(block.text)
        elif kind == "image":
            try:
                images.append((block.mimeType, base64.b64decode(block.data)))
            except (ValueError, TypeError):
                texts.append("[undecodable image]")
        elif kind == "resource":
            resource = getattr(block, "resource", None)
            texts.append(getattr(resource, "text", "") or "[binary resource]")
    return ToolText(strip_control("\n".join(texts)), images, bool(getattr(result, "isError", False)))


def device_gone(text: str) -> bool:
    """The server no longer knows the device (unplugged, emulator closed)."""
    return bool(_DEVICE_GONE.search(text))


def classify_error(text: str) -> ErrorClass:
    """One place decides what a failed call means for retries and the verdict."""
    if _DEVICE_GONE.search(text):
        return "cannot_run"
    if _TRANSIENT.search(text):
        return "transient"
    return "plan_defect"
