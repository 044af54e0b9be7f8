import asyncio

import pytest

from qa_agent.devices.discovery import NotEnoughDevices
from qa_agent.devices.leases import DeviceLeaser


async def test_leases_are_exclusive_fifo_and_honour_pins() -> None:
    leaser = DeviceLeaser(["a", "b", "c"])
    first = await leaser.acquire("r1", 2)
    assert first == ["a", "b"]
    waiting = asyncio.create_task(leaser.acquire("r2", 2, frozenset({"a"})))
    await asyncio.sleep(0.01)
    assert not waiting.done()  # "a" is leased to r1
    single = asyncio.create_task(leaser.acquire("r3", 1))
    await asyncio.sleep(0.01)
    assert not single.done()  # first come, first served: r2 is ahead
    await leaser.release("r1")
    assert sorted(await waiting) == ["a", "b"] and (await waiting)[0] == "a"
    assert await single == ["c"]
    with pytest.raises(NotEnoughDevices, match="needs 4 devices, the batch pool has 3"):
        await leaser.acquire("r4", 4)
    with pytest.raises(NotEnoughDevices, match="not in the batch pool: z"):
        await leaser.acquire("r5", 1, frozenset({"z"}))


async def test_leases_honour_the_accounts_a_run_needs() -> None:
    leaser = DeviceLeaser(["a", "b", "c"], {"a": "Alice", "b": "Bob", "c": "Carol"})
    assert await leaser.acquire("r1", 1, wanted=frozenset({"Carol"})) == ["c"]
    waiting = asyncio.create_task(leaser.acquire("r2", 2, wanted=frozenset({"carol"})))
    await asyncio.sleep(0.01)
    assert not waiting.done()  # Carol's phone is leased to r1
    await leaser.release("r1")
    assert sorted(await waiting) == ["a", "c"]
    with pytest.raises(NotEnoughDevices, match="no free device is signed in as Mallory"):
        await leaser.acquire("r3", 1, wanted=frozenset({"Mallory"}))


async def test_a_run_stays_on_one_host_when_the_hosts_are_separate_worlds() -> None:
    accounts = {"a": "Alice", "b": "Bob", "c": "Alice", "d": "Bob"}
    hosts = {"a": "h1", "b": "h1", "c": "h2", "d": "h2"}
    leaser = DeviceLeaser(["a", "b", "c", "d"], accounts, hosts, apart=True)
    assert await leaser.acquire("r1", 1, pinned=frozenset({"a"})) == ["a"]
    assert await leaser.acquire("r0", 1, pinned=frozenset({"d"})) == ["d"]
    with pytest.raises(NotEnoughDevices, match="one run cannot span them"):
        await leaser.acquire("r4", 2, pinned=frozenset({"a", "d"}))
    # Bob on h1 and Alice on h2 are free, but two simulators cannot see each other's phones.
    waiting = asyncio.create_task(leaser.acquire("r2", 2, wanted=frozenset({"Alice", "Bob"})))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    await leaser.release("r1")
    assert sorted(await waiting) == ["a", "b"]
    with pytest.raises(NotEnoughDevices, match="no host of the lab has the 3 devices"):
        await leaser.acquire("r3", 3)
