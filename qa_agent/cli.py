"""`qa-agent` command line: run tickets, the demo, and the embedded servers.

Exit codes of `run`: 0 success, 1 failure, 2 blocked, 3 usage or configuration error,
4 waiting for a plan decision (APPROVE_PLAN without a terminal: see `qa-agent approve`).
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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from graph.context import ConfigError, Context, load_context
from qa_agent.keys import InvalidKey, parse_key
from qa_agent.progress import ProgressPrinter
from qa_agent.runner import RunBusy, RunOutcome, UnknownRun, list_runs, resume_run, run_ticket

USAGE_ERROR = 3
_VERDICT_STYLE = {"success": "bold green", "failure": "bold red", "blocked": "bold yellow"}


def _print_plan(console: Console, waiting: dict[str, Any]) -> None:
    plan = waiting.get("plan") or {}
    devices = {d["driver"]: d["device"] for d in waiting.get("drivers") or []}
    table = Table(title=f"plan for {waiting.get('ticket_key')} (attempt {int(waiting.get('attempt', 0)) + 1})")
    for column in ("step", "driver", "action", "args", "barrier after"):
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
    while outcome.waiting is not None:
        _print_plan(console, outcome.waiting)
        if not sys.stdin.isatty():
            console.print(
                f"[yellow]waiting for a plan decision[/yellow]: qa-agent approve {outcome.run_id} "
                "[--edit PLAN.json | --reject REASON]"
            )
            return outcome
        decision = _ask_decision(console, outcome.waiting)
        outcome = asyncio.run(resume_run(ctx, outcome.run_id, on_event=ProgressPrinter(console), decision=decision))
    return outcome


def _print_outcome(console: Console, outcome: RunOutcome) -> None:
    if outcome.waiting is not None:
        return
    v = outcome.verdict
    console.print(f"\n[{_VERDICT_STYLE[v.result]}]{v.result.upper()}[/] {escape(v.justification)}")
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
    console = Console(highlight=False)
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
    from qa_agent.jira_server.process import jira_server_process

    outcomes = []
    async with jira_server_process(ctx.tickets_dir) as jira:
        console.print(f"embedded Jira MCP server: {jira.url}")
        run_ctx = ctx.model_copy(update={"jira_mcp_url": jira.url})
        for key in keys:
            console.rule(f"[bold]{key}")
            outcome = await run_ticket(run_ctx, key, on_event=ProgressPrinter(console))
            _print_outcome(console, outcome)
            outcomes.append(outcome)
    return outcomes


def cmd_demo(args: argparse.Namespace) -> int:
    console = Console(highlight=False)
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
            f"[{_VERDICT_STYLE[o.verdict.result]}]{o.verdict.result}[/]",
            str(len(results)),
            str(sum(r.tool_calls for r in results)),
            str(Path(o.report_dir or "-") / "report.html"),
        )
    console.print(table)
    return 0


def _continue(console: Console, ctx: Context, run_id: str, decision: Any = None) -> int:
    """Resume a run (answering a waiting plan with `decision`), then settle and print it."""
    try:
        outcome = asyncio.run(resume_run(ctx, run_id, on_event=ProgressPrinter(console), decision=decision))
    except (UnknownRun, RunBusy) as exc:
        console.print(f"[red]usage error:[/red] {escape(str(exc))}")
        return USAGE_ERROR
    outcome = _settle(console, ctx, outcome)
    _print_outcome(console, outcome)
    return outcome.exit_code


def cmd_resume(args: argparse.Namespace) -> int:
    console = Console(highlight=False)
    ctx = _context(console)
    return USAGE_ERROR if ctx is None else _continue(console, ctx, args.run_id)


def cmd_approve(args: argparse.Namespace) -> int:
    console = Console(highlight=False)
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
    console = Console(highlight=False)
    ctx = _context(console)
    if ctx is None:
        return USAGE_ERROR
    runs = asyncio.run(list_runs(ctx, args.limit))
    table = Table(title=f"runs in {ctx.report_root}")
    table.add_column("run id", overflow="fold")
    for column in ("ticket", "status", "next", "updated"):
        table.add_column(column)
    for run in runs:
        style = _VERDICT_STYLE.get(run.status, "bold")
        table.add_row(run.run_id, run.ticket_key, f"[{style}]{run.status}[/]", ", ".join(run.next_nodes), run.updated)
    console.print(table)
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    from qa_agent.batch import JiraError, keys_for_jql, run_batch

    console = Console(highlight=False)
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
    if args.server:
        from qa_agent.server_batch import run_server_batch

        batch = asyncio.run(run_server_batch(ctx, args.server, keys, args.concurrency))
    else:
        batch = asyncio.run(run_batch(ctx, keys, concurrency=args.concurrency, on_event=None))
    table = Table(title=f"{batch.batch_id} on {len(batch.devices)} device(s)")
    for column in ("ticket", "verdict", "devices", "steps", "report"):
        table.add_column(column, overflow="fold")
    for o in batch.outcomes:
        drivers = o.state.get("drivers") or []
        table.add_row(
            escape(str(o.state.get("ticket_key", ""))),
            f"[{_VERDICT_STYLE[o.verdict.result]}]{o.verdict.result}[/]",
            ", ".join(d.device for d in drivers),
            str(len(o.state.get("results") or [])),
            str(Path(o.report_dir or "-") / "report.html"),
        )
    console.print(table)
    console.print(f"junit: {batch.folder / 'junit.xml'}")
    return batch.exit_code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa-agent", description="Autonomous mobile QA agent")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="test one Jira ticket on the configured devices")
    run.add_argument("key", nargs="?", help="ticket key (default: TICKET_KEY)")
    run.add_argument("--report-dir", help="where run folders go (default: QA_REPORT_DIR or ./runs)")
    run.add_argument("--quiet", action="store_true", help="no live progress")
    run.add_argument("--approve", action="store_true", help="pause after planning for approval (APPROVE_PLAN=1)")
    run.set_defaults(handler=cmd_run)

    resume = sub.add_parser("resume", help="continue an interrupted run from its last checkpoint")
    resume.add_argument("run_id", help="the run id printed by `qa-agent run` (see `qa-agent runs`)")
    resume.set_defaults(handler=cmd_resume)

    approve = sub.add_parser("approve", help="decide on a plan waiting for approval, and continue the run")
    approve.add_argument("run_id")
    group = approve.add_mutually_exclusive_group()
    group.add_argument("--edit", metavar="PLAN.json", help="run this edited plan instead")
    group.add_argument("--reject", metavar="REASON", help="reject the plan: the run ends blocked")
    approve.set_defaults(handler=cmd_approve)

    runs = sub.add_parser("runs", help="list recent runs and their state")
    runs.add_argument("--limit", type=int, default=20)
    runs.set_defaults(handler=cmd_runs)

    batch = sub.add_parser("batch", help="run many tickets concurrently over a pool of devices")
    batch.add_argument("keys", nargs="*", help="ticket keys")
    batch.add_argument("--jql", help="select tickets with JQL, e.g. 'labels = smoke ORDER BY key'")
    batch.add_argument("--limit", type=int, default=100, help="at most this many tickets from --jql")
    batch.add_argument("--concurrency", type=int, help="tickets at once (default: one per device)")
    batch.add_argument("--devices", type=int, help="devices of the embedded simulator (default QA_SIM_DEVICES)")
    batch.add_argument(
        "--server", metavar="URL", help="run each ticket on this LangGraph server (bearer: QA_SERVER_TOKEN)"
    )
    batch.set_defaults(handler=cmd_batch)

    demo = sub.add_parser("demo", help="run the example tickets on the embedded Jira and simulator")
    demo.add_argument("keys", nargs="*", help="ticket keys (default: every example ticket)")
    demo.set_defaults(handler=cmd_demo)

    from qa_agent.jira_server.cli import register as register_jira
    from qa_agent.planning.cli import register as register_planning
    from qa_agent.sim.cli import register as register_sim

    register_jira(sub)
    register_sim(sub)
    register_planning(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
