"""Tickets written by tests: the embedded Jira server serves a folder of them like the examples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def ticket_yaml(key: str, *, description: str = "", details: str | None = None, summary: str = "") -> dict[str, Any]:
    ticket: dict[str, Any] = {
        "key": key,
        "summary": summary or f"{key}: a ticket written for the tests",
        "issue_type": "Test",
        "status": "To Do",
        "reporter": {"display_name": "QA Bot", "name": "qa-bot"},
        "created": "2026-11-20T09:00:00.000+0000",
        "updated": "2026-11-20T09:00:00.000+0000",
        "description": description,
    }
    if details is not None:
        ticket["custom_fields"] = {"customfield_11504": {"name": "Test Details", "value": details}}
    return ticket


def write_tickets(folder: Path, *tickets: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for ticket in tickets:
        (folder / f"{ticket['key']}.yaml").write_text(yaml.safe_dump(ticket, allow_unicode=True, width=10**9))
    return folder
