"""Jira answers -> Ticket, and the offline TicketSummary (no LLM): fields, Gherkin, package."""

from __future__ import annotations

import json
import re
from typing import Any

from graph.state import Ticket, TicketSummary
from qa_agent.devices.results import strip_control, truncate
from qa_agent.planning.gherkin import GherkinError, compile_gherkin, looks_like_gherkin

TEST_DETAILS_FIELD = "customfield_11504"
_TEST_FIELD_NAMES = ("test details", "cucumber scenario", "generic test definition", "test steps")
_PACKAGE_TAG = re.compile(r"@(?:package|app)[:=]\s*(?P<pkg>[A-Za-z][\w]*(?:\.[\w]+)+)")
_PACKAGE_TEXT = re.compile(
    r"\b(?:package(?:\s*name)?|packageName|app\s*id|application\s*id)\b\W{0,6}(?P<pkg>[a-z][\w]*(?:\.[\w]+)+)",
    re.IGNORECASE,
)
_APP_NAME = re.compile(
    r"\b(?P<name>[A-Z][\w-]{1,40})\*?(?:\s{1,3}app)?\s{0,3}\((?:package\s)?\{{0,2}(?P<pkg>[a-z]\w{0,60}(?:\.\w{1,60}){1,8})\}{0,2}\)"
)
# Bounds on what a ticket may put in the run's state, checkpoints and reports (a 10 MB description
# must not become 10 MB in every checkpoint); a marker says what was cut.
MAX_FIELD_CHARS = 50_000
MAX_FIELD_LINES = 2_000
MAX_RAW_CHARS = 200_000
_FRENCH = re.compile(
    r"\b(?:le|la|les|des|une|est|sur|pendant|doit|vérifier|appuyer|téléphone|résultat|attendu)\b", re.I
)


def _raw_text(value: Any) -> str:
    if isinstance(value, dict):
        return _raw_text(value.get("value", value.get("name", "")))
    if isinstance(value, list):
        return "\n".join(_raw_text(v) for v in value)
    return "" if value is None else str(value)


def _text(value: Any) -> str:
    """A field's text without control characters, bounded (ticket text is untrusted input)."""
    return truncate(strip_control(_raw_text(value)), MAX_FIELD_CHARS, MAX_FIELD_LINES)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return strip_control(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _bounded_raw(payload: dict[str, Any]) -> dict[str, Any]:
    """The server's JSON for the report, unless it is huge (then only its size is kept)."""
    size = len(json.dumps(payload, ensure_ascii=False, default=str))
    if size > MAX_RAW_CHARS:
        return {"key": _clean(payload.get("key", "")), "omitted": f"{size} characters"}
    cleaned: dict[str, Any] = _clean(payload)
    return cleaned


def ticket_from_jira(payload: dict[str, Any]) -> Ticket:
    """Map mcp-atlassian's simplified issue JSON (ours or the real server's) to a Ticket."""
    test_details = ""
    for key, value in payload.items():
        if not key.startswith("customfield_") and key.lower() not in _TEST_FIELD_NAMES:
            continue
        name = str(value.get("name", "")).lower() if isinstance(value, dict) else key.lower()
        if key == TEST_DETAILS_FIELD or name in _TEST_FIELD_NAMES:
            test_details = _text(value)
            if test_details:
                break
    return Ticket(
        key=str(payload.get("key", "")),
        summary=_text(payload.get("summary")),
        description=_text(payload.get("description")),
        status=_text((payload.get("status") or {}).get("name") if isinstance(payload.get("status"), dict) else ""),
        issue_type=_text((payload.get("issue_type") or {}).get("name", "")),
        priority=_text((payload.get("priority") or {}).get("name", "")),
        labels=[str(x) for x in payload.get("labels") or []],
        components=[_text(c) for c in payload.get("components") or []],
        test_details=test_details,
        comments=[_text(c.get("body")) for c in (payload.get("comments") or [])[:50] if isinstance(c, dict)],
        raw=_bounded_raw(payload),
    )


def parse_issue_text(text: str) -> dict[str, Any]:
    payload = json.loads(text)
    if isinstance(payload, dict) and isinstance(payload.get("result"), str):
        payload = json.loads(payload["result"])
    if not isinstance(payload, dict):
        raise ValueError("the Jira server answered something other than an issue object")
    return payload


def find_package(*texts: str) -> str | None:
    for pattern in (_PACKAGE_TAG, _PACKAGE_TEXT):
        for text in texts:
            match = pattern.search(text or "")
            if match:
                return match.group("pkg").rstrip(".")
    return None


def find_app_names(*texts: str) -> dict[str, str]:
    """`the *Talkie* app (package {{com.example.ptt}})`, `Teamcall ({{com.example.call}})` -> name: package."""
    return {m.group("name"): m.group("pkg") for text in texts for m in _APP_NAME.finditer(text or "")}


def detect_language(text: str) -> str:
    return "fr" if len(_FRENCH.findall(text)) >= 3 else "en"


def offline_summary(ticket: Ticket) -> TicketSummary:
    details = ticket.test_details or ticket.description
    is_gherkin = looks_like_gherkin(details)
    expected: list[str] = []
    inputs: list[str] = []
    apps = find_app_names(ticket.test_details, ticket.description, ticket.summary)
    if is_gherkin:
        try:
            plan = compile_gherkin(details, apps=apps)
            expected = plan.verifications
            inputs = [str(s.args["text"]) for s in plan.steps if s.action in ("type_into", "type_text")]
        except GherkinError:
            pass
    objective = next((p.strip() for p in re.split(r"\n\s*\n", ticket.description) if p.strip()), ticket.summary)
    return TicketSummary(
        key=ticket.key,
        title=ticket.summary,
        test_details=details,
        objective=re.sub(r"^h\d\.\s*|^#+\s*", "", objective)[:500],
        platform="Android",
        inputs=inputs,
        expected_results=expected,
        package=find_package(ticket.test_details, ticket.description, ticket.summary),
        apps=apps,
        language=detect_language(f"{ticket.summary}\n{details}"),
        is_gherkin=is_gherkin,
    )
