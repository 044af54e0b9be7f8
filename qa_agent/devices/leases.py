"""Device leases for batch runs: each run gets the devices it needs, no device serves two runs."""

from __future__ import annotations

import asyncio

from qa_agent.devices.discovery import NotEnoughDevices


class DeviceLeaser:
    """FIFO leases over a fixed set of devices, shared by the runs of one process."""

    def __init__(self, devices: list[str]) -> None:
        self.devices = list(devices)
        self._free = list(devices)
        self._held: dict[str, list[str]] = {}
        self._changed = asyncio.Condition()
        self._queue: list[str] = []

    async def acquire(self, run_id: str, count: int) -> list[str]:
        """Wait until `count` devices are free (first come, first served) and hold them for `run_id`."""
        if count > len(self.devices):
            raise NotEnoughDevices(
                f"the plan needs {count} devices, the batch pool has {len(self.devices)} ({', '.join(self.devices)})"
            )
        held = self._held.get(run_id, [])
        if len(held) >= count:
            return held[:count]
        await self.release(run_id)
        async with self._changed:
            self._queue.append(run_id)
            try:
                await self._changed.wait_for(lambda: self._queue[0] == run_id and len(self._free) >= count)
            finally:
                self._queue.remove(run_id)
                self._changed.notify_all()
            taken, self._free = self._free[:count], self._free[count:]
            self._held[run_id] = taken
            return taken

    async def release(self, run_id: str) -> None:
        async with self._changed:
            returned = self._held.pop(run_id, [])
            if returned:
                self._free.extend(returned)
                self._free.sort(key=self.devices.index)
                self._changed.notify_all()


_LEASERS: dict[str, DeviceLeaser] = {}


def register_leaser(pool_id: str, leaser: DeviceLeaser) -> None:
    _LEASERS[pool_id] = leaser


def leaser_for(pool_id: str | None) -> DeviceLeaser | None:
    return _LEASERS.get(pool_id) if pool_id else None


def forget_leaser(pool_id: str) -> None:
    _LEASERS.pop(pool_id, None)


async def release_everywhere(run_id: str) -> None:
    for leaser in list(_LEASERS.values()):
        await leaser.release(run_id)
