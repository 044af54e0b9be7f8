"""What two batch runs must not use at the same time, besides devices.

Runs on one device world see each other's app state: two runs of the same package on disjoint
phones of the embedded simulator share its channel, so one run could pass on the other's banner.
A batch (one device server = one world) therefore holds, with the devices of each run, the
keys this module derives, and a run waits until no other run holds one of its keys:

- `package` (QA_BATCH_ISOLATION default): every package the plan uses, plus declared resources;
- `resource`: only resources the ticket declares (label `qa-resource:NAME` or `@resource:NAME`
  in its test details, e.g. a shared test account or backend);
- `none`: devices only.
"""

from __future__ import annotations

import re

from graph.state import Plan, Ticket
from qa_agent.planning.validate import launched_package

_RESOURCE_TAG = re.compile(r"@resource[:=]\s*(?P<name>[\w.:/-]{1,100})")
RESOURCE_LABEL = "qa-resource:"


def declared_resources(ticket: Ticket | None, test_details: str) -> set[str]:
    names = {m.group("name") for m in _RESOURCE_TAG.finditer(test_details)}
    if ticket is not None:
        names |= {label[len(RESOURCE_LABEL) :] for label in ticket.labels if label.startswith(RESOURCE_LABEL)}
    return {n for n in names if n}


def isolation_keys(mode: str, plan: Plan, ticket: Ticket | None, test_details: str) -> frozenset[str]:
    if mode == "none":
        return frozenset()
    keys = {f"resource:{name}" for name in declared_resources(ticket, test_details)}
    if mode == "package":
        packages = set(plan.packages.values())
        packages |= {p for p in map(launched_package, plan.steps) if p}  # also through a raw `tool` step
        keys |= {f"package:{p}" for p in packages}
    return frozenset(keys)
