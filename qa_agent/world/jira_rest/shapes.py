"""The JSON bodies of the REST stand-in, as Jira Server/DC (v2) or Jira Cloud (v2 and v3) shapes them.

Cloud differs where clients notice: users are accountId-only (no `name`, `key`, e-mail), v3 bodies
(description, comments, rich-text custom fields) are Atlassian Document Format, and an issue carries
the many system fields a real instance returns, most of them null.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from qa_agent.adf import adf_to_wiki, is_adf, wiki_to_adf
from qa_agent.world.jira_server.models import Comment, Person, Ticket
from qa_agent.world.jira_server.store import StoredTicket

Flavor = Literal["server", "cloud"]
STATUS_CATEGORIES = {
    "to do": ("To Do", "blue-gray", "new", 2),
    "in progress": ("In Progress", "yellow", "indeterminate", 4),
    "done": ("Done", "green", "done", 3),
}
STANDARD_PRIORITIES = ("Highest", "High", "Medium", "Low", "Lowest")
SYSTEM_FIELDS: list[tuple[str, str, str]] = [
    ("summary", "Summary", "string"),
    ("description", "Description", "string"),
    ("environment", "Environment", "string"),
    ("status", "Status", "status"),
    ("resolution", "Resolution", "resolution"),
    ("resolutiondate", "Resolved", "datetime"),
    ("issuetype", "Issue Type", "issuetype"),
    ("priority", "Priority", "priority"),
    ("project", "Project", "project"),
    ("assignee", "Assignee", "user"),
    ("reporter", "Reporter", "user"),
    ("creator", "Creator", "user"),
    ("labels", "Labels", "array"),
    ("components", "Component/s", "array"),
    ("versions", "Affects versions", "array"),
    ("fixVersions", "Fix versions", "array"),
    ("duedate", "Due date", "date"),
    ("created", "Created", "datetime"),
    ("updated", "Updated", "datetime"),
    ("lastViewed", "Last Viewed", "datetime"),
    ("watches", "Watchers", "watches"),
    ("votes", "Votes", "votes"),
    ("issuelinks", "Linked Issues", "array"),
    ("subtasks", "Sub-tasks", "array"),
    ("security", "Security Level", "securitylevel"),
    ("timetracking", "Time tracking", "timetracking"),
    ("timeoriginalestimate", "Original estimate", "number"),
    ("timeestimate", "Remaining Estimate", "number"),
    ("timespent", "Time Spent", "number"),
    ("aggregatetimespent", "Σ Time Spent", "number"),
    ("progress", "Progress", "progress"),
    ("aggregateprogress", "Σ Progress", "progress"),
    ("workratio", "Work Ratio", "number"),
    ("worklog", "Log Work", "array"),
    ("comment", "Comment", "comments-page"),
    ("attachment", "Attachment", "array"),
]
# Custom fields every instance of the flavor has (Cloud: the software-project defaults), empty here.
_BUILTIN_CUSTOM: dict[Flavor, list[tuple[str, str, str, str]]] = {
    "server": [],  # a plain Server/DC instance without Jira Software
    "cloud": [
        ("customfield_10000", "Development", "any", "com.atlassian.jira.plugins.jira-development-integration-plugin:"
         "devsummarycf"),
        ("customfield_10014", "Epic Link", "any", "com.pyxis.greenhopper.jira:gh-epic-link"),
        ("customfield_10015", "Start date", "date", "com.atlassian.jira.plugin.system.customfieldtypes:datepicker"),
        ("customfield_10016", "Story point estimate", "number", "com.pyxis.greenhopper.jira:jsw-story-points"),
        ("customfield_10019", "Rank", "any", "com.pyxis.greenhopper.jira:gh-lexo-rank"),
        ("customfield_10020", "Sprint", "array", "com.pyxis.greenhopper.jira:gh-sprint"),
        ("customfield_10021", "Flagged", "array", "com.atlassian.jira.plugin.system.customfieldtypes:multicheckboxes"),
    ],
}  # fmt: skip
_BUILTIN_VALUES: dict[str, Any] = {"customfield_10000": "{}", "customfield_10019": "0|i0000f:"}


@dataclass(frozen=True)
class CustomFieldDef:
    id: str
    name: str
    type: str  # schema.type: string, number, option, array, any, date
    custom: str  # schema.custom
    items: str | None = None

    @property
    def rich_text(self) -> bool:
        return self.custom.endswith(":textarea")


def _kind_of(value: Any) -> tuple[str, str, str | None]:
    """Schema of a ticket's custom field from its value (the YAML has no field types)."""
    prefix = "com.atlassian.jira.plugin.system.customfieldtypes:"
    if isinstance(value, bool) or value is None or isinstance(value, str) or is_adf(value):
        return "string", prefix + "textarea", None
    if isinstance(value, int | float):
        return "number", prefix + "float", None
    if isinstance(value, dict):
        return "option", prefix + "select", None
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return "array", prefix + "multiselect", "option"
    if isinstance(value, list):
        return "array", prefix + "labels", "string"
    return "any", prefix + "textfield", None


def custom_fields(tickets: list[StoredTicket], flavor: Flavor) -> dict[str, CustomFieldDef]:
    """Every custom field of the instance: the flavor's built-in ones and those the tickets use."""
    out = {fid: CustomFieldDef(fid, name, kind, custom) for fid, name, kind, custom in _BUILTIN_CUSTOM[flavor]}
    for stored in tickets:
        for fid, field in stored.ticket.custom_fields.items():
            if fid not in out or (out[fid].name != field.name and field.value is not None):
                out[fid] = CustomFieldDef(fid, field.name, *_kind_of(field.value))
    return out


def account_id(person: Person) -> str:
    return "557058:" + hashlib.sha256(person.name.encode()).hexdigest()[:32]


def user(person: Person | None, base: str, flavor: Flavor, version: int = 2) -> dict[str, Any] | None:
    if person is None:
        return None
    avatars = {size: f"{base}/secure/useravatar?size={size}&ownerId={person.name}" for size in ("48x48", "24x24")}
    if flavor == "cloud":  # GDPR mode: no username, no key, e-mail usually hidden
        aid = account_id(person)
        return {
            "self": f"{base}/rest/api/{version}/user?accountId={aid}",
            "accountId": aid,
            "avatarUrls": avatars,
            "displayName": person.display_name,
            "active": True,
            "timeZone": "Etc/UTC",
            "accountType": "atlassian",
        }
    return {
        "self": f"{base}/rest/api/2/user?username={person.name}",
        "name": person.name,
        "key": person.name,
        "emailAddress": person.email,
        "displayName": person.display_name,
        "active": True,
        "timeZone": "UTC",
    }


def status(name: str, base: str, version: int = 2) -> dict[str, Any]:
    cat_name, colour, cat_key, cat_id = STATUS_CATEGORIES.get(name.lower(), STATUS_CATEGORIES["to do"])
    return {
        "self": f"{base}/rest/api/{version}/status/{name}",
        "description": "",
        "name": name,
        "id": {"to do": "10000", "in progress": "3", "done": "10001"}.get(name.lower(), "1"),
        "statusCategory": {"id": cat_id, "key": cat_key, "colorName": colour, "name": cat_name},
    }


def rich(text: str | dict[str, Any] | None, version: int) -> Any:
    """A rich-text value as the API version serves it: v2 wiki markup, v3 ADF."""
    if text is None or text == "":
        return None
    if version >= 3:
        return text if isinstance(text, dict) else wiki_to_adf(text)
    return adf_to_wiki(text) if isinstance(text, dict) else text


def comment(c: Comment, key: str, base: str, flavor: Flavor, version: int) -> dict[str, Any]:
    out = {
        "self": f"{base}/rest/api/{version}/issue/{key}/comment/{c.id}",
        "id": c.id,
        "author": user(c.author, base, flavor, version),
        "body": rich(c.body, version) or "",
        "updateAuthor": user(c.author, base, flavor, version),
        "created": c.created,
        "updated": c.updated or c.created,
    }
    if flavor == "cloud":
        out["jsdPublic"] = True
    return out


def comments_page(
    t: Ticket, base: str, flavor: Flavor, version: int, start: int = 0, limit: int | None = None
) -> dict[str, Any]:
    limit = limit if limit is not None else (100 if flavor == "cloud" else 5000)
    page = t.comments[start : start + max(0, limit)]
    return {
        "comments": [comment(c, t.key, base, flavor, version) for c in page],
        "maxResults": limit,
        "total": len(t.comments),
        "startAt": start,
    }


def attachment(index: int, a: Any, base: str, flavor: Flavor, version: int) -> dict[str, Any]:
    aid = str(20000 + index)
    out = {
        "self": f"{base}/rest/api/{version}/attachment/{aid}",
        "id": aid,
        "filename": a.filename,
        "author": user(a.author, base, flavor, version),
        "created": a.created,
        "size": a.size,
        "mimeType": a.content_type,
        "content": f"{base}/rest/api/3/attachment/content/{aid}"
        if flavor == "cloud"
        else f"{base}/secure/attachment/{aid}/{a.filename}",
    }
    if a.content_type.startswith("image/"):
        out["thumbnail"] = (
            f"{base}/rest/api/3/attachment/thumbnail/{aid}"
            if flavor == "cloud"
            else f"{base}/secure/thumbnail/{aid}/{a.filename}"
        )
    return out


def issue_json(
    stored: StoredTicket,
    base: str,
    fields_param: str | None,
    custom: dict[str, CustomFieldDef],
    *,
    flavor: Flavor = "server",
    version: int = 2,
) -> dict[str, Any]:
    """``GET /rest/api/{version}/issue/{key}`` (``fields`` honoured, ``*all`` by default)."""
    t = stored.ticket
    priority_id = str(STANDARD_PRIORITIES.index(t.priority) + 1) if t.priority in STANDARD_PRIORITIES else "3"
    watches = {"self": f"{base}/rest/api/{version}/issue/{t.key}/watchers", "watchCount": 1, "isWatching": True}
    everything: dict[str, Any] = {
        "summary": t.summary,
        "description": rich(t.description, version),
        "environment": None,
        "status": status(t.status, base, version),
        "resolution": None,
        "resolutiondate": None,
        "issuetype": {"self": f"{base}/rest/api/{version}/issuetype/10001", "id": "10001", "name": t.issue_type,
                      "subtask": False, "hierarchyLevel": 0} | ({"entityId": "b1e2"} if flavor == "cloud" else {}),
        "priority": {"self": f"{base}/rest/api/{version}/priority/{priority_id}", "name": t.priority,
                     "id": priority_id},
        "project": {"self": f"{base}/rest/api/{version}/project/10000", "id": "10000", "key": t.project_key,
                    "name": t.project_key, "projectTypeKey": "software"}
        | ({"simplified": False} if flavor == "cloud" else {}),
        "assignee": user(t.assignee, base, flavor, version),
        "reporter": user(t.reporter, base, flavor, version),
        "creator": user(t.reporter, base, flavor, version),
        "labels": list(t.labels),
        "components": [{"self": f"{base}/rest/api/{version}/component/{10500 + i}", "id": str(10500 + i), "name": c}
                       for i, c in enumerate(t.components)],
        "versions": [],
        "fixVersions": [],
        "duedate": None,
        "created": t.created,
        "updated": t.updated,
        "lastViewed": None,
        "watches": watches,
        "votes": {"self": f"{base}/rest/api/{version}/issue/{t.key}/votes", "votes": 0, "hasVoted": False},
        "issuelinks": [],
        "subtasks": [],
        "security": None,
        "timetracking": {},
        "timeoriginalestimate": None,
        "timeestimate": None,
        "timespent": None,
        "aggregatetimespent": None,
        "progress": {"progress": 0, "total": 0},
        "aggregateprogress": {"progress": 0, "total": 0},
        "workratio": -1,
        "worklog": {"startAt": 0, "maxResults": 20, "total": 0, "worklogs": []},
        "comment": comments_page(t, base, flavor, version)
        | {"self": f"{base}/rest/api/{version}/issue/{t.key}/comment"},
        "attachment": [attachment(i, a, base, flavor, version) for i, a in enumerate(t.attachments)],
    }  # fmt: skip
    if flavor == "cloud":
        everything["statuscategorychangedate"] = t.updated
    for fid, definition in custom.items():
        cf = t.custom_fields.get(fid)
        value = cf.value if cf is not None else _BUILTIN_VALUES.get(fid)
        everything[fid] = rich(value, version) if definition.rich_text and isinstance(value, str | dict) else value
    wanted = [f.strip() for f in (fields_param or "*all").split(",") if f.strip()]
    if not wanted or "*all" in wanted or "*navigable" in wanted:
        fields = everything
    else:
        fields = {name: everything[name] for name in wanted if not name.startswith("-") and name in everything}
    return {
        "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
        "id": stored.issue_id,
        "self": f"{base}/rest/api/{version}/issue/{stored.issue_id}",
        "key": t.key,
        "fields": fields,
    }


def field_list(custom: dict[str, CustomFieldDef]) -> list[dict[str, Any]]:
    """``GET /rest/api/{2,3}/field``."""
    out: list[dict[str, Any]] = [
        {
            "id": fid,
            "key": fid,
            "name": name,
            "custom": False,
            "orderable": True,
            "navigable": True,
            "searchable": True,
            "clauseNames": [fid],
            "schema": {"type": kind, "system": fid},
        }
        for fid, name, kind in SYSTEM_FIELDS
    ]
    for fid, definition in custom.items():
        number = fid.removeprefix("customfield_")
        schema: dict[str, Any] = {"type": definition.type, "custom": definition.custom, "customId": int(number)}
        if definition.items:
            schema["items"] = definition.items
        out.append(
            {
                "id": fid,
                "key": fid,
                "name": definition.name,
                "untranslatedName": definition.name,
                "custom": True,
                "orderable": True,
                "navigable": True,
                "searchable": True,
                "clauseNames": [f"cf[{number}]", definition.name],
                "schema": schema,
            }
        )
    return out


def names_of(custom: dict[str, CustomFieldDef]) -> dict[str, str]:
    return {**{f: n for f, n, _ in SYSTEM_FIELDS}, **{f: d.name for f, d in custom.items()}}
