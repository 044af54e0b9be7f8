"""Command line of the Jira REST stand-in: serve the tickets folder, print one ready line."""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from pathlib import Path

from qa_agent.jira_server.models import TicketFileError
from qa_agent.jira_server.process import DEFAULT_TICKETS_DIR
from qa_agent.jira_server.store import TicketStore

READY_PREFIX = "qa-jira-rest listening on "


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m qa_agent.jira_rest", description="a small Jira Server REST (v2) stand-in over YAML tickets"
    )
    parser.add_argument("--tickets", type=Path, default=DEFAULT_TICKETS_DIR, help="folder of ticket YAML files")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    args = parser.parse_args(argv)
    try:
        TicketStore(args.tickets).snapshot()
    except TicketFileError as exc:
        print(f"qa-jira-rest: {exc}", file=sys.stderr)
        return 2
    asyncio.run(_serve(args.tickets, args.host, args.port))
    return 0


async def _serve(tickets: Path, host: str, port: int) -> None:
    import uvicorn

    from qa_agent.jira_rest.app import build_app

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    real_port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(build_app(tickets), log_level="warning", access_log=False))

    async def announce() -> None:
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes no event for this
            await asyncio.sleep(0.01)
        shown = f"[{host}]" if ":" in host else host
        sys.stdout.write(f"{READY_PREFIX}http://{shown}:{real_port}\n")
        sys.stdout.flush()

    task = asyncio.create_task(announce())
    try:
        await server.serve(sockets=[sock])
    finally:
        task.cancel()
