"""``python -m qa_agent.world.realservers install``: install the pinned real servers project-locally."""

from __future__ import annotations

import argparse
import sys

from qa_agent.world.realservers.install import (
    MCP_ATLASSIAN_VERSION,
    MOBILE_MCP_VERSION,
    InstallError,
    cache_dir,
    install_atlassian,
    install_mobile_mcp,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qa_agent.world.realservers")
    sub = parser.add_subparsers(dest="command", required=True)
    inst = sub.add_parser(
        "install",
        help=f"install @mobilenext/mobile-mcp@{MOBILE_MCP_VERSION} and mcp-atlassian=={MCP_ATLASSIAN_VERSION}",
    )
    inst.add_argument("--only", choices=["mobile-mcp", "mcp-atlassian"], default=None)
    sub.add_parser("where", help="print the cache folder")
    args = parser.parse_args(argv)
    if args.command == "where":
        print(cache_dir())
        return 0
    try:
        if args.only in (None, "mobile-mcp"):
            install_mobile_mcp()
        if args.only in (None, "mcp-atlassian"):
            install_atlassian()
    except InstallError as exc:
        print(f"qa_agent.world.realservers: cannot install: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
