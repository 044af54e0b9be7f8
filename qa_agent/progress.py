"""Live per-driver progress lines for the terminal."""

from __future__ import annotations

from typing import Any

from rich.console import Console

_STATUS_STYLE = {"passed": "green", "failed": "red", "blocked": "yellow", "skipped": "dim"}
_COLORS = [
    "cyan",
    "magenta",
    "blue",
    "bright_green",
    "bright_yellow",
    "bright_cyan",
    "bright_magenta",
    "white",
]


class ProgressPrinter:
    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False)

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "run_start":
            self.console.print(f"run {event['run_id']} (resume with: qa-agent resume {event['run_id']})")
            return
        if kind == "run_resume":
            self.console.print(f"resuming run {event['run_id']} at {', '.join(event['next'])}")
            return
        if kind == "barrier":
            self.console.print(
                f"[dim]── barrier {event['segment'] + 1}/{event['segments']}: "
                f"{event['passed']} passed, {event['not_passed']} not passed[/dim]"
            )
            return
        driver = int(event.get("driver", 0))
        color = _COLORS[(driver - 1) % len(_COLORS)]
        lane = f"[{color}]driver {driver} {event.get('device', '')}[/{color}]"
        if kind == "step_start":
            args = ", ".join(f"{k}={v!r}" for k, v in (event.get("args") or {}).items())
            self.console.print(f"{lane} ▶ {event['step']} {event['action']}({args})")
        elif kind == "step_end":
            status = str(event.get("status"))
            style = _STATUS_STYLE.get(status, "white")
            self.console.print(
                f"{lane} [{style}]■ {event['step']} {status}[/{style}] {event.get('duration_s', 0):.2f}s "
                f"[dim]{str(event.get('message', ''))[:140]}[/dim]"
            )
