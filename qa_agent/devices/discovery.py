"""Parse device lists from any mobile-mcp version, and assign devices to drivers."""

from __future__ import annotations

import json
import re
from typing import Any

from graph.state import DriverAssignment

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


class NotEnoughDevices(Exception):
    pass


def assign_devices(
    devices: list[str], needed: int, forced: dict[int, str], packages: dict[int, str | None]
) -> list[DriverAssignment]:
    """Driver n gets FORCE_DEVICE_DRIVER<n> if set, else the next free discovered device."""
    unknown = {n: d for n, d in forced.items() if n <= needed and d not in devices}
    if unknown:
        listed = ", ".join(f"FORCE_DEVICE_DRIVER{n}={d}" for n, d in sorted(unknown.items()))
        raise NotEnoughDevices(f"forced device not connected: {listed} (connected: {', '.join(devices) or 'none'})")
    free = [d for d in devices if d not in {forced[n] for n in forced if n <= needed}]
    out: list[DriverAssignment] = []
    for driver in range(1, needed + 1):
        if driver in forced:
            device = forced[driver]
        elif free:
            device = free.pop(0)
        else:
            raise NotEnoughDevices(
                f"the plan needs {needed} devices, found {len(devices)} ({', '.join(devices) or 'none'})"
            )
        out.append(DriverAssignment(driver=driver, device=device, package=packages.get(driver)))
    return out
