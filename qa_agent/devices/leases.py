"""Device leases for batch runs: each run gets the devices it needs, no device serves two runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from qa_agent.devices.discovery import NotEnoughDevices, no_device_for


def check_request(
    devices: list[str],
    named: dict[str, str],
    count: int,
    pinned: frozenset[str],
    wanted: frozenset[str],
    hosts: dict[str, str] | None = None,
    apart: bool = False,
) -> None:
    """NotEnoughDevices when no wait could ever satisfy the request."""
    if count > len(devices):
        raise NotEnoughDevices(
            f"the plan needs {count} devices, the batch pool has {len(devices)} ({', '.join(devices)})"
        )
    unknown = sorted(pinned - set(devices))
    if unknown:
        raise NotEnoughDevices(f"forced device not in the batch pool: {', '.join(unknown)}")
    folded = {a.casefold() for a in named.values()}
    absent = sorted(a for a in wanted if a.casefold() not in folded)
    if absent:
        raise NotEnoughDevices(no_device_for(absent[0], devices, named) + " in the batch pool")
    accounts = {d: a.casefold() for d, a in named.items()}
    if apart and pick(devices, count, pinned, frozenset(a.casefold() for a in wanted), accounts, hosts, apart) is None:
        raise NotEnoughDevices(
            f"no host of the lab has the {count} devices (and accounts) the plan needs on its own, and its "
            "hosts are separate device worlds (simulators), so one run cannot span them"
        )


def pick(
    free: list[str],
    count: int,
    pinned: frozenset[str],
    wanted: frozenset[str],
    accounts: dict[str, str],
    hosts: dict[str, str] | None = None,
    apart: bool = False,
) -> list[str] | None:
    """Devices from `free` for a run (pinned ones, one per `wanted` casefolded account, then others
    no role asked for), all on one host of a lab when one host can serve them (always, when the
    hosts are separate worlds: `apart`); None if none fit."""
    hosts = hosts or {}
    groups = [[d for d in free if hosts.get(d) == h] for h in dict.fromkeys(hosts.get(d) for d in free)]
    for group in ([] if not hosts else groups if apart else [*groups, free]) or [free]:
        if len(group) < count or not pinned <= set(group) or not wanted <= {accounts.get(d) for d in group}:
            continue
        taken = [d for d in group if d in pinned]
        for account in sorted(wanted - {accounts.get(d) for d in taken}):
            taken.append(next(d for d in group if d not in taken and accounts.get(d) == account))
        rest = sorted((d for d in group if d not in taken), key=lambda d: accounts.get(d) in wanted)
        return taken + rest[: max(0, count - len(taken))]
    return None


class DeviceLeaser:
    """FIFO leases over a fixed set of devices, shared by the runs of one process."""

    def __init__(
        self,
        devices: list[str],
        accounts: dict[str, str] | None = None,
        hosts: dict[str, str] | None = None,
        apart: bool = False,
    ) -> None:
        self.devices = list(devices)
        self.named = dict(accounts or {})
        self.accounts = {d: a.casefold() for d, a in self.named.items()}
        self.hosts = dict(hosts or {})
        self.apart = apart
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
        among: list[str] | None = None,
    ) -> list[str]:
        """Wait until `count` devices (of `among`, e.g. those with the labels the ticket asks for),
        including the `pinned` ones (FORCE_DEVICE_DRIVER<n>) and one signed in as each `wanted`
        account, are free and no other run holds one of the isolation `keys` (first come, first
        served); hold them for `run_id`."""
        usable = self.devices if among is None else [d for d in self.devices if d in among]
        check_request(usable, self.named, count, pinned, wanted, self.hosts, self.apart)
        wanted = frozenset(a.casefold() for a in wanted)
        held = self._held.get(run_id, [])
        if pick(held, count, pinned, wanted, self.accounts) is not None and keys <= self._keys.get(run_id, frozenset()):
            return held
        await self.release(run_id)
        chosen: list[str] | None = None

        def fits() -> bool:
            nonlocal chosen
            if self._queue[0] != run_id or any(keys & other for other in self._keys.values()):
                return False
            free = [d for d in self._free if d in usable]
            chosen = pick(free, count, pinned, wanted, self.accounts, self.hosts, self.apart)
            return chosen is not None

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
            taken = list(chosen or [])
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
    from qa_agent.devices.shared_leases import release_shared

    await release_shared(run_id)
