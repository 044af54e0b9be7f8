"""Parse device lists from any mobile-mcp version, and assign devices to drivers."""

from __future__ import annotations

import json
import re
from typing import Any

from graph.state import DeviceInfo, DriverAssignment
from qa_agent.devices.results import strip_control

_ID_KEYS = ("id", "device", "device_id", "deviceId", "udid", "serial", "android_device_id", "name")
_LEGACY_GROUP = re.compile(r"^(?:Android|iOS)[\w ]*?devices:\s*\[([^\]]*)\]", re.IGNORECASE | re.MULTILINE)


def parse_device_ids(text: str) -> list[str]:
    """Ids of online devices from `mobile_list_available_devices` output.

    1.0.x answers `{"devices":[{"id":..,"state":"online"}]}`; up to 0.0.37 it answered text
    lines such as `Android devices: [emulator-5554]`.
    """
    stripped = text.strip()
    try:
        payload: Any = json.loads(stripped)
    except json.JSONDecodeError:
        payload = None
    if payload is not None:
        return _ids_from_json(payload)
    ids: list[str] = []
    for group in _LEGACY_GROUP.findall(stripped):
        ids.extend(part.strip() for part in group.split(",") if part.strip())
    return list(dict.fromkeys(ids))


def _ids_from_json(payload: Any) -> list[str]:
    if isinstance(payload, dict):
        for key in ("devices", "result", "data", "items"):
            if isinstance(payload.get(key), list):
                return _ids_from_json(payload[key])
        return []
    ids: list[str] = []
    if isinstance(payload, list):
        for item in payload:
            if isinstance(item, str) and item.strip():
                ids.append(item.strip())
            elif isinstance(item, dict):
                if str(item.get("state", "online")).lower() not in ("online", "device", "booted"):
                    continue
                for key in _ID_KEYS:
                    value = item.get(key)
                    if isinstance(value, str) and value.strip():
                        ids.append(value.strip())
                        break
    return list(dict.fromkeys(ids))


_INFO_CHARS = 80


def _info_text(value: Any) -> str:
    return strip_control(str(value)).strip()[:_INFO_CHARS] if isinstance(value, str | int | float) else ""


def parse_device_details(text: str) -> dict[str, DeviceInfo]:
    """Name, model, platform and OS version of each listed device, when the server says them
    (1.0.x JSON answers do; the old text lines only give ids, and an id alone says nothing)."""
    try:
        payload: Any = json.loads(text.strip())
    except json.JSONDecodeError:
        return {}
    while isinstance(payload, dict):
        payload = next((payload[k] for k in ("devices", "result", "data", "items") if k in payload), None)
    out: dict[str, DeviceInfo] = {}
    for item in payload if isinstance(payload, list) else []:
        if not isinstance(item, dict):
            continue
        ids = _ids_from_json([item])
        if ids:
            out[ids[0]] = DeviceInfo(
                id=ids[0],
                name=_info_text(item.get("name")),
                model=_info_text(item.get("model")),
                platform=_info_text(item.get("platform")),
                os_version=_info_text(item.get("version") or item.get("os_version")),
            )
    return out


class NotEnoughDevices(Exception):
    pass


def _same(a: str | None, b: str) -> bool:
    return a is not None and a.casefold() == b.casefold()


def roles_moved(drivers: list[DriverAssignment], roles: dict[int, str], accounts: dict[str, str]) -> list[str]:
    """The ticket's users whose assigned device is no longer signed in as their account (a replaced world)."""
    return [
        f"user{d.driver} must be {roles[d.driver]}, but {d.device} is signed in as "
        f"{accounts.get(d.device) or 'an unknown account'} now"
        for d in drivers
        if d.driver in roles and not _same(accounts.get(d.device), roles[d.driver])
    ]


def no_device_for(account: str, candidates: list[str], accounts: dict[str, str], driver: int | None = None) -> str:
    """Why a ticket that needs `account` cannot run, naming it and what there is."""
    who = f"user{driver} to be {account}" if driver is not None else f"a device signed in as {account}"
    seen = ", ".join(f"{d} ({accounts.get(d, 'account unknown')})" for d in candidates) or "none"
    hint = "" if accounts else "; the device server does not say who is signed in: set DEVICE_ACCOUNTS (id=name,...)"
    return f"the ticket needs {who}, and no free device is signed in as {account} (devices: {seen}){hint}"


def assign_devices(
    devices: list[str],
    needed: int,
    forced: dict[int, str],
    packages: dict[int, str | None],
    roles: dict[int, str] | None = None,
    accounts: dict[str, str] | None = None,
) -> list[DriverAssignment]:
    """Driver n gets FORCE_DEVICE_DRIVER<n> if set, else a device signed in as the account the
    ticket names for user n (`roles`, checked against `accounts`: device id -> account), else
    the next free discovered device."""
    roles, accounts = roles or {}, accounts or {}
    forced = {n: d for n, d in forced.items() if n <= needed}
    unknown = {n: d for n, d in forced.items() if d not in devices}
    if unknown:
        listed = ", ".join(f"FORCE_DEVICE_DRIVER{n}={d}" for n, d in sorted(unknown.items()))
        raise NotEnoughDevices(f"forced device not connected: {listed} (connected: {', '.join(devices) or 'none'})")
    if needed > len(devices):
        listed = ", ".join(devices) or "none"
        raise NotEnoughDevices(f"the plan needs {needed} devices, found {len(devices)} ({listed})")
    chosen = dict(forced)
    for n, account in sorted(roles.items()):
        if n > needed:
            continue
        if n in forced:
            if not _same(accounts.get(forced[n]), account):
                on = accounts.get(forced[n], "an unknown account")
                raise NotEnoughDevices(
                    f"FORCE_DEVICE_DRIVER{n}={forced[n]} is signed in as {on}, the ticket needs user{n} to be {account}"
                )
            continue
        free = [d for d in devices if d not in chosen.values()]
        match = next((d for d in free if _same(accounts.get(d), account)), None)
        if match is None:
            raise NotEnoughDevices(no_device_for(account, free, accounts, n))
        chosen[n] = match
    wanted = {a.casefold() for a in roles.values()}
    # Drivers without a role take devices no role asked for first.
    free = sorted(
        (d for d in devices if d not in chosen.values()), key=lambda d: accounts.get(d, "").casefold() in wanted
    )
    out: list[DriverAssignment] = []
    for driver in range(1, needed + 1):
        if driver not in chosen:
            chosen[driver] = free.pop(0)  # enough: needed <= len(devices) was checked above
        out.append(DriverAssignment(driver=driver, device=chosen[driver], package=packages.get(driver)))
    return out
