"""Device leases for batch runs: each run gets the devices it needs, no device serves two runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from qa_agent.devices.discovery import NotEnoughDevices, no_device_for


class DeviceLeaser:
    """FIFO leases over a fixed set of devices, shared by the runs of one process."""

    def __init__(self, devices: list[str], accounts: dict[str, str] | None = None) -> None:
        self.devices = list(devices)
        self.named = dict(accounts or {})
        self.accounts = {d: a.casefold() for d, a in self.named.items()}
        self._free = list(devices)
        self._held: dict[str, list[str]] = {}
        self._keys: dict[str, frozenset[str]] = {}  # isolation keys held per run (devices/isolation.py)
        self._changed = asyncio.Condition()
        self._queue: list[str] = []
        self.on_change: Callable[[], None] | None = None  # a run started or stopped waiting, or released

    @property
    def waiting(self) -> list[str]:
        """The runs waiting for devices, first come first."""
        return list(self._queue)

    def _changed_now(self) -> None:
        if self.on_change is not None:
            self.on_change()

    async def acquire(
        self,
        run_id: str,
        count: int,
        pinned: frozenset[str] = frozenset(),
        wanted: frozenset[str] = frozenset(),
        keys: frozenset[str] = frozenset(),
    ) -> list[str]:
        """Wait until `count` devices, including the `pinned` ones (FORCE_DEVICE_DRIVER<n>) and one
        signed in as each `wanted` account, are free and no other run holds one of the isolation
        `keys` (first come, first served); hold them for `run_id`."""
        if count > len(self.devices):
            raise NotEnoughDevices(
                f"the plan needs {count} devices, the batch pool has {len(self.devices)} ({', '.join(self.devices)})"
            )
        unknown = sorted(pinned - set(self.devices))
        if unknown:
            raise NotEnoughDevices(f"forced device not in the batch pool: {', '.join(unknown)}")
        absent = sorted(a for a in wanted if a.casefold() not in self.accounts.values())
        if absent:
            raise NotEnoughDevices(no_device_for(absent[0], self.devices, self.named) + " in the batch pool")
        wanted = frozenset(a.casefold() for a in wanted)
        held = self._held.get(run_id, [])
        if (
            len(held) >= count
            and pinned <= set(held)
            and wanted <= {self.accounts.get(d) for d in held}
            and keys <= self._keys.get(run_id, frozenset())
        ):
            return held
        await self.release(run_id)

        def fits() -> bool:
            free = set(self._free)
            return (
                self._queue[0] == run_id
                and not any(keys & other for other in self._keys.values())
                and len(free) >= count
                and pinned <= free
                and wanted <= {self.accounts.get(d) for d in free}
            )

        async with self._changed:
            self._queue.append(run_id)
            waits = not fits()
            if waits:
                self._changed_now()
            try:
                await self._changed.wait_for(fits)
            finally:
                self._queue.remove(run_id)
                self._changed.notify_all()
                if waits:
                    self._changed_now()
            taken = [d for d in self._free if d in pinned]
            for account in sorted(wanted - {self.accounts.get(d) for d in taken}):
                taken.append(next(d for d in self._free if d not in taken and self.accounts.get(d) == account))
            # The rest prefer devices no role of this run asked for.
            rest = sorted((d for d in self._free if d not in taken), key=lambda d: self.accounts.get(d) in wanted)
            taken += rest[: max(0, count - len(taken))]
            self._free = [d for d in self._free if d not in taken]
            self._held[run_id] = taken
            self._keys[run_id] = keys
            return taken

    async def release(self, run_id: str) -> None:
        async with self._changed:
            returned = self._held.pop(run_id, [])
            if self._keys.pop(run_id, None):
                self._changed.notify_all()
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
