"""The shared world: simulated Android devices, their running apps, and per-app shared state."""

from __future__ import annotations

import asyncio
import copy
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from qa_agent.world.sim.actionlog import ActionLog
from qa_agent.world.sim.appmodel import AppModel, Element
from qa_agent.world.sim.config import SimConfig, device_id, user_name
from qa_agent.world.sim.errors import device_not_found
from qa_agent.world.sim.latency import Latency

SCREEN_W = 1080
SCREEN_H = 2400
LAUNCHER_PACKAGE = "com.google.android.apps.nexuslauncher"
LAUNCHER_NAME = "Pixel Launcher"


@dataclass
class ElementView:
    """An element as listed on screen (what ``mobile_list_elements_on_screen`` reports)."""

    type: str
    text: str
    label: str
    hint: str
    identifier: str
    x: int
    y: int
    width: int
    height: int
    focused: bool = False
    model: Element | None = None
    launches: str | None = None  # launcher icon: the package it starts
    ref: str = ""
    checkable: bool = False
    checked: bool = False
    selected: bool = False
    enabled: bool = True
    scrollable: bool = False
    button: str | None = None  # a navigation-bar key: the button it presses
    extra: dict[str, Any] = field(default_factory=dict)  # a list row's ``item`` and ``index``

    @property
    def clickable(self) -> bool:
        return bool(self.launches or self.button or (self.model is not None and self.model.interactive))

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.width / 2, self.y + self.height / 2

    def contains(self, px: float, py: float) -> bool:
        return self.x <= px < self.x + self.width and self.y <= py < self.y + self.height


@dataclass
class AppRun:
    """An app process on one device."""

    model: AppModel
    state: dict[str, Any]
    stack: list[str]
    focused: str | None = None
    keyboard: bool = False  # the soft keyboard is up (a text field has focus and it was not dismissed)
    scroll: dict[str, int] = field(default_factory=dict)  # list key -> first row shown (absent: the start,
    # or the end for stick_to_end lists)

    @property
    def screen(self) -> str:
        return self.stack[-1]


@dataclass
class LogEntry:
    timestamp: float
    message: str
    level: str
    pid: int
    tag: str
    process: str


@dataclass
class Crash:
    id: str
    process: str
    timestamp: str
    content: str


@dataclass
class Device:
    index: int
    id: str
    user: str
    installed: dict[str, AppModel]
    rng: random.Random
    running: dict[str, AppRun] = field(default_factory=dict)
    foreground: str | None = None
    held: str | None = None
    orientation: str = "portrait"
    clipboard: str = ""
    location: tuple[float, float] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    input_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    calls: int = 0
    vanished: bool = False
    logs: list[LogEntry] = field(default_factory=list)
    log_event: asyncio.Event = field(default_factory=asyncio.Event)
    crashes: list[Crash] = field(default_factory=list)
    pids: dict[str, int] = field(default_factory=dict)
    toasts: list[tuple[str, float]] = field(default_factory=list)  # (text, until time.monotonic())

    @property
    def name(self) -> str:
        return f"Pixel 8 API 35 ({self.user})"

    def describe(self) -> dict[str, str]:
        return {
            "id": self.id,
            "name": self.name,
            "platform": "android",
            "type": "emulator",
            "version": "15",
            "state": "online",
            "model": "sdk_gphone64_x86_64",
        }

    def pid(self, package: str) -> int:
        return self.pids.setdefault(package, 1000 + 37 * len(self.pids) + 11 * self.index)

    def add_log(self, tag: str, message: str, *, level: str = "Info", process: str = "system_server") -> None:
        self.logs.append(LogEntry(time.time(), message, level, self.pid(process), tag, process))
        del self.logs[:-2000]
        self.log_event.set()
        self.log_event = asyncio.Event()


class World:
    """N devices sharing app catalog and per-app shared state, plus delayed cross-device events."""

    def __init__(self, config: SimConfig, catalog: dict[str, AppModel]) -> None:
        self.config = config
        self.catalog = catalog
        self.created = time.time()
        self.id = secrets.token_hex(8)  # a new world (process start or /sim/reset) has a new id
        self.actions = ActionLog()
        self.latency = Latency(config.seed)
        self.shared: dict[str, dict[str, Any]] = {pkg: copy.deepcopy(m.shared) for pkg, m in catalog.items()}
        self.devices: list[Device] = [
            Device(
                index=i,
                id=device_id(i),
                user=user_name(i),
                installed=dict(catalog),
                rng=random.Random(f"{config.seed}:{device_id(i)}"),
            )
            for i in range(1, config.devices + 1)
        ]
        self._tasks: set[asyncio.Task[None]] = set()

    def online(self) -> list[Device]:
        return [d for d in self.devices if not d.vanished]

    def device(self, ident: str) -> Device:
        for d in self.devices:
            if d.id == ident and not d.vanished:
                return d
        raise device_not_found(ident)

    def schedule(self, delay_s: float, fn: Callable[[], None]) -> None:
        """Run ``fn`` after ``delay_s`` seconds on the event loop (cancelled by :meth:`close`)."""

        async def later() -> None:
            await asyncio.sleep(delay_s)
            fn()

        task = asyncio.get_running_loop().create_task(later())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()
