"""The device transport over streamable HTTP: one TCP connection per MCP session, and no Nagle delay.

Connections are counted by a TCP relay between the agent's session opener and the simulator (every
connection the client opens is one the relay accepts); nothing here is timed.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

from qa_agent.devices.sessions import open_http_session
from qa_agent.serving import bind_socket
from qa_agent.world.sim.process import simulator_process
from qa_agent.world.sim.testing import result_text

APPS = Path(__file__).resolve().parents[2] / "examples" / "apps"
DEVICE = "emulator-5554"


@contextlib.asynccontextmanager
async def counting_relay(host: str, port: int) -> AsyncIterator[tuple[int, list[int]]]:
    """A TCP relay to host:port; yields its port and the list it appends one item to per accepted connection."""
    accepted: list[int] = []
    pipes: set[asyncio.Task[None]] = set()

    async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        except ConnectionError:
            pass
        finally:
            dst.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        up_reader, up_writer = await asyncio.open_connection(host, port)
        for task in (asyncio.create_task(pipe(reader, up_writer)), asyncio.create_task(pipe(up_reader, writer))):
            pipes.add(task)
            task.add_done_callback(pipes.discard)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], accepted
    finally:
        server.close()
        for task in list(pipes):
            task.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)


async def test_one_tcp_connection_per_session() -> None:
    async with simulator_process(devices=1, apps_dir=APPS) as sim:
        host, port = sim.base_url.removeprefix("http://").rsplit(":", 1)
        async with counting_relay(host, int(port)) as (relay_port, accepted):
            async with open_http_session(f"http://127.0.0.1:{relay_port}/mcp") as session:
                await session.list_tools()
                launched = await session.call_tool(
                    "mobile_launch_app", {"device": DEVICE, "packageName": "com.example.ptt"}
                )
                assert not launched.isError, result_text(launched)
                for _ in range(10):
                    listing = await session.call_tool("mobile_list_elements_on_screen", {"device": DEVICE})
                    assert "Talk" in result_text(listing)
                    shot = await session.call_tool("mobile_take_screenshot", {"device": DEVICE})
                    assert not shot.isError
            # initialize, the initialized notification, tools/list, 21 calls: all on one kept-alive connection
            assert len(accepted) == 1


async def test_embedded_servers_turn_nagle_off() -> None:
    """Accepted sockets of the embedded servers must have TCP_NODELAY: with Nagle on, each answer's body
    waited for the client's delayed ACK of its headers on a kept-alive connection."""
    nodelay: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def handle(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        nodelay.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(handle, sock=bind_socket("127.0.0.1", 0))
    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
        assert await asyncio.wait_for(nodelay, 30) != 0
        writer.close()
    finally:
        server.close()
