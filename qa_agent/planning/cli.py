"""`qa-agent steps` and `qa-agent check`: the step library, and a ticket compiled without running it.

So a QA engineer can fix a ticket's test details before a run, and see which wordings are known.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from graph.context import ConfigError, Context, load_context
from graph.state import Plan, Ticket
from qa_agent.devices.calls import allowed_tools
from qa_agent.jira_client import JiraError, fetch_issue
from qa_agent.planning.gherkin import GherkinError, compile_gherkin
from qa_agent.planning.steps import StepsFileError, load_library
from qa_agent.planning.validate import validate_plan
from qa_agent.progress import output_console
from qa_agent.tickets import offline_summary, parse_issue_text, ticket_from_jira

USAGE_ERROR = 3
PROBLEMS = 2


def cmd_steps(args: argparse.Namespace) -> int:
    console = output_console()
    try:
        ctx = load_context()
        library = load_library(ctx.steps_file)
    except (ConfigError, StepsFileError) as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        return USAGE_ERROR
    table = Table(title=f"{len(library.definitions)} steps (subjects: user1, user 1, the user, I, he, she, roles)")
    for column in ("expression", "example", "actions", "from"):
        table.add_column(column, overflow="fold")
    for d in library.definitions:
        actions = ", ".join(a.action for a in [*d.rows, *d.actions])
        if d.unsupported:
            actions += " (not supported yet)"
        example = d.example + (f"\n  {d.table}" if d.table else "") + (f'\n  """{d.doc}"""' if d.doc else "")
        table.add_row(escape(d.expression), escape(example), actions, escape(d.origin))
    console.print(table)
    return 0


def _ticket(ctx: Context, what: str) -> Ticket:
    path = Path(what)
    if not path.is_file():
        return ticket_from_jira(parse_issue_text(asyncio.run(fetch_issue(ctx, what))))
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else None
    if isinstance(data, dict) and "key" in data:
        payload = {k: data.get(k) for k in ("key", "summary", "description")}
        return ticket_from_jira(payload | dict(data.get("custom_fields") or {}))
    return Ticket(key=path.stem, test_details=text)


def _print_plan(console: Console, plan: Plan) -> None:
    roles = "".join(f", user{d} is {escape(r)}" for d, r in sorted(plan.roles.items()))
    packages = ", ".join(f"driver {d}: {p}" for d, p in sorted(plan.packages.items())) or "none known"
    console.print(f"{plan.drivers_needed} driver(s){roles}; packages: {packages}")
    for number, segment in enumerate(plan.segments(), start=1):
        table = Table(title=f"step group {number}")
        for column in ("step", "driver", "action", "args", "line"):
            table.add_column(column, overflow="fold")
        for s in segment:
            args = escape(json.dumps(s.args, ensure_ascii=False))
            table.add_row(s.id, str(s.driver), s.action, args, escape(s.expect))
        console.print(table)
    for i, expected in enumerate(plan.verifications):
        console.print(f"expected result {i}: {escape(expected)}")


def cmd_check(args: argparse.Namespace) -> int:
    console = output_console()
    try:
        ctx = load_context()
        ticket = _ticket(ctx, args.ticket)
    except (ConfigError, JiraError, OSError, ValueError, yaml.YAMLError) as exc:
        console.print(f"[red]cannot read {escape(args.ticket)}:[/red] {escape(str(exc))}")
        return USAGE_ERROR
    summary = offline_summary(ticket)
    if not summary.is_gherkin:
        console.print(f"{escape(ticket.key)}: the test details are not Gherkin; the LLM planner would plan them")
        return PROBLEMS
    try:
        plan = compile_gherkin(summary.test_details, apps=summary.apps, steps_file=ctx.steps_file)
    except GherkinError as exc:
        console.print(f"[yellow]{escape(ticket.key)} does not compile:[/yellow]")
        for problem in str(exc).split("; "):
            console.print(f"  • {escape(problem)}")
        return PROBLEMS
    packages = {d: ctx.package_for(d) or summary.package for d in range(1, plan.drivers_needed + 1)}
    plan.packages = {d: p for d, p in packages.items() if p}
    _print_plan(console, plan)
    errors = validate_plan(plan, server_tools={}, allowed=allowed_tools(ctx.allow_unsafe_tools), packages=packages)
    for error in errors:
        console.print(f"[yellow]invalid:[/yellow] {escape(error)}")
    if args.json:
        Path(args.json).write_text(plan.model_dump_json(indent=2), encoding="utf-8")
        console.print(f"plan written to {escape(args.json)} (for `qa-agent approve RUN_ID --edit {escape(args.json)}`)")
    return PROBLEMS if errors else 0


def register(sub: Any) -> None:
    """Add `steps` and `check` (alias `plan`) to the `qa-agent` command line."""
    steps = sub.add_parser("steps", help="list every Gherkin step the library knows, with an example each")
    steps.set_defaults(handler=cmd_steps)
    check = sub.add_parser(
        "check", aliases=["plan"], help="compile a ticket's test details without running anything (alias: plan)"
    )
    check.add_argument("ticket", help="a ticket key (read from Jira), a ticket YAML file or a .feature file")
    check.add_argument("--json", metavar="PLAN.json", help="write the plan as JSON (for `qa-agent approve --edit`)")
    check.set_defaults(handler=cmd_check)
