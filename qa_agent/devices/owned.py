"""Run an async context manager inside a task of its own.

MCP transports are anyio task groups: they must be entered and exited by the same task.
Graph nodes run in different tasks, so a session opened in one node and closed in
another breaks ("exit cancel scope in a different task"). An owner task holds the
context open until `aclose()` and every other task just uses the value.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Generic, TypeVar

T = TypeVar("T")


class ResourceLost(ConnectionError):
    """The resource broke while a task was using it (see OwnedResource.watching)."""


class OwnedResource(Generic[T]):
    def __init__(self, factory: Callable[[], AbstractAsyncContextManager[T]], name: str) -> None:
        self._factory = factory
        self.name = name
        self._value: T | None = None
        self._error: BaseException | None = None
        self._ready = asyncio.Event()
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _own(self) -> None:
        try:
            async with self._factory() as value:
                self._value = value
                self._ready.set()
                await self._closing.wait()
        except BaseException as exc:  # reported to whoever waits for the value
            self._error = exc
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            self._value = None
            self._ready.set()

    async def open(self, timeout_s: float) -> T:
        if self._task is None:
            self._task = asyncio.create_task(self._own(), name=f"owner:{self.name}")
        try:
            await asyncio.wait_for(self._ready.wait(), timeout_s)
        except TimeoutError:
            await self.aclose()
            raise TimeoutError(f"{self.name} did not start within {timeout_s:.0f}s") from None
        if self._value is None:
            message = f"{self.name} could not be opened: {describe(self._error)}"
            raise ConnectionError(message) from self._error
        return self._value

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """While inside, the resource going away (its transport broke, or it was closed) cancels the current
        task, surfacing as ResourceLost: a call waiting for an answer that cannot come ends at once. A done
        callback on the owner task, so watching costs no task of its own."""
        owner = self._task
        if owner is None:  # never opened: nothing to lose
            yield
            return
        if owner.done():
            raise ResourceLost(describe(self._error))
        task = asyncio.current_task()
        assert task is not None
        armed, fired = True, False

        def fire(_owner: asyncio.Future[None]) -> None:
            nonlocal fired
            if armed:  # the callback may run after the block was left: then it must not cancel anything
                fired = True
                task.cancel()

        owner.add_done_callback(fire)
        try:
            yield
        except asyncio.CancelledError:
            if fired and task.uncancel() == 0:
                raise ResourceLost(describe(self._error)) from None
            raise
        finally:
            armed = False
            owner.remove_done_callback(fire)

    @property
    def alive(self) -> bool:
        return self._task is not None and not self._task.done() and self._value is not None

    async def aclose(self, timeout_s: float = 10.0) -> None:
        task = self._task
        if task is None:
            return
        self._closing.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout_s)
        except (TimeoutError, Exception):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


def describe(exc: BaseException | None) -> str:
    """Readable text for an exception, unwrapping anyio/asyncio exception groups."""
    if exc is None:
        return "closed"
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(describe(e) for e in exc.exceptions)
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if type(exc).__name__ not in text else text
