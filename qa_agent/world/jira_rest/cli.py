"""Command line of the Jira REST stand-in: serve the tickets folder, print one ready line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from qa_agent.serving import base_url, bind_socket, serve_announced
from qa_agent.world.jira_rest.shapes import Flavor
from qa_agent.world.jira_server.models import TicketFileError
from qa_agent.world.jira_server.process import DEFAULT_TICKETS_DIR
from qa_agent.world.jira_server.store import TicketStore

READY_PREFIX = "qa-jira-rest listening on "


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m qa_agent.world.jira_rest",
        description="a Jira REST stand-in (Server/DC or Cloud) over YAML tickets",
    )
    parser.add_argument("--tickets", type=Path, default=DEFAULT_TICKETS_DIR, help="folder of ticket YAML files")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument(
        "--flavor", choices=("server", "cloud"), default="server", help="Jira Server/DC (API v2) or Jira Cloud (v2, v3)"
    )
    args = parser.parse_args(argv)
    try:
        TicketStore(args.tickets).snapshot()
    except TicketFileError as exc:
        print(f"qa-jira-rest: {exc}", file=sys.stderr)
        return 2
    asyncio.run(_serve(args.tickets, args.host, args.port, args.flavor))
    return 0


async def _serve(tickets: Path, host: str, port: int, flavor: Flavor) -> None:
    import uvicorn

    from qa_agent.world.jira_rest.app import build_app

    sock = bind_socket(host, port)
    server = uvicorn.Server(uvicorn.Config(build_app(tickets, flavor), log_level="warning", access_log=False))
    await serve_announced(server, sock, f"{READY_PREFIX}{base_url(host, sock)}")
