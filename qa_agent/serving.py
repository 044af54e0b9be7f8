"""Serve an ASGI app on a socket we bind ourselves, and print one ready line once it listens.

The embedded servers are started by other processes that wait for that line (and read the
real port from it when port 0 was asked for).
"""

from __future__ import annotations

import asyncio
import socket
import sys

import uvicorn


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not the default 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose proto
    # says TCP, and accepted sockets inherit it. With Nagle on, an answer's body waited for the client's
    # delayed ACK of its headers: about 40 ms per request on a kept-alive connection.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    sock.setblocking(False)
    return sock


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def base_url(host: str, sock: socket.socket) -> str:
    return f"http://{url_host(host)}:{sock.getsockname()[1]}"


async def serve_announced(server: uvicorn.Server, sock: socket.socket, ready_line: str) -> None:
    """Run `server` on `sock`; print `ready_line` when it has started (not at all if it never does)."""

    async def announce() -> None:
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.01)
        sys.stdout.write(ready_line + "\n")
        sys.stdout.flush()

    announcer = asyncio.create_task(announce())
    try:
        await server.serve(sockets=[sock])
    finally:
        announcer.cancel()
        sock.close()
