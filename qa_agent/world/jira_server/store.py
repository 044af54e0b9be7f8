"""File-backed ticket store: one YAML file per issue, re-read when it changes on disk.

Writes (comments, transitions) go through a per-ticket lock and an atomic replace
(temp file in the same directory, fsync, ``os.replace``), so concurrent calls never lose
an update and a killed server never leaves a half-written ticket behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import anyio

from qa_agent.world.jira_server.models import (
    Attachment,
    Comment,
    Person,
    Ticket,
    TicketFileError,
    dump_ticket,
    format_jira_time,
    load_ticket,
)

TICKET_SUFFIXES = (".yaml", ".yml")
FIRST_ISSUE_ID = 10000
FIRST_COMMENT_ID = 10001


class IssueNotFound(LookupError):
    def __init__(self, key: str) -> None:
        super().__init__(f"Issue {key} not found. Verify the issue key and project access.")
        self.key = key


@dataclass(frozen=True)
class _Cached:
    stamp: tuple[int, int]  # (mtime_ns, size)
    ticket: Ticket


@dataclass(frozen=True)
class StoredTicket:
    ticket: Ticket
    path: Path
    issue_id: str


class TicketStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cache: dict[Path, _Cached] = {}
        self._cache_lock = threading.Lock()
        self._key_locks: dict[str, asyncio.Lock] = {}
        self._id_lock = threading.Lock()
        # Files that do not load, by path: they block only their own ticket, never the others.
        self.broken: dict[Path, TicketFileError] = {}

    # ------------------------------------------------------------------ reading

    def _ticket_files(self) -> list[Path]:
        if not self.directory.is_dir():
            raise TicketFileError(f"Tickets directory {self.directory} does not exist")
        return sorted(p for p in self.directory.iterdir() if p.suffix in TICKET_SUFFIXES and not p.name.startswith("."))

    def _load(self, path: Path) -> Ticket:
        try:
            st = path.stat()
        except FileNotFoundError:
            raise TicketFileError(f"Ticket file {path} disappeared while reading") from None
        stamp = (st.st_mtime_ns, st.st_size)
        with self._cache_lock:
            cached = self._cache.get(path)
        if cached is not None and cached.stamp == stamp:
            return cached.ticket
        ticket = load_ticket(path)
        with self._cache_lock:
            self._cache[path] = _Cached(stamp, ticket)
        return ticket

    def snapshot(self) -> list[StoredTicket]:
        """All tickets, freshly validated against disk, sorted by key; ids are stable per key set."""
        by_key: dict[str, tuple[Ticket, Path]] = {}
        broken: dict[Path, TicketFileError] = {}
        for path in self._ticket_files():
            try:
                ticket = self._load(path)
            except TicketFileError as exc:
                broken[path] = exc
                continue
            if ticket.key in by_key:
                other = by_key[ticket.key][1]
                raise TicketFileError(f"Issue key {ticket.key} is defined twice: in {other} and in {path}")
            by_key[ticket.key] = (ticket, path)
        self.broken = broken
        ordered = sorted(by_key.values(), key=lambda item: _key_order(item[0].key))
        return [StoredTicket(ticket, path, str(FIRST_ISSUE_ID + index)) for index, (ticket, path) in enumerate(ordered)]

    def get(self, key: str) -> StoredTicket:
        for stored in self.snapshot():
            if stored.ticket.key == key.upper():
                return stored
        for path, error in self.broken.items():
            if path.stem.upper() == key.upper():  # KEY.yaml: the ticket asked for is the broken one
                raise error
        raise IssueNotFound(key)

    # ------------------------------------------------------------------ writing

    def _lock_for(self, key: str) -> asyncio.Lock:
        lock = self._key_locks.get(key)
        if lock is None:
            lock = self._key_locks[key] = asyncio.Lock()
        return lock

    async def update(self, key: str, change: Callable[[Ticket, list[StoredTicket]], Ticket]) -> Ticket:
        """Apply ``change`` to the freshest copy of ``key`` and persist it atomically."""
        async with self._lock_for(key):
            return await anyio.to_thread.run_sync(self._update_sync, key, change)

    def _update_sync(self, key: str, change: Callable[[Ticket, list[StoredTicket]], Ticket]) -> Ticket:
        with self._id_lock:
            everything = self.snapshot()
            stored = next((s for s in everything if s.ticket.key == key), None)
            if stored is None:
                raise IssueNotFound(key)
            updated = change(stored.ticket, everything)
            _atomic_write(stored.path, dump_ticket(updated))
            st = stored.path.stat()
            with self._cache_lock:
                self._cache[stored.path] = _Cached((st.st_mtime_ns, st.st_size), updated)
            return updated

    async def add_comment(self, key: str, body_wiki: str, author: Person) -> Comment:
        created_holder: list[Comment] = []

        def change(ticket: Ticket, everything: list[StoredTicket]) -> Ticket:
            now = _now()
            comment = Comment(id=str(_next_comment_id(everything)), author=author, created=now, body=body_wiki)
            created_holder.append(comment)
            return ticket.model_copy(update={"comments": [*ticket.comments, comment], "updated": now})

        await self.update(key, change)
        return created_holder[0]

    async def set_labels(self, key: str, labels: list[str]) -> Ticket:
        def change(ticket: Ticket, everything: list[StoredTicket]) -> Ticket:
            del everything
            return ticket.model_copy(update={"labels": labels, "updated": _now()})

        return await self.update(key, change)

    async def add_attachment(self, key: str, filename: str, size: int, content_type: str, author: Person) -> Ticket:
        """Attachment metadata only: the served tickets never carry file contents."""

        def change(ticket: Ticket, everything: list[StoredTicket]) -> Ticket:
            del everything
            now = _now()
            added = Attachment(filename=filename, size=size, content_type=content_type, created=now, author=author)
            return ticket.model_copy(update={"attachments": [*ticket.attachments, added], "updated": now})

        return await self.update(key, change)

    async def set_status(self, key: str, status: str) -> Ticket:
        def change(ticket: Ticket, everything: list[StoredTicket]) -> Ticket:
            del everything
            now = _now()
            return ticket.model_copy(update={"status": status, "updated": now})

        return await self.update(key, change)


def _now() -> str:
    """Current time in Jira format, whole seconds (Jira keeps milliseconds; ours are .000)."""
    return format_jira_time(datetime.now(UTC).replace(microsecond=0))


def _next_comment_id(everything: list[StoredTicket]) -> int:
    highest = FIRST_COMMENT_ID - 1
    for stored in everything:
        for comment in stored.ticket.comments:
            if comment.id.isdigit():
                highest = max(highest, int(comment.id))
    return highest + 1


def _key_order(key: str) -> tuple[str, int]:
    project, _, rest = key.partition("-")
    number = rest.split("-")[0]
    return project, int(number) if number.isdigit() else 0


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp_name, path.stat().st_mode & 0o777)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    # Make the rename itself durable.
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
