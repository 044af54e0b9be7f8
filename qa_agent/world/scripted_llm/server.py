"""Run the scripted app with uvicorn on loopback: in-process (:class:`ScriptedLLMServer`) or as a CLI."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Self

import uvicorn

from qa_agent.world.scripted_llm.app import build_app
from qa_agent.world.scripted_llm.script import Rule, Script
from qa_agent.world.scripted_llm.state import RecordedRequest, ScriptState

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0

ScriptSource = Script | Sequence[Rule | Mapping[str, Any]] | str | os.PathLike[str] | None


class NotLoopbackError(ValueError):
    """The scripted LLM only ever listens on a loopback address."""


def check_loopback(host: str) -> None:
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise NotLoopbackError(f"refusing to listen on {host!r}: loopback addresses only")


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def bind_loopback(host: str, port: int) -> socket.socket:
    check_loopback(host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def to_script(source: ScriptSource) -> Script:
    if source is None:
        return Script()
    if isinstance(source, Script):
        return source
    if isinstance(source, str | os.PathLike):
        return Script.load(Path(source))
    return Script.of(source)


class _Uvicorn(uvicorn.Server):
    """uvicorn without its signal re-raising: in-process it leaves signals alone, as a CLI it exits 0."""

    def __init__(self, config: uvicorn.Config, *, handle_signals: bool, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._handle_signals = handle_signals
        self._on_exit = on_exit

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if not self._handle_signals or threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._on_exit()
        super().handle_exit(sig, frame)


def make_uvicorn(state: ScriptState, api_key: str | None, *, handle_signals: bool) -> _Uvicorn:
    config = uvicorn.Config(
        build_app(state, api_key=api_key),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    return _Uvicorn(config, handle_signals=handle_signals, on_exit=state.close)


async def wait_started(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    async with asyncio.timeout(START_TIMEOUT_S):
        while not server.started:  # uvicorn exposes no 'started' event
            if task.done():
                task.result()
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)


class ScriptedLLMServer:
    """An OpenAI-compatible chat-completions server on 127.0.0.1 that replays a script.

    ``async with ScriptedLLMServer(script, api_key="test-key") as server:`` then point a client
    at ``server.base_url``.
    """

    def __init__(
        self,
        script: ScriptSource = None,
        *,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        check_loopback(host)
        self.host = host
        self.api_key = api_key
        self._requested_port = port
        self._state = ScriptState(to_script(script))
        self._server: _Uvicorn | None = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None
        self._port: int | None = None

    # --- lifecycle
    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("ScriptedLLMServer already started")
        self._state.reopen()
        sock = bind_loopback(self.host, self._requested_port)
        self._socket, self._port = sock, sock.getsockname()[1]
        self._server = make_uvicorn(self._state, self.api_key, handle_signals=False)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="scripted-llm")
        try:
            await wait_started(self._server, self._task)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        server, task, sock = self._server, self._task, self._socket
        self._server, self._task, self._socket = None, None, None
        self._state.close()
        try:
            if server is not None and task is not None:
                server.should_exit = True
                try:
                    await asyncio.wait_for(asyncio.shield(task), STOP_TIMEOUT_S)
                except TimeoutError:
                    server.force_exit = True
                    await task
        finally:
            if sock is not None:
                sock.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # --- addresses
    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("ScriptedLLMServer is not started")
        return self._port

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:PORT`` (``/health``, ``/_requests`` live here)."""
        return f"http://{url_host(self.host)}:{self.port}"

    @property
    def base_url(self) -> str:
        """OpenAI ``base_url``: ``http://127.0.0.1:PORT/v1``."""
        return f"{self.url}/v1"

    # --- script and log
    @property
    def rules(self) -> list[Rule]:
        return self._state.rules

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._state.requests

    @property
    def total_prompt_chars(self) -> int:
        """Sum of ``prompt_chars`` over every recorded chat-completions request."""
        return sum(entry.prompt_chars for entry in self._state.requests)

    def unused_rules(self) -> list[Rule]:
        return self._state.unused_rules()

    def add_rules(self, *rules: Rule | Mapping[str, Any]) -> None:
        self._state.add_rules(rules)
