"""Containment for every file the agent writes: a path built from run ids, step ids or ticket keys
must resolve (symlinks followed) strictly inside its report folder, and the write itself never
follows a link planted where its temporary file would go."""

from __future__ import annotations

import os
import stat
import tempfile
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


def atomic_write(path: Path, data: bytes | str, *, sync: bool = True) -> None:
    """Write `path` whole or not at all: a fresh temporary file (O_EXCL, a random name: never a
    symlink someone left there) in the same folder, synced, then renamed over `path`.

    `sync=False` leaves the flush to disk to a later `sync_files` of its folder (evidence written
    while devices wait: an fsync costs milliseconds; the report syncs the evidence before it is written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sync_files(folder: Path) -> None:
    """Flush every regular file directly in `folder` to disk (links and other kinds are left); no folder: nothing."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return
    for name in names:
        try:  # O_NONBLOCK: a FIFO left there would otherwise wait for a writer forever
            fd = os.open(folder / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:  # a link, or gone
            continue
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                os.fsync(fd)
        finally:
            os.close(fd)
