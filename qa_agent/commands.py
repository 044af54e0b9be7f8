"""The `qa-agent` commands that drive runs (run, resume, approve, runs, batch, demo).

Imported only when one of them runs: it brings LangGraph and the graph (see `qa_agent.cli`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Coroutine, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from graph.context import ConfigError, Context, load_context
from qa_agent.cli import USAGE_ERROR
from qa_agent.keys import InvalidKey, parse_key
from qa_agent.progress import VERDICT_STYLE, ProgressPrinter, heading, output_console
from qa_agent.runner import RunBusy, RunOutcome, UnknownRun, list_runs, resume_run, run_ticket


def _print_plan(console: Console, waiting: dict[str, Any]) -> None:
    plan = waiting.get("plan") or {}
    devices = {d["driver"]: d["device"] for d in waiting.get("drivers") or []}
    table = Table(title=f"plan for {waiting.get('ticket_key')} (attempt {int(waiting.get('attempt', 0)) + 1})")
    for column in ("step", "driver", "action", "args", "sync point after"):
        table.add_column(column, overflow="fold")
    for step in plan.get("steps", []):
        driver = f"{step['driver']} {devices.get(step['driver'], '')}".strip()
        args = json.dumps(step.get("args") or {}, ensure_ascii=False)
        table.add_row(step["id"], driver, step["action"], args, "yes" if step.get("barrier") else "")
    console.print(table)


def _ask_decision(console: Console, waiting: dict[str, Any]) -> dict[str, Any]:
    while True:
        answer = console.input("[bold]approve[/bold] (a), [bold]edit[/bold] (e) or [bold]reject[/bold] (r)? ").strip()
        if answer[:1] in ("a", "y"):
            return {"action": "approve"}
        if answer[:1] == "r":
            return {"action": "reject", "reason": console.input("why? ").strip() or "rejected at the prompt"}
        if answer[:1] == "e":
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
                json.dump(waiting.get("plan"), handle, ensure_ascii=False, indent=2)
            editor = os.environ.get("EDITOR")
            if editor:
                subprocess.run([*shlex.split(editor), handle.name], check=False)
            else:
                console.input(f"edit {handle.name}, save it, then press Enter ")
            try:
                return {"action": "edit", "plan": json.loads(Path(handle.name).read_text(encoding="utf-8"))}
            except (OSError, json.JSONDecodeError) as exc:
                console.print(f"[red]cannot read the edited plan:[/red] {escape(str(exc))}")


def _settle(console: Console, ctx: Context, outcome: RunOutcome) -> RunOutcome:
    """Answer plan approvals at the prompt (interactive) until the run ends."""
    run_id = outcome.run_id
    while outcome.waiting is not None:
        _print_plan(console, outcome.waiting)
        if not sys.stdin.isatty():
            console.print(
                f"[yellow]waiting for a plan decision[/yellow]: qa-agent approve {outcome.run_id} "
                "[--edit PLAN.json | --reject REASON]"
            )
            return outcome
        decision = _ask_decision(console, outcome.waiting)
        outcome = _live(console, partial(resume_run, ctx, run_id, decision=decision))
    return outcome


def _live(console: Console, run: Callable[..., Coroutine[Any, Any, RunOutcome]]) -> RunOutcome:
    """`run(on_event=...)` with the live per-driver view at a terminal, in every command that drives a run."""
    with ProgressPrinter(console) as progress:
        return asyncio.run(run(on_event=progress))


def _print_outcome(console: Console, outcome: RunOutcome) -> None:
    if outcome.waiting is not None:
        return
    v = outcome.verdict
    console.print(f"\n[{VERDICT_STYLE[v.result]}]{v.result.upper()}[/] {escape(v.justification)}")
    for line in v.evidence[:10]:
        console.print(f"  • {escape(line)}")
    if outcome.report_dir:
        console.print(f"report: {Path(outcome.report_dir) / 'report.html'}")


def _context(console: Console, **overrides: object) -> Context | None:
    try:
        return load_context(**overrides)
    except ConfigError as exc:
        console.print(f"[red]configuration error:[/red] {escape(str(exc))}")
        return None


def _keys(console: Console, texts: Sequence[str | None]) -> list[str] | None:
    """Keys typed by a person: any bad one is a usage error (None) naming it."""
    try:
        return [parse_key(text) for text in texts]
    except InvalidKey as exc:
        console.print(f"[red]usage error:[/red] {escape(str(exc))}")
        return None


def cmd_run(args: argparse.Namespace) -> int:
    console = output_console()
    overrides: dict[str, object] = {}
    if args.approve:
        overrides["approve_plan"] = True
    if args.report_dir:
        overrides["report_root"] = Path(args.report_dir)
    ctx = _context(console, **overrides)
    if ctx is None:
        return USAGE_ERROR
    if not (args.key or ctx.ticket_key):
        console.print("[red]usage error:[/red] give a ticket key (qa-agent run KEY) or set TICKET_KEY")
        return USAGE_ERROR
    keys = _keys(console, [args.key or ctx.ticket_key])
    if keys is None:
        return USAGE_ERROR
    key = keys[0]
    devices = ctx.mobile_mcp_command or ctx.mobile_mcp_url or "embedded simulator"
    console.print(f"[bold]{key}[/bold] · devices: {devices}")
    with ProgressPrinter(console, live=False if args.quiet else None) as progress:
        outcome = asyncio.run(run_ticket(ctx, key, on_event=None if args.quiet else progress))
    outcome = _settle(console, ctx, outcome)
    _print_outcome(console, outcome)
    return outcome.exit_code


async def _demo(ctx: Context, keys: list[str], console: Console) -> list[RunOutcome]:
    from qa_agent.world.jira_server.process import jira_server_process

    outcomes = []
    async with jira_server_process(ctx.tickets_dir) as jira:
        console.print(f"embedded Jira MCP server: {jira.url}")
        run_ctx = ctx.model_copy(update={"jira_mcp_url": jira.url})
        for key in keys:
            heading(console, f"[bold]{key}[/bold]")
            with ProgressPrinter(console) as progress:
                outcome = await run_ticket(run_ctx, key, on_event=progress)
            _print_outcome(console, outcome)
            outcomes.append(outcome)
    return outcomes


def cmd_demo(args: argparse.Namespace) -> int:
    console = output_console()
    ctx = _context(console)
    if ctx is None:
        return USAGE_ERROR
    if ctx.jira_mcp_url or ctx.mobile_mcp_command or ctx.mobile_mcp_url:
        console.print("[yellow]demo uses the embedded servers; JIRA_MCP_URL / MOBILE_MCP_* are ignored[/yellow]")
        ctx = ctx.model_copy(update={"jira_mcp_url": None, "mobile_mcp_command": None, "mobile_mcp_url": None})
    keys = _keys(console, args.keys) if args.keys else sorted(p.stem for p in Path(ctx.tickets_dir).glob("*.yaml"))
    if keys is None:
        return USAGE_ERROR
    outcomes = asyncio.run(_demo(ctx, keys, console))
    table = Table(title="mobile-qa-agent demo")
    for column in ("ticket", "verdict", "steps", "device calls", "report"):
        table.add_column(column, overflow="fold")
    for o in outcomes:
        results = o.state.get("results") or []
        table.add_row(
            str(o.state.get("ticket_key", "")),
            f"[{VERDICT_STYLE[o.verdict.result]}]{o.verdict.result}[/]",
            str(len(results)),
            str(sum(r.tool_calls for r in results)),
            str(Path(o.report_dir or "-") / "report.html"),
        )
    console.print(table)
    return 0


def _continue(console: Console, ctx: Context, run_id: str, decision: Any = None) -> int:
    """Resume a run (answering a waiting plan with `decision`), then settle and print it."""
    try:
        outcome = _live(console, partial(resume_run, ctx, run_id, decision=decision))
    except (UnknownRun, RunBusy) as exc:
        console.print(f"[red]usage error:[/red] {escape(str(exc))}")
        return USAGE_ERROR
    if outcome.finished_before:
        nothing = "nothing to approve" if decision is not None else "nothing to resume"
        console.print(f"run {run_id} is already finished ({outcome.verdict.result}): {nothing}")
        _print_outcome(console, outcome)
        # A decision on a finished run was not applied: a script must not take it for done.
        return USAGE_ERROR if decision is not None else outcome.exit_code
    outcome = _settle(console, ctx, outcome)
    _print_outcome(console, outcome)
    return outcome.exit_code


def cmd_resume(args: argparse.Namespace) -> int:
    console = output_console()
    ctx = _context(console)
    return USAGE_ERROR if ctx is None else _continue(console, ctx, args.run_id)


def cmd_approve(args: argparse.Namespace) -> int:
    console = output_console()
    ctx = _context(console)
    if ctx is None:
        return USAGE_ERROR
    decision: dict[str, Any] = {"action": "approve"}
    if args.reject is not None:
        decision = {"action": "reject", "reason": args.reject}
    elif args.edit:
        try:
            decision = {"action": "edit", "plan": json.loads(Path(args.edit).read_text(encoding="utf-8"))}
        except (OSError, json.JSONDecodeError) as exc:
            console.print(f"[red]usage error:[/red] cannot read {args.edit}: {escape(str(exc))}")
            return USAGE_ERROR
    return _continue(console, ctx, args.run_id, decision)


def cmd_runs(args: argparse.Namespace) -> int:
    console = output_console()
    ctx = _context(console)
    if ctx is None:
        return USAGE_ERROR
    runs = asyncio.run(list_runs(ctx, args.limit))
    table = Table(title=f"runs in {ctx.report_root}")
    table.add_column("run id", overflow="fold")
    for column in ("ticket", "status", "next", "updated"):
        table.add_column(column)
    for run in runs:
        style = VERDICT_STYLE.get(run.status, "bold")
        table.add_row(run.run_id, run.ticket_key, f"[{style}]{run.status}[/]", ", ".join(run.next_nodes), run.updated)
    console.print(table)
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    from qa_agent.batch import JiraError, keys_for_jql, run_batch

    console = output_console()
    overrides: dict[str, object] = {}
    if args.devices:
        overrides["sim_devices"] = args.devices
    ctx = _context(console, **overrides)
    if ctx is None:
        return USAGE_ERROR
    keys = _keys(console, args.keys)
    if keys is None:
        return USAGE_ERROR
    if args.jql:
        try:
            keys += asyncio.run(keys_for_jql(ctx, args.jql, args.limit))
        except JiraError as exc:
            console.print(f"[red]cannot search Jira:[/red] {escape(str(exc))}")
            return USAGE_ERROR
    if not keys:
        console.print("[red]usage error:[/red] no ticket: give keys or a --jql that matches some")
        return USAGE_ERROR
    console.print(f"batch of {len(keys)} ticket(s): {escape(', '.join(keys))}")  # JQL keys are Jira's text
    progress = ProgressPrinter(console, live=False)  # many runs at once: their steps would interleave

    def batch_events(event: dict[str, Any]) -> None:
        if str(event.get("event", "")).startswith("batch_"):
            progress(event)

    if args.server:
        from qa_agent.server_batch import run_server_batch

        batch = asyncio.run(run_server_batch(ctx, args.server, keys, args.concurrency))
    else:
        batch = asyncio.run(run_batch(ctx, keys, concurrency=args.concurrency, on_event=batch_events))
    table = Table(title=f"{batch.batch_id} on {len(batch.devices)} device(s)")
    for column in ("ticket", "verdict", "devices", "steps", "report"):
        table.add_column(column, overflow="fold")
    for o in batch.outcomes:
        drivers = o.state.get("drivers") or []
        table.add_row(
            escape(str(o.state.get("ticket_key", ""))),
            f"[{VERDICT_STYLE[o.verdict.result]}]{o.verdict.result}[/]",
            ", ".join(d.device for d in drivers),
            str(len(o.state.get("results") or [])),
            str(Path(o.report_dir or "-") / "report.html"),
        )
    console.print(table)
    console.print(f"junit: {batch.folder / 'junit.xml'}")
    return batch.exit_code
