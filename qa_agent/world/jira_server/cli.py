"""``qa-agent jira serve``: run the embedded, file-backed Jira MCP server."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from qa_agent.world.jira_server.models import TicketFileError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9000


def _port(value: str) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 0 and 65535, got {port}")
    return port


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    from qa_agent.world.jira_server.process import DEFAULT_TICKETS_DIR

    parser.add_argument(
        "--tickets",
        type=Path,
        default=DEFAULT_TICKETS_DIR,
        metavar="DIR",
        help="folder of ticket YAML files (default: the repository's examples/tickets)",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"HTTP bind address (default {DEFAULT_HOST})")
    parser.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"HTTP port, 0 = any free port (default {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--transport",
        choices=("streamable-http", "stdio"),
        default="streamable-http",
        help="MCP transport (default streamable-http, served at http://HOST:PORT/mcp)",
    )


def serve(args: argparse.Namespace) -> int:
    from qa_agent.serving import url_host
    from qa_agent.world.jira_server.server import run_http, run_stdio

    tickets: Path = args.tickets.expanduser().resolve()
    try:
        if args.transport == "stdio":
            asyncio.run(run_stdio(tickets, f"http://{url_host(args.host)}:{args.port}"))
        else:
            asyncio.run(run_http(tickets, args.host, args.port))
    except TicketFileError as exc:
        print(f"qa-jira: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"qa-jira: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def register(sub: Any) -> None:
    """Add ``jira serve`` to the ``qa-agent`` command line."""
    jira = sub.add_parser("jira", help="embedded file-backed Jira MCP server")
    jira_sub = jira.add_subparsers(dest="jira_command", required=True)
    serve_parser = jira_sub.add_parser(
        "serve",
        help="serve ticket YAML files over MCP (mcp-atlassian compatible tools)",
        description="Serve ticket YAML files as a Jira MCP server compatible with mcp-atlassian 0.23.1.",
    )
    add_serve_arguments(serve_parser)
    serve_parser.set_defaults(handler=serve)
