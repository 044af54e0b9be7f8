"""Device leases in PostgreSQL: exclusive across agents, isolation keys honoured, a killed agent's leases expire."""

from __future__ import annotations

import asyncio
import signal
import sys

import pytest

from qa_agent.devices.discovery import NotEnoughDevices
from qa_agent.devices.shared_leases import SharedLeaser, release_shared

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
