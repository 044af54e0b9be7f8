"""Containment for every file the agent writes: a path built from run ids, step ids or ticket keys
must resolve (symlinks followed) strictly inside its report folder."""

from __future__ import annotations

from pathlib import Path


class OutsideReportFolder(ValueError):
    """A path that would leave its report folder; the message names both."""


def inside(root: Path | str, *parts: str) -> Path:
    """`root / parts...` as given, refused unless it resolves strictly inside `root` (resolved too)."""
    base = Path(root).resolve()
    target = base.joinpath(*parts).resolve()
    if target == base or not target.is_relative_to(base):
        joined = "/".join(parts)
        raise OutsideReportFolder(f"refusing to write {joined!r}: it resolves to {target}, not inside {base}")
    return Path(root).joinpath(*parts)
