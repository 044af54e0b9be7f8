"""Scripted model answers shared by the LLM-path tests (and reusable by benchmarks)."""

from __future__ import annotations

from typing import Any


def jira_agent_rules(key: str, summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The agent reads the ticket with one tool call, stops, then gives the structured summary."""
    return [
        {
            "name": "agent asks for the issue",
            "kind": "tools",
            "contains": key,
            "tool_calls": [{"name": "jira_get_issue", "arguments": {"issue_key": key, "fields": "*all"}}],
        },
        {"name": "agent is done", "kind": "tools", "last_role": "tool", "content": "I have the ticket."},
        {"name": "summary", "kind": "structured", "schema_name": "SummaryDraft", "content": summary},
    ]


PTT4_SUMMARY: dict[str, Any] = {
    "title": "PTT - le correspondant doit voir qui parle pendant l'appui sur le bouton",
    "test_details": "1. Ouvrir l'appli sur les deux téléphones. 2. Sur le tél 1, maintenir Talk 4 secondes. ...",
    "objective": "Le tél 2 affiche qui parle pendant l'appui",
    "platform": "Android",
    "inputs": [],
    "expected_results": [
        "Pendant l'appui, le tél 2 affiche « Alice is talking »",
        "Après relâchement, le bandeau disparaît du tél 2 en moins de 5 secondes",
    ],
    "package": "com.example.ptt",
    "language": "fr",
}


def ptt_plan(target: str = "Talk") -> dict[str, Any]:
    return {
        "steps": [
            {"id": "S1", "driver": 1, "action": "launch_app", "args": {}},
            {"id": "S2", "driver": 2, "action": "launch_app", "args": {}, "barrier": True},
            {
                "id": "S3",
                "driver": 1,
                "action": "long_press_text",
                "args": {"target": target, "duration_s": 4},
            },
            {
                "id": "S4",
                "driver": 2,
                "action": "assert_visible",
                "args": {"text": "Alice is talking", "timeout_s": 3},
                "covers": [0],
                "barrier": True,
            },
            {
                "id": "S5",
                "driver": 2,
                "action": "assert_not_visible",
                "args": {"text": "Alice is talking", "timeout_s": 5},
                "covers": [1],
            },
        ],
        "notes": "hold on phone 1 while phone 2 checks the banner",
    }
