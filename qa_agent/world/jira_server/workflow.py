"""The fixed workflow of the embedded server: To Do -> In Progress -> Done (and back)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Transition:
    id: int
    name: str
    to_status: str
    from_statuses: frozenset[str]  # lower-case; empty = from any status not listed elsewhere


TRANSITIONS: tuple[Transition, ...] = (
    Transition(11, "Start Progress", "In Progress", frozenset({"to do"})),
    Transition(21, "Done", "Done", frozenset({"to do", "in progress"})),
    Transition(31, "Stop Progress", "To Do", frozenset({"in progress"})),
    Transition(41, "Reopen", "To Do", frozenset({"done"})),
)

WORKFLOW_STATUSES = ("To Do", "In Progress", "Done")


def available_transitions(status: str) -> list[Transition]:
    """Transitions offered from ``status``; a status outside the workflow behaves like To Do."""
    current = status.lower()
    if current not in {s.lower() for s in WORKFLOW_STATUSES}:
        current = "to do"
    return [t for t in TRANSITIONS if current in t.from_statuses]
