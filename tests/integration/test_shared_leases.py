"""Device leases in PostgreSQL: exclusive across agents, isolation keys honoured, a killed agent's leases expire,
waiting agents served first come first served, a dead waiter dropped."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys

import pytest

from qa_agent.devices.discovery import NotEnoughDevices
from qa_agent.devices.shared_leases import SharedLeaser, release_shared
from tests.lab import queued

pytestmark = pytest.mark.slow

HOLDER = """
import asyncio, sys
from qa_agent.devices.shared_leases import SharedLeaser

async def main():
    leaser = SharedLeaser(sys.argv[1], ["a", "b", "c"], ttl_s=5.0)
    print(await leaser.acquire("killed-run", 2, keys=frozenset({"package:com.example.ptt"})), flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_two_agents_never_share_a_device_and_keys_are_exclusive(postgres_dsn: str) -> None:
    one = SharedLeaser(postgres_dsn, ["a", "b", "c"], {"a": "Alice", "b": "Bob"})
    two = SharedLeaser(postgres_dsn, ["a", "b", "c"], {"a": "Alice", "b": "Bob"})  # another agent
    try:
        assert await one.acquire("r1", 2, wanted=frozenset({"alice"})) == ["a", "b"]
        waiting = asyncio.create_task(two.acquire("r2", 1, wanted=frozenset({"Alice"})))
        free = await two.acquire("r3", 1, keys=frozenset({"package:x"}))
        assert free == ["c"]
        same_package = asyncio.create_task(one.acquire("r4", 0, keys=frozenset({"package:x"})))
        await asyncio.sleep(1.5)  # a few polls: neither may be granted while r1 and r3 hold
        assert not waiting.done() and not same_package.done()
        await release_shared("r1")
        assert await asyncio.wait_for(waiting, 30) == ["a"]
        await release_shared("r3")
        assert await asyncio.wait_for(same_package, 30) == []
        with pytest.raises(NotEnoughDevices, match="no free device is signed in as Mallory"):
            await one.acquire("r5", 1, wanted=frozenset({"Mallory"}))
    finally:
        for run in ("r1", "r2", "r3", "r4", "r5"):
            await release_shared(run)


async def test_a_killed_agents_leases_expire_and_its_devices_return(postgres_dsn: str) -> None:
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, postgres_dsn, stdout=asyncio.subprocess.PIPE
    )
    assert holder.stdout is not None
    assert (await asyncio.wait_for(holder.stdout.readline(), 60)).decode().strip() == "['a', 'b']"
    leaser = SharedLeaser(postgres_dsn, ["a", "b", "c"], ttl_s=5.0)
    try:
        waiting = asyncio.create_task(leaser.acquire("r1", 3, keys=frozenset({"package:com.example.ptt"})))
        await asyncio.sleep(6)  # past the TTL: the living holder renews its leases, so r1 still waits
        assert not waiting.done()
        holder.send_signal(signal.SIGKILL)  # no release: only expiry can give the devices back
        await holder.wait()
        assert await asyncio.wait_for(waiting, 60) == ["a", "b", "c"]
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
        await release_shared("r1")


WAITER = """
import asyncio, sys
from qa_agent.devices.shared_leases import SharedLeaser

asyncio.run(SharedLeaser(sys.argv[1], ["a"], ttl_s=3.0).acquire("dead-waiter", 1))
"""


async def test_waiting_agents_are_served_first_come_first_served(postgres_dsn: str) -> None:
    holder, early, late = (SharedLeaser(postgres_dsn, ["a", "b"]) for _ in range(3))  # three agents' connections
    try:
        assert await holder.acquire("holder", 1, pinned=frozenset({"a"})) == ["a"]
        first = asyncio.create_task(early.acquire("first", 2))  # needs a, which the holder has
        await queued(postgres_dsn, "first")
        # b is free, but the request that arrived first could use it: it is not lent to a later one.
        second = asyncio.create_task(late.acquire("second", 1))
        await queued(postgres_dsn, "second", polls=3)
        assert not second.done()
        await release_shared("holder")
        assert await asyncio.wait_for(first, 30) == ["a", "b"]
        assert not second.done()
        await release_shared("first")
        assert await asyncio.wait_for(second, 30) == ["a"]
        # An earlier run that waits for an isolation key cannot start: it keeps its key, not the free phone.
        assert await holder.acquire("key-holder", 0, keys=frozenset({"package:x"})) == []
        key_waiter = asyncio.create_task(early.acquire("key-waiter", 1, keys=frozenset({"package:x"})))
        await queued(postgres_dsn, "key-waiter")
        assert await asyncio.wait_for(late.acquire("other-app", 1), 30) == ["b"]
        assert not key_waiter.done()
    finally:
        for run in ("holder", "first", "second", "key-holder", "key-waiter", "other-app"):
            await release_shared(run)


async def test_a_dead_waiter_drops_out_of_the_queue(postgres_dsn: str) -> None:
    leaser = SharedLeaser(postgres_dsn, ["a"], ttl_s=3.0)
    waiter = await asyncio.create_subprocess_exec(sys.executable, "-c", WAITER, postgres_dsn)
    try:
        assert await leaser.acquire("holder", 1) == ["a"]
        await queued(postgres_dsn, "dead-waiter")  # another agent's run, first in the queue for the phone
        later = asyncio.create_task(leaser.acquire("later", 1))
        await queued(postgres_dsn, "later")
        waiter.send_signal(signal.SIGKILL)  # it stops renewing its place; nothing removes it but expiry
        await waiter.wait()
        await release_shared("holder")
        assert await asyncio.wait_for(later, 60) == ["a"]
    finally:
        if waiter.returncode is None:
            waiter.kill()
            await waiter.wait()
        for run in ("holder", "later"):
            await release_shared(run)


async def test_an_unreachable_database_blocks_the_request_saying_so() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    leaser = SharedLeaser(f"postgresql://qa@127.0.0.1:{port}/postgres", ["a"], ttl_s=1.0)
    try:
        with pytest.raises(NotEnoughDevices, match=r"device leases unavailable: database unreachable for \d+ s"):
            await asyncio.wait_for(leaser.acquire("r1", 1), 60)
    finally:
        await release_shared("r1")
