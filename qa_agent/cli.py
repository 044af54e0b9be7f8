"""`qa-agent` command line: run tickets, the demo, and the embedded servers.

Exit codes of `run`: 0 success, 1 failure, 2 blocked, 3 usage or configuration error,
4 waiting for a plan decision (APPROVE_PLAN without a terminal: see `qa-agent approve`).

This module only parses: `--help` and usage errors answer at once. A command's module (and
with it LangGraph and the graph) is imported when that command runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from qa_agent.keys import InvalidKey, parse_key

USAGE_ERROR = 3

# Commands other modules register, by the module that does: imported only when named.
_REGISTERED_ELSEWHERE: dict[str, tuple[str, str]] = {
    "jira": ("qa_agent.world.jira_server.cli", "embedded file-backed Jira MCP server"),
    "sim": ("qa_agent.world.sim.cli", "simulated Android devices behind a mobile-mcp 1.0.4 compatible MCP server"),
    "steps": ("qa_agent.planning.cli", "list every Gherkin step the library knows, with an example each"),
    "check": (
        "qa_agent.planning.cli",
        "compile a ticket's test details without running anything (alias: plan)",
    ),
}
_ALIASES = {"plan": "check"}


class _Parser(argparse.ArgumentParser):
    """Usage errors exit 3, like every other usage or configuration error (2 means blocked)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _command(name: str) -> Callable[[argparse.Namespace], int]:
    """The handler `qa_agent.commands.<name>`, imported when it runs."""

    def handler(args: argparse.Namespace) -> int:
        code: int = getattr(importlib.import_module("qa_agent.commands"), name)(args)
        return code

    return handler


def _named_command(argv: Sequence[str]) -> str | None:
    return next((arg for arg in argv if not arg.startswith("-")), None)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """Every command; with `argv`, the commands of other modules only when `argv` names them."""
    parser = _Parser(prog="qa-agent", description="Autonomous mobile QA agent")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="test one Jira ticket on the configured devices")
    run.add_argument("key", nargs="?", help="ticket key (default: TICKET_KEY)")
    run.add_argument("--report-dir", help="where run folders go (default: QA_REPORT_DIR or ./runs)")
    run.add_argument("--quiet", action="store_true", help="no live progress")
    run.add_argument("--approve", action="store_true", help="pause after planning for approval (APPROVE_PLAN=1)")
    run.set_defaults(handler=_command("cmd_run"))

    resume = sub.add_parser("resume", help="continue an interrupted run from its last checkpoint")
    resume.add_argument("run_id", help="the run id printed by `qa-agent run` (see `qa-agent runs`)")
    resume.set_defaults(handler=_command("cmd_resume"))

    approve = sub.add_parser("approve", help="decide on a plan waiting for approval, and continue the run")
    approve.add_argument("run_id")
    group = approve.add_mutually_exclusive_group()
    group.add_argument("--edit", metavar="PLAN.json", help="run this edited plan instead")
    group.add_argument("--reject", metavar="REASON", help="reject the plan: the run ends blocked")
    approve.set_defaults(handler=_command("cmd_approve"))

    runs = sub.add_parser("runs", help="list recent runs and their state")
    runs.add_argument("--limit", type=_positive, default=20)
    runs.set_defaults(handler=_command("cmd_runs"))

    batch = sub.add_parser("batch", help="run many tickets concurrently over a pool of devices")
    batch.add_argument("keys", nargs="*", help="ticket keys")
    batch.add_argument("--jql", help="select tickets with JQL, e.g. 'labels = smoke ORDER BY key'")
    batch.add_argument("--limit", type=_positive, default=100, help="at most this many tickets from --jql")
    batch.add_argument("--concurrency", type=_positive, help="tickets at once (default: one per device)")
    batch.add_argument("--devices", type=_positive, help="devices of the embedded simulator (default QA_SIM_DEVICES)")
    batch.add_argument(
        "--server",
        metavar="URL",
        action="append",
        help="run each ticket on this LangGraph server (bearer: QA_SERVER_TOKEN); repeat it for replicas",
    )
    batch.set_defaults(handler=_command("cmd_batch"))

    demo = sub.add_parser("demo", help="run the example tickets on the embedded Jira and simulator")
    demo.add_argument("keys", nargs="*", help="ticket keys (default: every example ticket)")
    demo.set_defaults(handler=_command("cmd_demo"))

    named = None if argv is None else _named_command(argv)
    named = _ALIASES.get(named or "", named)
    wanted = {module for name, (module, _) in _REGISTERED_ELSEWHERE.items() if argv is None or name == named}
    for module in dict.fromkeys(m for m, _ in _REGISTERED_ELSEWHERE.values()):
        if module in wanted:
            importlib.import_module(module).register(sub)
    for name, (module, help_text) in _REGISTERED_ELSEWHERE.items():
        if module not in wanted:  # listed in --help; its module is imported when it is named
            sub.add_parser(name, help=help_text, aliases=[a for a, n in _ALIASES.items() if n == name])
    return parser


def _typed_keys_refused(args: Any) -> bool:
    """Keys typed on the command line are checked before a command's module loads (a fast usage error)."""
    typed = [args.key] if args.command == "run" and args.key else list(getattr(args, "keys", None) or [])
    for text in typed:
        try:
            parse_key(text)
        except InvalidKey as exc:
            print(f"usage error: {exc}")
            return True
    return False


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args: Any = build_parser(argv).parse_args(argv)
    if args.command in ("run", "batch", "demo") and _typed_keys_refused(args):
        return USAGE_ERROR
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
