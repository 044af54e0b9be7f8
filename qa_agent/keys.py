"""Jira issue keys: the one check every key passes where it enters (CLI, batch, JQL results, graph input).

A key becomes a run id and so a folder name: anything but `PROJECT-123` is refused, never cleaned up.
"""

from __future__ import annotations

import re

KEY_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]+-[0-9]+$")
MAX_KEY_LEN = 64


class InvalidKey(ValueError):
    """Not a Jira issue key; the message names it and says what a key looks like."""


def is_key(text: object) -> bool:
    try:
        parse_key(text)
    except InvalidKey:
        return False
    return True


def parse_key(text: object) -> str:
    """The key itself, or InvalidKey (with `did you mean PTT-1?` when only the case is wrong)."""
    raw = str(text if text is not None else "")
    key = raw.strip()
    if len(key) <= MAX_KEY_LEN and KEY_PATTERN.match(key):
        return key
    shown = repr(raw[:80] + ("…" if len(raw) > 80 else ""))
    if len(key) <= MAX_KEY_LEN and KEY_PATTERN.match(key.upper()):
        raise InvalidKey(f"{shown} is not a Jira issue key: did you mean {key.upper()}?")
    raise InvalidKey(
        f"{shown} is not a Jira issue key (expected PROJECT-123: capital letters, digits or _, a dash, a number)"
    )
