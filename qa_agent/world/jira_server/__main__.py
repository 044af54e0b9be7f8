"""``python -m qa_agent.world.jira_server serve --tickets DIR ...``"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from qa_agent.world.jira_server.cli import register


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qa_agent.world.jira_server")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    # Accept both "serve ..." and "jira serve ...".
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or args_list[0] != "jira":
        args_list = ["jira", *args_list]
    args = parser.parse_args(args_list)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
