"""A small Jira Server (v2 REST) stand-in over the YAML tickets, enough for the real mcp-atlassian 0.23.1.

Endpoints (what mcp-atlassian calls in Server/DC mode):

* ``GET /rest/api/2/myself``
* ``GET /rest/api/2/serverInfo``
* ``GET /rest/api/2/issue/{key}`` (``fields``, ``expand=names``) - 404 for unknown keys
* ``GET|POST /rest/api/2/issue/{key}/comment`` - POST appends to the ticket file atomically
* ``GET|POST /rest/api/2/issue/{key}/transitions``
* ``GET /rest/api/2/field``
* ``GET|POST /rest/api/2/search`` (the embedded server's JQL subset)
* ``GET /browse/{key}``

Descriptions and comment bodies are served raw (Jira wiki markup), as a Jira Server does. Any bearer /
token / basic credentials are accepted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from qa_agent.jira_server import jql
from qa_agent.jira_server.models import Comment, Person, Ticket
from qa_agent.jira_server.store import IssueNotFound, StoredTicket, TicketStore
from qa_agent.jira_server.workflow import WORKFLOW_STATUSES, available_transitions

ME = Person(display_name="QA Agent", name="qa-agent", email="qa-agent@example.com")
STATUS_CATEGORIES = {
    "to do": ("To Do", "blue-gray", "new", 2),
    "in progress": ("In Progress", "yellow", "indeterminate", 4),
    "done": ("Done", "green", "done", 3),
}
STANDARD_ISSUE_TYPES = ("Bug", "Task", "Story", "Epic", "Test", "Sub-task")
STANDARD_PRIORITIES = ("Highest", "High", "Medium", "Low", "Lowest")
SYSTEM_FIELDS: list[tuple[str, str, str]] = [
    ("summary", "Summary", "string"),
    ("description", "Description", "string"),
    ("status", "Status", "status"),
    ("issuetype", "Issue Type", "issuetype"),
    ("priority", "Priority", "priority"),
    ("project", "Project", "project"),
    ("assignee", "Assignee", "user"),
    ("reporter", "Reporter", "user"),
    ("labels", "Labels", "array"),
    ("components", "Component/s", "array"),
    ("created", "Created", "datetime"),
    ("updated", "Updated", "datetime"),
    ("comment", "Comment", "comments-page"),
    ("attachment", "Attachment", "array"),
]
DEFAULT_SEARCH_FIELDS = ("summary", "status", "issuetype", "priority", "assignee", "reporter", "created", "updated")


def _user(person: Person | None, base: str) -> dict[str, Any] | None:
    if person is None:
        return None
    return {
        "self": f"{base}/rest/api/2/user?username={person.name}",
        "name": person.name,
        "key": person.name,
        "emailAddress": person.email,
        "displayName": person.display_name,
        "active": True,
        "timeZone": "UTC",
    }


def _status(name: str, base: str) -> dict[str, Any]:
    cat_name, colour, cat_key, cat_id = STATUS_CATEGORIES.get(name.lower(), STATUS_CATEGORIES["to do"])
    return {
        "self": f"{base}/rest/api/2/status/{name}",
        "name": name,
        "id": {"to do": "10000", "in progress": "3", "done": "10001"}.get(name.lower(), "1"),
        "statusCategory": {"id": cat_id, "key": cat_key, "colorName": colour, "name": cat_name},
    }


def _comment(comment: Comment, key: str, base: str) -> dict[str, Any]:
    return {
        "self": f"{base}/rest/api/2/issue/{key}/comment/{comment.id}",
        "id": comment.id,
        "author": _user(comment.author, base),
        "body": comment.body,
        "updateAuthor": _user(comment.author, base),
        "created": comment.created,
        "updated": comment.updated or comment.created,
    }


def _custom_fields(tickets: list[StoredTicket]) -> dict[str, str]:
    custom: dict[str, str] = {}
    for stored in tickets:
        for field_id, definition in stored.ticket.custom_fields.items():
            custom.setdefault(field_id, definition.name)
    return custom


def issue_json(stored: StoredTicket, base: str, fields_param: str | None, custom: dict[str, str]) -> dict[str, Any]:
    """A Jira Server ``GET /rest/api/2/issue/{key}`` body (``fields`` honoured, ``*all`` by default)."""
    t: Ticket = stored.ticket
    key = t.key
    everything: dict[str, Any] = {
        "summary": t.summary,
        "description": t.description or None,
        "status": _status(t.status, base),
        "issuetype": {"name": t.issue_type, "subtask": False, "id": "10001"},
        "priority": {"name": t.priority, "id": str(STANDARD_PRIORITIES.index(t.priority) + 1)}
        if t.priority in STANDARD_PRIORITIES
        else {"name": t.priority, "id": "3"},
        "project": {"key": t.project_key, "name": t.project_key, "id": "10000"},
        "assignee": _user(t.assignee, base),
        "reporter": _user(t.reporter, base),
        "labels": list(t.labels),
        "components": [{"name": c} for c in t.components],
        "created": t.created,
        "updated": t.updated,
        "comment": {
            "comments": [_comment(c, key, base) for c in t.comments],
            "maxResults": len(t.comments),
            "total": len(t.comments),
            "startAt": 0,
        },
        "attachment": [
            {
                "self": f"{base}/rest/api/2/attachment/{20000 + i}",
                "id": str(20000 + i),
                "filename": a.filename,
                "author": _user(a.author, base),
                "created": a.created,
                "size": a.size,
                "mimeType": a.content_type,
                "content": f"{base}/secure/attachment/{20000 + i}/{a.filename}",
                **(
                    {"thumbnail": f"{base}/secure/thumbnail/{20000 + i}/{a.filename}"}
                    if a.content_type.startswith("image/")
                    else {}
                ),
            }
            for i, a in enumerate(t.attachments)
        ],
    }
    for field_id in custom:
        cf = t.custom_fields.get(field_id)
        everything[field_id] = cf.value if cf is not None else None
    wanted = [f.strip() for f in (fields_param or "*all").split(",") if f.strip()]
    if not wanted or "*all" in wanted or "*navigable" in wanted:
        fields = everything
    else:
        fields = {}
        for name in wanted:
            if name.startswith("-"):
                continue
            if name in everything:
                fields[name] = everything[name]
    return {
        "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
        "id": stored.issue_id,
        "self": f"{base}/rest/api/2/issue/{stored.issue_id}",
        "key": key,
        "fields": fields,
    }


def build_app(tickets_dir: Path) -> Starlette:
    store = TicketStore(tickets_dir)

    def base_of(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    async def snapshot() -> list[StoredTicket]:
        return await anyio.to_thread.run_sync(store.snapshot)

    async def get_stored(key: str) -> StoredTicket:
        return await anyio.to_thread.run_sync(store.get, key)

    def not_found(key: str) -> JSONResponse:
        return JSONResponse({"errorMessages": ["Issue Does Not Exist"], "errors": {}}, status_code=404)

    async def myself(request: Request) -> JSONResponse:
        body = _user(ME, base_of(request)) or {}
        return JSONResponse({**body, "accountId": ME.name})

    async def server_info(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "baseUrl": base_of(request),
                "version": "9.12.0",
                "versionNumbers": [9, 12, 0],
                "deploymentType": "Server",
                "serverTitle": "qa-jira-rest",
            }
        )

    async def get_issue(request: Request) -> JSONResponse:
        key = request.path_params["key"]
        try:
            stored = await get_stored(key)
        except IssueNotFound:
            return not_found(key)
        everything = await snapshot()
        custom = _custom_fields(everything)
        body = issue_json(stored, base_of(request), request.query_params.get("fields"), custom)
        expand = request.query_params.get("expand", "")
        if "names" in expand.split(","):
            names = {f: n for f, n, _ in SYSTEM_FIELDS}
            names.update(custom)
            body["names"] = {k: v for k, v in names.items() if k in body["fields"]}
        return JSONResponse(body)

    async def comments(request: Request) -> JSONResponse:
        key = request.path_params["key"]
        base = base_of(request)
        if request.method == "POST":
            try:
                payload: Any = await request.json()
            except ValueError:
                payload = None
            if not isinstance(payload, dict) or not isinstance(payload.get("body"), str):
                return JSONResponse({"errorMessages": [], "errors": {"comment": "Comment body can not be empty!"}}, 400)
            try:
                created = await store.add_comment(key, payload["body"], ME)
            except IssueNotFound:
                return not_found(key)
            return JSONResponse(_comment(created, key, base), status_code=201)
        try:
            stored = await get_stored(key)
        except IssueNotFound:
            return not_found(key)
        items = [_comment(c, stored.ticket.key, base) for c in stored.ticket.comments]
        return JSONResponse({"startAt": 0, "maxResults": len(items), "total": len(items), "comments": items})

    async def transitions(request: Request) -> Response:
        key = request.path_params["key"]
        try:
            stored = await get_stored(key)
        except IssueNotFound:
            return not_found(key)
        base = base_of(request)
        offered = available_transitions(stored.ticket.status)
        if request.method == "GET":
            return JSONResponse(
                {
                    "expand": "transitions",
                    "transitions": [
                        {"id": str(t.id), "name": t.name, "to": _status(t.to_status, base)} for t in offered
                    ],
                }
            )
        try:
            payload: Any = await request.json()
        except ValueError:
            payload = None
        tid = str(((payload or {}).get("transition") or {}).get("id", "")) if isinstance(payload, dict) else ""
        chosen = next((t for t in offered if str(t.id) == tid), None)
        if chosen is None:
            return JSONResponse(
                {"errorMessages": [f"Transition id '{tid}' is not valid for this issue."], "errors": {}}, 400
            )
        await store.set_status(stored.ticket.key, chosen.to_status)
        for item in ((payload.get("update") or {}).get("comment") or []) if isinstance(payload, dict) else []:
            body = (item.get("add") or {}).get("body") if isinstance(item, dict) else None
            if isinstance(body, str) and body:
                await store.add_comment(stored.ticket.key, body, ME)
        return Response(status_code=204)

    async def fields(_request: Request) -> JSONResponse:
        everything = await snapshot()
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
        for fid, name in _custom_fields(everything).items():
            number = fid.removeprefix("customfield_")
            out.append(
                {
                    "id": fid,
                    "key": fid,
                    "name": name,
                    "custom": True,
                    "orderable": True,
                    "navigable": True,
                    "searchable": True,
                    "clauseNames": [f"cf[{number}]", name],
                    "schema": {
                        "type": "string",
                        "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textarea",
                        "customId": int(number),
                    },
                }
            )
        return JSONResponse(out)

    async def search(request: Request) -> JSONResponse:
        if request.method == "POST":
            try:
                payload: Any = await request.json()
            except ValueError:
                payload = {}
            payload = payload if isinstance(payload, dict) else {}
            query = str(payload.get("jql") or "")
            start = int(payload.get("startAt") or 0)
            limit = int(payload.get("maxResults") or 50)
            raw_fields = payload.get("fields")
            fields_param = ",".join(raw_fields) if isinstance(raw_fields, list) else raw_fields
        else:
            qp = request.query_params
            query = qp.get("jql", "")
            start = int(qp.get("startAt") or 0)
            limit = int(qp.get("maxResults") or 50)
            fields_param = qp.get("fields")
        everything = await snapshot()
        custom = _custom_fields(everything)
        catalog = jql.Catalog(
            custom_fields=custom,
            projects={s.ticket.project_key for s in everything},
            keys={s.ticket.key for s in everything},
            statuses={*WORKFLOW_STATUSES, *(s.ticket.status for s in everything)},
            issue_types={*STANDARD_ISSUE_TYPES, *(s.ticket.issue_type for s in everything)},
            priorities={*STANDARD_PRIORITIES, *(s.ticket.priority for s in everything)},
            current_user=ME.name,
        )
        try:
            found = jql.search(query, [s.ticket for s in everything], catalog)
        except jql.JQLError as exc:
            return JSONResponse({"errorMessages": [str(exc)], "errors": {}}, status_code=400)
        by_key = {s.ticket.key: s for s in everything}
        page = found[start : start + max(0, min(limit, 1000))]
        base = base_of(request)
        fields_param = fields_param or ",".join(DEFAULT_SEARCH_FIELDS)
        return JSONResponse(
            {
                "expand": "names,schema",
                "startAt": start,
                "maxResults": limit,
                "total": len(found),
                "issues": [issue_json(by_key[t.key], base, fields_param, custom) for t in page],
            }
        )

    async def browse(request: Request) -> JSONResponse:
        key = request.path_params["key"]
        try:
            stored = await get_stored(key)
        except IssueNotFound:
            return not_found(key)
        everything = await snapshot()
        return JSONResponse(issue_json(stored, base_of(request), None, _custom_fields(everything)))

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/rest/api/2/myself", myself, methods=["GET"]),
            Route("/rest/api/2/serverInfo", server_info, methods=["GET"]),
            Route("/rest/api/2/field", fields, methods=["GET"]),
            Route("/rest/api/2/search", search, methods=["GET", "POST"]),
            Route("/rest/api/2/issue/{key}", get_issue, methods=["GET"]),
            Route("/rest/api/2/issue/{key}/comment", comments, methods=["GET", "POST"]),
            Route("/rest/api/2/issue/{key}/transitions", transitions, methods=["GET", "POST"]),
            Route("/browse/{key}", browse, methods=["GET"]),
            Route("/healthz", health, methods=["GET"]),
        ]
    )
