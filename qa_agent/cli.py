"""`qa-agent` command line: run tickets, the demo, and the embedded servers."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa-agent", description="Autonomous mobile QA agent")
    sub = parser.add_subparsers(dest="command", required=True)

    from qa_agent.jira_server.cli import register as register_jira
    from qa_agent.sim.cli import register as register_sim

    register_jira(sub)
    register_sim(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
