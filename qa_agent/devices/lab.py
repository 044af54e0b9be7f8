"""The device lab: which device servers (hosts) a run may use, and which host owns a device.

One server is the default (MOBILE_MCP_COMMAND, MOBILE_MCP_URL, else the embedded simulator).
A lab has several: MOBILE_MCP_URLS (comma list, hosts named host1, host2, ...) or QA_LAB_FILE:

    hosts:
      - name: rack-a
        url: http://10.0.0.5:8000/mcp          # or command: npx, args: [...] (stdio)
        accounts: {emulator-5554: alice}       # device id on this host -> account signed in
        labels: [android-15]                   # labels of every device of the host
        device_labels: {emulator-5556: [tablet]}

A device id two hosts both list is qualified with its host (`rack-a/emulator-5554`); tool calls
still send the host's own id. The lab file is the deployment's own configuration (a path from the
environment), and is still validated: a bad file is a ConfigError naming the problem.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from graph.context import ConfigError, Context
from graph.state import Ticket

HOST_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
_URL = re.compile(r"^https?://[^\s]+$")
_LABEL_TAG = re.compile(r"@device[:=]\s*(?P<name>[\w.:-]{1,100})")
DEVICE_LABEL = "qa-device:"


class DeviceHost(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=HOST_NAME)
    url: str | None = None
    command: str | None = None
    args: list[str] = Field(default_factory=list)
    accounts: dict[str, str] = Field(default_factory=dict)
    labels: list[str] = Field(default_factory=list)
    device_labels: dict[str, list[str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_transport(self) -> DeviceHost:
        if bool(self.url) == bool(self.command):
            raise ValueError(f"host {self.name}: give exactly one of url (streamable HTTP) or command (stdio)")
        if self.url and not _URL.match(self.url):
            raise ValueError(f"host {self.name}: url must be http(s)://..., got {self.url!r}")
        return self

    @property
    def transport(self) -> str:
        if self.command:
            return f"{self.name}: stdio: {self.command} {' '.join(self.args)}".strip()
        return f"{self.name}: streamable-http: {self.url}"


class LabFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hosts: list[DeviceHost] = Field(min_length=1, max_length=256)

    @model_validator(mode="after")
    def _unique_names(self) -> LabFile:
        twice = sorted(n for n, c in Counter(h.name for h in self.hosts).items() if c > 1)
        if twice:
            raise ValueError(f"host names must be unique: {', '.join(twice)}")
        return self


def load_lab_file(path: Path) -> list[DeviceHost]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"QA_LAB_FILE {path}: cannot read it ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"QA_LAB_FILE {path}: not valid YAML ({exc})") from None
    try:
        return LabFile.model_validate(raw).hosts
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"QA_LAB_FILE {path}: {problems}") from None


def lab_hosts(ctx: Context) -> list[DeviceHost] | None:
    """The configured hosts of a lab, or None for the single default server."""
    if ctx.lab_file is not None:
        return load_lab_file(ctx.lab_file)
    if ctx.mobile_mcp_urls:
        try:
            return [DeviceHost(name=f"host{i}", url=u) for i, u in enumerate(ctx.mobile_mcp_urls, start=1)]
        except ValidationError as exc:
            raise ConfigError(f"MOBILE_MCP_URLS: {exc.errors()[0]['msg']}") from None
    return None


def qualify(listed: dict[str, list[str]]) -> dict[str, tuple[str, str]]:
    """Lab-wide device id -> (host, the host's own id), in host order; ids two hosts list get `host/`."""
    seen = Counter(d for devices in listed.values() for d in set(devices))
    out: dict[str, tuple[str, str]] = {}
    for host, devices in listed.items():
        for device in devices:
            out[f"{host}/{device}" if seen[device] > 1 else device] = (host, device)
    return out


def wanted_labels(ticket: Ticket | None, test_details: str) -> frozenset[str]:
    """Labels every device of the run must carry: ticket label `qa-device:NAME` or `@device:NAME`."""
    names = {m.group("name") for m in _LABEL_TAG.finditer(test_details)}
    if ticket is not None:
        names |= {label[len(DEVICE_LABEL) :] for label in ticket.labels if label.startswith(DEVICE_LABEL)}
    return frozenset(n.casefold() for n in names if n)


def with_labels(devices: list[str], labels: dict[str, list[str]], wanted: frozenset[str]) -> list[str]:
    return [d for d in devices if wanted <= {x.casefold() for x in labels.get(d, [])}]
