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


CRASHY_SEND_STEPS = """Feature: Send
  Scenario: Send
    Given the user opens the app
    And the user waits 2 seconds
    When the user taps "Send"
    Then the user sees "Sent" within 3 seconds
"""


def crashy_ticket(key: str, steps: str = CRASHY_SEND_STEPS) -> dict[str, Any]:
    """A ticket on the crashy test app (com.example.crashy), whose Send fails."""
    return ticket_yaml(
        key, summary="Crashy: Send says it was sent", description="Package: com.example.crashy", details=steps
    )


PTT_STEPS = """Given user1 opens the app
And user2 opens the app
When user1 sees "Talk" within 10 seconds
And user2 sees "Ready" within 10 seconds
Then while user1 holds "Talk" for 4 seconds, user2 sees "Alice is talking" within 3 seconds
And user2 does not see "Alice is talking" within 5 seconds"""
_PTT_CONTEXT = "Two users are in the same channel of the Talkie app (package {{com.example.ptt}})."


def _ptt(key: str, **extra: Any) -> dict[str, Any]:
    ticket = ticket_yaml(
        key, summary=f"{key}: the listener sees who is talking", description=f"h2. Context\n{_PTT_CONTEXT}"
    )
    ticket["custom_fields"] = {
        "customfield_10020": {"name": "Sprint", "value": None},
        "customfield_10016": {"name": "Story point estimate", "value": 3.0},
        "customfield_10104": {"name": "Platforms", "value": [{"value": "Android", "id": "10400"}]},
    }
    for name, value in extra.items():
        if name == "custom_fields":
            ticket["custom_fields"].update(value)
        else:
            ticket[name] = value
    return ticket


def ptt_where_teams_keep_steps() -> dict[str, tuple[dict[str, Any], str]]:
    """PTT-1's test, its steps where real instances keep them; each with the source the report must name."""
    gherkin = "Feature: Push-to-talk talker banner\n  Scenario: The listener sees the talker\n    " + PTT_STEPS.replace(
        "\n", "\n    "
    )
    adf_description = {
        "version": 1,
        "type": "doc",
        "content": [
            {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Context"}]},
            {
                "type": "paragraph",
                "content": [{"type": "text", "text": _PTT_CONTEXT.replace("{{", "").replace("}}", "")}],
            },
            {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Test steps"}]},
            {"type": "codeBlock", "attrs": {"language": "gherkin"}, "content": [{"type": "text", "text": gherkin}]},
            {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Notes"}]},
            {
                "type": "paragraph",
                "content": [{"type": "text", "text": "Seen on build 41.", "marks": [{"type": "em"}]}],
            },
        ],
    }
    return {
        "PTT-11": (
            _ptt("PTT-11", custom_fields={"customfield_10057": {"name": "Test Details", "value": gherkin}}),
            "Test Details (customfield_10057)",
        ),
        "PTT-12": (
            _ptt(
                "PTT-12",
                custom_fields={
                    "customfield_10200": {"name": "Cucumber Test Type", "value": {"value": "Scenario", "id": "10300"}},
                    "customfield_10201": {"name": "Cucumber Scenario", "value": PTT_STEPS},
                },
            ),
            "Cucumber Scenario (customfield_10201)",
        ),
        "PTT-13": (_ptt("PTT-13", description=adf_description), 'description, section "Test steps"'),
    }
