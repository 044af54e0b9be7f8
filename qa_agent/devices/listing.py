"""List the devices of every host of the lab: one down host removes only its own devices."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from qa_agent.devices.calls import CallPolicy, SessionLost, call_tool, inject_arguments
from qa_agent.devices.discovery import DeviceInfo, parse_device_details, parse_device_ids
from qa_agent.devices.lab import qualify
from qa_agent.devices.owned import describe
from qa_agent.devices.pool import DevicePool
from qa_agent.devices.sessions import tool_schemas

LIST_TOOL = "mobile_list_available_devices"
DISCOVERY_TRIES = 4
log = logging.getLogger(__name__)


class HostDown(Exception):
    """A host (or every host) gave no device; the message says why."""


@dataclass
class Lab:
    devices: list[str]
    schemas: dict[str, dict[str, Any]]
    down: dict[str, str] = field(default_factory=dict)  # host -> why it gave no device
    details: dict[str, DeviceInfo] = field(default_factory=dict)  # what the hosts said of each device


async def list_host(
    pool: DevicePool, host: str, key: str, backoff_s: float = 0.5
) -> tuple[list[str], Any, dict[str, DeviceInfo]]:
    """The host's online device ids, tool schemas and device details; HostDown when it has none to offer."""
    transport = pool.transport_of(host)
    try:
        session = await pool.session(key, host=host)
        schemas = tool_schemas((await session.list_tools()).tools)
    except Exception as exc:
        await pool.drop(key)
        raise HostDown(f"device MCP server unreachable ({transport}): {describe(exc)}") from None
    if LIST_TOOL not in schemas:
        raise HostDown(f"the device server ({transport}) has no {LIST_TOOL} tool")
    policy = CallPolicy(timeout_s=30.0, attempts=2, backoff_base_s=backoff_s, allowed=frozenset({LIST_TOOL}))
    last = ""
    for attempt in range(1, DISCOVERY_TRIES + 1):
        try:
            args = inject_arguments(LIST_TOOL, {}, schemas[LIST_TOOL], None, None)
            outcome = await call_tool(session, LIST_TOOL, args, policy)
        except SessionLost as exc:
            raise HostDown(f"device server connection lost during discovery ({transport}): {exc}") from None
        last = outcome.text
        devices = parse_device_ids(outcome.text) if outcome.ok else []
        if devices:
            return devices, schemas, parse_device_details(outcome.text)
        await asyncio.sleep(0.5 * attempt)
    raise HostDown(f"no device connected ({transport}); the server said: {last.strip()[:300]}")


async def discover_lab(pool: DevicePool, backoff_s: float = 0.5) -> Lab:
    """Every device of every host, with lab-wide ids (qualified where two hosts share an id); the
    pool learns which host owns each. HostDown only when no host has a device."""
    names = pool.host_names()
    # The first host's listing session is driver 1's: a single-server run reuses it for its first lane.
    keys = ["driver-1"] + [f"list@{h}" for h in names[1:]]
    answers = await asyncio.gather(
        *(list_host(pool, h, k, backoff_s) for h, k in zip(names, keys, strict=True)), return_exceptions=True
    )
    listed: dict[str, list[str]] = {}
    down: dict[str, str] = {}
    schemas: dict[str, dict[str, Any]] = {}
    details: dict[str, dict[str, DeviceInfo]] = {}
    for host, answer in zip(names, answers, strict=True):
        if isinstance(answer, HostDown):
            down[host] = str(answer)
            log.warning("device lab: host left out, its devices are not used: %s", answer)
        elif isinstance(answer, BaseException):
            raise answer
        else:
            listed[host], found, details[host] = answer
            schemas = schemas or found
    if not listed:
        raise HostDown("; ".join(down.values()))
    routes = qualify(listed)
    pool.remember_routes(routes)
    pool.remember_schemas(schemas)
    described = {lab_id: details[host][own] for lab_id, (host, own) in routes.items() if own in details[host]}
    return Lab(devices=list(routes), schemas=schemas, down=down, details=described)
