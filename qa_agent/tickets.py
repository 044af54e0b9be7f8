"""Jira answers -> Ticket, and the offline TicketSummary (no LLM): fields, Gherkin, package."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from graph.state import Ticket, TicketSummary
from qa_agent.adf import adf_to_text, is_adf
from qa_agent.devices.results import strip_control, truncate
from qa_agent.planning.gherkin import GherkinError, compile_gherkin, looks_like_gherkin

TEST_DETAILS_FIELD = "customfield_11504"  # the reference setup's field; any id works by name or setting
# Names teams give the field holding test steps (Xray: "Cucumber Scenario", "Generic Test Definition").
_TEST_FIELD_NAME = re.compile(
    r"^(?:test[ _-]*(?:details|steps|scenarios?|script|case steps|definition)|cucumber scenario"
    r"|generic test definition|gherkin(?: scenario)?|scenario|manual test steps)$",
    re.IGNORECASE,
)
# Headings of a description section holding the steps ("h2. Test steps", "## Scenario", "**Steps:**").
_HEADING = re.compile(r"^\s*(?:#{1,6}\s+|h[1-6]\.\s*|\*\*?(?=.*\*\s*:?\s*$))(?P<title>.*?)[*:\s]*$")
_FENCE = re.compile(r"\s*(?:```\w*|\{(?:code|noformat)(?::[^}]*)?\})\s*")
_STEPS_TITLE = re.compile(
    r"^(?:test\s*(?:details|steps|scenarios?|script|case)|steps(?: to (?:test|reproduce))?|scenarios?|gherkin"
    r"|how to test|étapes(?: de test)?|scénarios?)$",
    re.IGNORECASE,
)
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
_NOT_TEST_FIELDS = {"key", "id", "summary", "description", "comments", "status", "url", "browse_url", "labels"}
_FRENCH = re.compile(
    r"\b(?:le|la|les|des|une|est|sur|pendant|doit|vérifier|appuyer|téléphone|résultat|attendu)\b", re.I
)


def _raw_text(value: Any) -> str:
    """Text of a field value: a string, an option or user object, a list, an ADF document."""
    if is_adf(value):
        return adf_to_text(value)
    if isinstance(value, dict):
        return _raw_text(value.get("value", value.get("name", value.get("displayName", ""))))
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


def _field_name(key: str, value: Any, names: dict[str, str]) -> str:
    if isinstance(value, dict) and isinstance(value.get("name"), str) and "value" in value:
        return value["name"]  # mcp-atlassian's {"value": ..., "name": ...} (expand=names)
    return names.get(key, "" if key.startswith("customfield_") else key)


def _describe_field(key: str, name: str) -> str:
    return f"{name} ({key})" if name and name != key else key


def _description_section(description: str) -> tuple[str, str] | None:
    """The text under a "Test steps"-like heading of the description, and the heading."""
    lines = description.splitlines()
    for index, line in enumerate(lines):
        heading = _HEADING.match(line)
        if not heading or not _STEPS_TITLE.match(heading.group("title").strip()):
            continue
        body: list[str] = []
        fenced = False
        for following in lines[index + 1 :]:
            if _FENCE.fullmatch(following):
                fenced = not fenced  # a Gherkin block fenced as code: its "# comment" lines are no headings
                continue
            if not fenced and _HEADING.match(following) and following.strip().strip("*:"):
                break
            body.append(following)
        text = "\n".join(body).strip("\n")
        if text.strip():
            return text, heading.group("title").strip()
    return None


def find_test_details(
    payload: dict[str, Any], description: str, *, field: str | None = None, names: dict[str, str] | None = None
) -> tuple[str, str]:
    """The test steps and where they came from, in this order: the configured field (id or name),
    a field named like a test field, `customfield_11504`, a "Test steps" section of the description."""
    names = names or {}
    candidates = [(k, v, _field_name(k, v, names)) for k, v in payload.items() if k not in _NOT_TEST_FIELDS]
    wanted = (field or "").strip().lower()

    def first(match: Callable[[str, str], bool]) -> tuple[str, str] | None:
        for key, value, name in candidates:
            if match(key, name) and (text := _text(value)).strip():
                return text, _describe_field(key, name)
        return None

    if wanted and (configured := first(lambda k, n: wanted in (k.lower(), n.lower()))):
        return configured
    found = first(lambda k, n: bool(_TEST_FIELD_NAME.match(n.strip()))) or first(lambda k, n: k == TEST_DETAILS_FIELD)
    if found is None and (section := _description_section(description)) is not None:
        found = section[0], f'description, section "{section[1]}"'
    if found is None:
        return "", ""
    if wanted:
        return found[0], f"{found[1]} (JIRA_TEST_DETAILS_FIELD {field!r} is missing or empty)"
    return found


def ticket_from_jira(
    payload: dict[str, Any], *, test_field: str | None = None, field_names: dict[str, str] | None = None
) -> Ticket:
    """Map mcp-atlassian's simplified issue JSON (ours or the real server's) to a Ticket.

    `test_field` is JIRA_TEST_DETAILS_FIELD (an id or a name); `field_names` maps field ids to
    names when the issue JSON does not carry them (from `jira_search_fields`).
    """
    description = _text(payload.get("description"))
    test_details, source = find_test_details(payload, description, field=test_field, names=field_names)
    return Ticket(
        key=str(payload.get("key", "")),
        summary=_text(payload.get("summary")),
        description=description,
        status=_text((payload.get("status") or {}).get("name") if isinstance(payload.get("status"), dict) else ""),
        issue_type=_text((payload.get("issue_type") or {}).get("name", "")),
        priority=_text((payload.get("priority") or {}).get("name", "")),
        labels=[str(x) for x in payload.get("labels") or []],
        components=[_text(c) for c in payload.get("components") or []],
        test_details=test_details,
        test_details_source=source,
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
    source = ticket.test_details_source if ticket.test_details else ("description" if details else "")
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
        test_details_source=source,
        objective=re.sub(r"^h\d\.\s*|^#+\s*", "", objective)[:500],
        platform="Android",
        inputs=inputs,
        expected_results=expected,
        package=find_package(ticket.test_details, ticket.description, ticket.summary),
        apps=apps,
        language=detect_language(f"{ticket.summary}\n{details}"),
        is_gherkin=is_gherkin,
    )
