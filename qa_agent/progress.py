"""Live per-driver progress in the terminal.

Every event is also a log line (what CI logs keep); at an interactive terminal a live table
below the lines shows, per driver, the step it is on and how its steps went so far. Readers see
plain words: a segment is a "step group", a barrier a "sync point" (as in report.html).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

# Wide enough that no line of a run is ever cut: CI logs and pipes keep ids and paths whole.
_UNWRAPPED_WIDTH = 10_000


def output_console() -> Console:
    """The console for a command's output: a terminal's own width, else lines that never wrap."""
    console = Console(highlight=False)
    if console.is_terminal:
        return console
    return Console(highlight=False, soft_wrap=True, width=_UNWRAPPED_WIDTH)


def heading(console: Console, text: str) -> None:
    """A rule across a terminal; elsewhere a short line (a rule as wide as the log is noise)."""
    if console.is_terminal:
        console.rule(text)
    else:
        console.print(f"── {text} ──")


VERDICT_STYLE = {"success": "bold green", "failure": "bold red", "blocked": "bold yellow"}
_STATUS_STYLE = {"passed": "green", "failed": "red", "blocked": "yellow", "skipped": "dim"}
_COLORS = ["cyan", "magenta", "blue", "bright_green", "bright_yellow", "bright_cyan", "bright_magenta", "white"]


@dataclass
class _Lane:
    device: str = ""
    current: str = ""
    passed: int = 0
    not_passed: int = 0
    last: str = ""


class ProgressPrinter:
    """Callable progress sink; use as a context manager to get the live table at a terminal."""

    def __init__(self, console: Console | None = None, *, live: bool | None = None) -> None:
        self.console = console or output_console()
        self.lanes: dict[int, _Lane] = {}
        self.segment = ""
        self.attempt = 0
        self._live_wanted = self.console.is_terminal if live is None else live
        self._live: Live | None = None

    def __enter__(self) -> ProgressPrinter:
        if self._live_wanted:
            self._live = Live(self.table(), console=self.console, refresh_per_second=8, transient=False)
            self._live.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)
            self._live = None

    def table(self) -> Table:
        table = Table(title=f"drivers {self.segment}".strip(), expand=False)
        for column in ("driver", "device", "now", "passed", "not passed", "last result"):
            table.add_column(column, overflow="fold")
        for driver in sorted(self.lanes):
            lane = self.lanes[driver]
            color = _COLORS[(driver - 1) % len(_COLORS)]
            table.add_row(
                f"[{color}]{driver}[/{color}]",
                lane.device,
                lane.current or "[dim]waiting at the sync point[/dim]",
                str(lane.passed),
                str(lane.not_passed),
                lane.last,
            )
        return table

    def _print(self, text: str) -> None:
        self.console.print(text)
        if self._live is not None:
            self._live.update(self.table())

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "run_start":
            self._print(f"run {event['run_id']} · {event.get('ticket_key', '')}")
            return
        if kind == "checkpointed":  # only now is there something to resume from
            self._print(f"resume with: qa-agent resume {event['run_id']}")
            return
        if kind == "run_resume":
            self._print(f"resuming run {event['run_id']} at {', '.join(event['next'])}")
            return
        if kind == "batch_progress":
            self._print(
                f"batch: {event['done']}/{event['total']} done · {event['running']} running · "
                f"{event['waiting_for_devices']} waiting for devices · {event['not_started']} not started"
            )
            return
        if kind == "batch_ticket_done":
            style = VERDICT_STYLE.get(str(event["verdict"]), "bold")
            where = f" · {event['report_dir']}/report.html" if event.get("report_dir") else ""
            self._print(f"{escape(str(event['ticket_key']))} [{style}]{event['verdict']}[/{style}]{escape(where)}")
            return
        if kind == "host_down":  # a lab host gave no device; the run goes on with the others
            self._print(f"[yellow]device host {event['host']} left out: {escape(str(event['message']))}[/yellow]")
            return
        if kind == "barrier":
            self.segment = f"(step group {event['segment'] + 1}/{event['segments']} done)"
            self._print(
                f"[dim]── sync point {event['segment'] + 1}/{event['segments']}: "
                f"{event['passed']} passed, {event['not_passed']} not passed[/dim]"
            )
            return
        attempt = int(event.get("attempt", 0))
        if attempt > self.attempt:  # a replan, a rerun or a restart on resume: a new round of every lane
            self.attempt = attempt
            self.lanes.clear()
            self._print(f"[bold]── attempt {attempt + 1} ──[/bold]")
        driver = int(event.get("driver", 0))
        lane = self.lanes.setdefault(driver, _Lane())
        lane.device = str(event.get("device", lane.device))
        color = _COLORS[(driver - 1) % len(_COLORS)]
        tag = f"[{color}]driver {driver} {lane.device}[/{color}]"
        if kind == "step_start":
            args = ", ".join(f"{k}={v!r}" for k, v in (event.get("args") or {}).items())
            lane.current = f"{event['step']} {event['action']}"
            self._print(f"{tag} ▶ {event['step']} {event['action']}({escape(args)})")
        elif kind == "step_end":
            status = str(event.get("status"))
            style = _STATUS_STYLE.get(status, "white")
            if status == "passed":
                lane.passed += 1
            else:
                lane.not_passed += 1
            lane.current = ""
            lane.last = f"[{style}]{event['step']} {status}[/{style}] {event.get('duration_s', 0):.2f}s"
            self._print(
                f"{tag} [{style}]■ {event['step']} {status}[/{style}] {event.get('duration_s', 0):.2f}s "
                f"[dim]{escape(str(event.get('message', ''))[:140])}[/dim]"
            )
