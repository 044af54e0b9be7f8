"""Shared pieces of the server attack tests: a capture server and a look at everything a server stored."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest_asyncio


@dataclass
class Capture:
    """A loopback HTTP server that records every request it receives (and answers 500)."""

    url: str
    requests: list[bytes] = field(default_factory=list)


@pytest_asyncio.fixture(loop_scope="module")  # the loop of the tests and their module-scoped server
async def capture() -> AsyncIterator[Capture]:
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            seen.append(await asyncio.wait_for(reader.read(65536), 10))
            writer.write(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield Capture(url=f"http://127.0.0.1:{port}", requests=seen)
    finally:
        server.close()
        await server.wait_closed()


async def stored_text(client: Any) -> str:
    """Every thread, its state and its runs as the server's clients can read them back."""
    parts: list[Any] = []
    for thread in await client.threads.search(limit=100):
        parts.append(thread)
        parts.append(await client.threads.get_state(thread["thread_id"]))
        parts.append(await client.runs.list(thread["thread_id"], limit=100))
    parts.append(await client.assistants.search(limit=100))
    return json.dumps(parts, default=str)
