"""The Gherkin phrasing corpus (tests/data/gherkin_corpus.yaml): each line compiled alone, as the
corpus test and `bench/gherkin_corpus.py` both read it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from qa_agent.planning.gherkin import GherkinError, compile_gherkin

CORPUS = Path(__file__).resolve().parent / "data" / "gherkin_corpus.yaml"
APPS = {"Talkie": "com.example.ptt"}
_HEADERS = {
    "en": "Feature: corpus\n  Background:\n    Given user1 is Alice\n    And user2 is Bob\n  Scenario: one line\n",
    "fr": "# language: fr\nFonctionnalité: corpus\n  Contexte:\n    Soit user1 est Alice\n    Et user2 est Bob\n"
    "  Scénario: une ligne\n",
}


def entries() -> list[dict[str, Any]]:
    return list(yaml.safe_load(CORPUS.read_text(encoding="utf-8"))["lines"])


def compile_line(entry: dict[str, Any]) -> tuple[str, list[list[Any]]]:
    """("offline", [[driver, action, args], ...]) or ("llm" | "unsupported" | "error", [])."""
    text = _HEADERS[entry.get("language", "en")] + f"    {entry['line']}\n"
    try:
        plan = compile_gherkin(text, apps=APPS)
    except GherkinError as exc:
        if exc.unmatched:
            return "llm", []
        return ("unsupported" if "not supported yet" in str(exc) else "error"), []
    return "offline", [[s.driver, s.action, s.args] for s in plan.steps]
