"""Turn a ticket into mcp-atlassian's *simplified* issue dict (``jira_get_issue`` / ``jira_search``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any

from qa_agent.world.jira_server.models import Attachment, Comment, Person, Ticket, parse_jira_time
from qa_agent.world.jira_server.wiki import wiki_to_markdown

# mcp-atlassian's DEFAULT_READ_JIRA_FIELDS (the value of the ``fields`` parameter by default).
DEFAULT_FIELDS = frozenset(
    {
        "summary",
        "description",
        "status",
        "assignee",
        "reporter",
        "labels",
        "versions",
        "priority",
        "created",
        "updated",
        "issuetype",
    }
)

STATUS_CATEGORIES: dict[str, tuple[str, str]] = {
    "to do": ("To Do", "blue-gray"),
    "open": ("To Do", "blue-gray"),
    "backlog": ("To Do", "blue-gray"),
    "reopened": ("To Do", "blue-gray"),
    "in progress": ("In Progress", "yellow"),
    "in review": ("In Progress", "yellow"),
    "in test": ("In Progress", "yellow"),
    "done": ("Done", "green"),
    "closed": ("Done", "green"),
    "resolved": ("Done", "green"),
}

IMAGE_PREFIX = "image/"


@dataclass(frozen=True)
class FieldSelection:
    """Which parts of an issue the caller asked for (the ``fields`` parameter, parsed)."""

    all: bool
    names: frozenset[str]  # lower-cased standard names and custom field ids / display names
    is_default: bool

    @classmethod
    def parse(cls, fields: str | None) -> FieldSelection:
        if fields is None or not fields.strip():
            return cls(False, DEFAULT_FIELDS, True)
        names = frozenset(part.strip().lower() for part in fields.split(",") if part.strip())
        if "*all" in names:
            return cls(True, names, False)
        return cls(False, names, names == DEFAULT_FIELDS)

    def wants(self, name: str) -> bool:
        return self.all or name in self.names

    def wants_custom(self, field_id: str, display_name: str) -> bool:
        return (
            self.all
            or field_id.lower() in self.names
            or display_name.lower() in self.names
            or "cf_" + field_id.removeprefix("customfield_") in self.names
        )


def jira_time_to_simple(value: str) -> str:
    """``2026-11-20T09:00:00.000+0000`` -> ``2026-11-20 09:00:00 UTC`` (as mcp-atlassian prints it)."""
    return parse_jira_time(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def person_dict(person: Person) -> dict[str, Any]:
    return {
        "account_id": None,  # Jira Server/DC users have no accountId; mcp-atlassian still emits the key
        "display_name": person.display_name,
        "name": person.name,
        "email": person.email,
        "avatar_url": None,
        "key": person.name,
    }


def status_dict(status: str) -> dict[str, Any]:
    category, color = STATUS_CATEGORIES.get(status.lower(), ("To Do", "blue-gray"))
    return {"name": status, "category": category, "color": color}


def comment_dict(comment: Comment, *, markdown: bool) -> dict[str, Any]:
    return {
        "id": comment.id,
        "body": wiki_to_markdown(comment.body) if markdown else comment.body,
        "author": person_dict(comment.author),
        "created": comment.created,
        "updated": comment.updated or comment.created,
    }


def attachment_dict(attachment: Attachment, attachment_id: int, base_url: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "filename": attachment.filename,
        "size": attachment.size,
        "url": f"{base_url}/secure/attachment/{attachment_id}/{attachment.filename}",
        "content_type": attachment.content_type,
        "author": person_dict(attachment.author),
    }
    if attachment.content_type.startswith(IMAGE_PREFIX):
        out["thumbnail_url"] = f"{base_url}/secure/thumbnail/{attachment_id}/{attachment.filename}"
    out["created"] = attachment.created
    return out


def simplify_issue(
    ticket: Ticket,
    *,
    issue_id: str,
    base_url: str,
    selection: FieldSelection,
    markdown: bool,
    comment_limit: int | None,
    with_comments: bool,
    display_names: bool = False,
    names_expanded: bool = False,
    transitions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Build the simplified dict in mcp-atlassian's key order.

    ``markdown`` converts description and comment bodies from wiki markup (``jira_get_issue``);
    search results keep the raw wiki string, as the real server does on Jira Server/DC.
    """
    want = selection.wants
    out: dict[str, Any] = {"id": issue_id, "key": ticket.key}
    if want("summary"):
        out["summary"] = ticket.summary
    if selection.all or "url" in selection.names:
        out["url"] = f"{base_url}/rest/api/2/issue/{issue_id}"
    out["browse_url"] = f"{base_url}/browse/{ticket.key}"
    if want("description") and ticket.description:
        out["description"] = wiki_to_markdown(ticket.description_wiki) if markdown else ticket.description_wiki
    if want("status"):
        out["status"] = status_dict(ticket.status)
    if want("issuetype"):
        out["issue_type"] = {"name": ticket.issue_type}
    if want("priority"):
        out["priority"] = {"name": ticket.priority}
    if want("project"):
        out["project"] = {"key": ticket.project_key, "name": ticket.project_key}
    if selection.all or "worklog" in selection.names:  # Jira returns the (empty) worklog page with *all
        out["worklog"] = {"startAt": 0, "maxResults": 20, "total": 0, "worklogs": []}
    if want("assignee"):
        out["assignee"] = person_dict(ticket.assignee) if ticket.assignee else {"display_name": "Unassigned"}
    if want("reporter"):
        out["reporter"] = person_dict(ticket.reporter)
    if want("labels"):
        out["labels"] = list(ticket.labels)
    if want("components") or "component" in selection.names:
        out["components"] = list(ticket.components)
    if want("created"):
        out["created"] = jira_time_to_simple(ticket.created)
    if want("updated"):
        out["updated"] = jira_time_to_simple(ticket.updated)
    if with_comments and ticket.comments and comment_limit != 0:
        kept = ticket.comments if comment_limit is None else ticket.comments[-comment_limit:]
        out["comments"] = [comment_dict(c, markdown=markdown) for c in kept]
    if want("attachment") or "attachments" in selection.names:
        if ticket.attachments:
            first = 20000 + (int(issue_id) - 10000) * 100
            out["attachments"] = [attachment_dict(a, first + i, base_url) for i, a in enumerate(ticket.attachments)]
    for field_id, custom in ticket.custom_fields.items():
        if not selection.wants_custom(field_id, custom.name):
            continue
        entry: dict[str, Any] = {"value": custom.value}
        if display_names or names_expanded:
            entry["name"] = custom.name
        out[custom.name if display_names else field_id] = entry
    if transitions is not None:
        out["transitions"] = transitions
    return out
