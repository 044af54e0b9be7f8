"""A small Jira REST stand-in over the YAML tickets, enough for the real mcp-atlassian 0.23.1, as a
Jira Server/DC (``flavor="server"``: API v2) or a Jira Cloud site (``flavor="cloud"``: v2 and v3).

Endpoints (``{v}`` is 2, or 2 and 3 on Cloud):

* ``GET /rest/api/{v}/myself``, ``GET /rest/api/{v}/serverInfo``, ``GET /rest/api/{v}/field``
* ``GET|PUT /rest/api/{v}/issue/{key}`` (``fields``, ``expand=names,schema``; PUT sets labels) - 404 for unknown keys
* ``GET|POST /rest/api/{v}/issue/{key}/comment`` (``startAt``/``maxResults`` paging) - POST appends to the ticket
  file atomically; a v3 (ADF) body that Jira Cloud would refuse gets Cloud's 400
* ``GET|POST /rest/api/{v}/issue/{key}/transitions``, ``POST /rest/api/{v}/issue/{key}/attachments`` (metadata kept)
* Server: ``GET|POST /rest/api/2/search`` (``startAt``, ``total``); Cloud: ``GET|POST /rest/api/{v}/search/jql``
  (``nextPageToken``, no ``total``) and 410 for the removed ``/search``
* ``GET /browse/{key}``

v2 bodies are wiki markup, v3 bodies ADF. Any bearer / token / basic credentials are accepted. A request
may name the site in absolute form (``GET http://acme.atlassian.net/rest/...``), so a client configured
with a Cloud hostname can reach the stand-in as its HTTP proxy.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from qa_agent.adf import adf_errors, adf_to_wiki
from qa_agent.world.jira_rest import shapes
from qa_agent.world.jira_rest.shapes import Flavor
from qa_agent.world.jira_server import jql
from qa_agent.world.jira_server.models import Person
from qa_agent.world.jira_server.store import IssueNotFound, StoredTicket, TicketStore
from qa_agent.world.jira_server.workflow import WORKFLOW_STATUSES, available_transitions

ME = Person(display_name="QA Agent", name="qa-agent", email="qa-agent@example.com")
STANDARD_ISSUE_TYPES = ("Bug", "Task", "Story", "Epic", "Test", "Sub-task")
DEFAULT_SEARCH_FIELDS = ("summary", "status", "issuetype", "priority", "assignee", "reporter", "created", "updated")


class _AbsoluteTarget:
    """``GET http://host/path`` (a proxied request) is routed like ``GET /path``, as the named host."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(("http://", "https://")):
            parts = urlsplit(scope["path"])
            host = (parts.netloc or "").encode()
            headers = [(k, v) for k, v in scope["headers"] if k != b"host"] + [(b"host", host)]
            scope = {**scope, "path": parts.path or "/", "raw_path": (parts.path or "/").encode(), "headers": headers}
        await self.app(scope, receive, send)


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode().rstrip("=")


def _offset_of(token: str | None) -> int | None:
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return max(0, int(data["offset"]))
    except (ValueError, KeyError, TypeError):
        return None


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def build_app(tickets_dir: Path, flavor: Flavor = "server") -> ASGIApp:
    store = TicketStore(tickets_dir)
    cloud = flavor == "cloud"

    def base_of(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def version_of(request: Request) -> int:
        return int(request.path_params.get("v", "2"))

    async def snapshot() -> list[StoredTicket]:
        return await anyio.to_thread.run_sync(store.snapshot)

    async def get_stored(key: str) -> StoredTicket:
        return await anyio.to_thread.run_sync(store.get, key)

    async def custom() -> dict[str, shapes.CustomFieldDef]:
        return shapes.custom_fields(await snapshot(), flavor)

    def error(status_code: int, *messages: str, **errors: str) -> JSONResponse:
        return JSONResponse({"errorMessages": list(messages), "errors": errors}, status_code=status_code)

    def not_found() -> JSONResponse:
        if cloud:
            return error(404, "Issue does not exist or you do not have permission to see it.")
        return error(404, "Issue Does Not Exist")

    async def json_body(request: Request) -> Any:
        try:
            return await request.json()
        except ValueError:
            return None

    async def myself(request: Request) -> JSONResponse:
        body = shapes.user(ME, base_of(request), flavor, version_of(request)) or {}
        return JSONResponse(body if cloud else {**body, "accountId": ME.name})

    async def server_info(request: Request) -> JSONResponse:
        if cloud:
            return JSONResponse(
                {"baseUrl": base_of(request), "version": "1001.0.0-SNAPSHOT", "versionNumbers": [1001, 0, 0],
                 "deploymentType": "Cloud", "buildNumber": 100269, "serverTitle": "qa-jira-rest"}
            )  # fmt: skip
        return JSONResponse(
            {"baseUrl": base_of(request), "version": "9.12.0", "versionNumbers": [9, 12, 0],
             "deploymentType": "Server", "serverTitle": "qa-jira-rest"}
        )  # fmt: skip

    def with_names(body: dict[str, Any], expand: str, defs: dict[str, shapes.CustomFieldDef]) -> dict[str, Any]:
        names = shapes.names_of(defs)
        parts = expand.split(",")
        if "names" in parts:
            body["names"] = {k: v for k, v in names.items() if k in body["fields"]}
        if "schema" in parts:
            listed = {f["id"]: f["schema"] for f in shapes.field_list(defs)}
            body["schema"] = {k: v for k, v in listed.items() if k in body["fields"]}
        return body

    async def issue(request: Request) -> Response:
        key = request.path_params["key"]
        try:
            stored = await get_stored(key)
        except IssueNotFound:
            return not_found()
        if request.method == "PUT":
            return await edit_issue(stored, await json_body(request))
        defs = await custom()
        version = version_of(request)
        body = shapes.issue_json(
            stored, base_of(request), request.query_params.get("fields"), defs, flavor=flavor, version=version
        )
        return JSONResponse(with_names(body, request.query_params.get("expand", ""), defs))

    async def edit_issue(stored: StoredTicket, payload: Any) -> Response:
        """Labels only (``fields.labels`` or ``update.labels`` add/remove/set); other fields are refused."""
        if not isinstance(payload, dict):
            return error(400, "No content to map due to end-of-input")
        labels = list(stored.ticket.labels)
        fields = payload.get("fields") or {}
        unknown = sorted(set(fields) - {"labels"}) if isinstance(fields, dict) else ["fields"]
        if unknown:
            return error(400, **{name: "Field cannot be set. It is not on the appropriate screen." for name in unknown})
        if isinstance(fields.get("labels"), list):
            labels = [str(x) for x in fields["labels"]]
        for op in (
            ((payload.get("update") or {}).get("labels") or []) if isinstance(payload.get("update"), dict) else []
        ):
            if not isinstance(op, dict):
                continue
            if "add" in op and str(op["add"]) not in labels:
                labels.append(str(op["add"]))
            if "remove" in op and str(op["remove"]) in labels:
                labels.remove(str(op["remove"]))
            if isinstance(op.get("set"), list):
                labels = [str(x) for x in op["set"]]
        if any(" " in label or not label for label in labels):
            return error(400, labels="The label can't contain spaces.")
        await store.set_labels(stored.ticket.key, labels)
        return Response(status_code=204)

    async def comments(request: Request) -> JSONResponse:
        key = request.path_params["key"]
        base = base_of(request)
        version = version_of(request)
        if request.method == "POST":
            payload = await json_body(request)
            body = payload.get("body") if isinstance(payload, dict) else None
            if version >= 3:
                problems = adf_errors(body)
                if problems:
                    return error(400, *problems, comment="Comment body is not valid!")
                wiki = adf_to_wiki(body) if isinstance(body, dict) else ""
            elif isinstance(body, str) and body.strip():
                wiki = body
            else:
                return error(400, comment="Comment body can not be empty!")
            try:
                created = await store.add_comment(key, wiki, ME)
            except IssueNotFound:
                return not_found()
            return JSONResponse(shapes.comment(created, key, base, flavor, version), status_code=201)
        try:
            stored = await get_stored(key)
        except IssueNotFound:
            return not_found()
        qp = request.query_params
        start = max(0, _int(qp.get("startAt"), 0))
        limit = _int(qp.get("maxResults"), 100 if cloud else 5000)
        return JSONResponse(shapes.comments_page(stored.ticket, base, flavor, version, start, limit))

    async def attachments(request: Request) -> JSONResponse:
        """Multipart ``file`` parts; Jira refuses the upload without ``X-Atlassian-Token: no-check``."""
        key = request.path_params["key"]
        if request.headers.get("x-atlassian-token", "").lower() != "no-check":
            return error(403, "XSRF check failed")
        try:
            stored = await get_stored(key)
        except IssueNotFound:
            return not_found()
        form = await request.form()
        created = []
        for part in form.getlist("file"):
            if isinstance(part, str):
                continue
            size = len(await part.read())
            kind = part.content_type or "application/octet-stream"
            ticket = await store.add_attachment(stored.ticket.key, part.filename or "file", size, kind, ME)
            created.append(
                shapes.attachment(len(ticket.attachments) - 1, ticket.attachments[-1], base_of(request), flavor,
                                  version_of(request))
            )  # fmt: skip
        if not created:
            return error(400, "No file was attached")
        return JSONResponse(created)

    async def transitions(request: Request) -> Response:
        key = request.path_params["key"]
        try:
            stored = await get_stored(key)
        except IssueNotFound:
            return not_found()
        base = base_of(request)
        offered = available_transitions(stored.ticket.status)
        if request.method == "GET":
            return JSONResponse(
                {
                    "expand": "transitions",
                    "transitions": [
                        {"id": str(t.id), "name": t.name, "to": shapes.status(t.to_status, base)} for t in offered
                    ],
                }
            )
        payload = await json_body(request)
        tid = str(((payload or {}).get("transition") or {}).get("id", "")) if isinstance(payload, dict) else ""
        chosen = next((t for t in offered if str(t.id) == tid), None)
        if chosen is None:
            return error(400, f"Transition id '{tid}' is not valid for this issue.")
        await store.set_status(stored.ticket.key, chosen.to_status)
        for item in ((payload.get("update") or {}).get("comment") or []) if isinstance(payload, dict) else []:
            body = (item.get("add") or {}).get("body") if isinstance(item, dict) else None
            if isinstance(body, dict) and not adf_errors(body):
                body = adf_to_wiki(body)
            if isinstance(body, str) and body:
                await store.add_comment(stored.ticket.key, body, ME)
        return Response(status_code=204)

    async def fields(_request: Request) -> JSONResponse:
        return JSONResponse(shapes.field_list(await custom()))

    async def run_search(query: str, fields_param: str | None) -> tuple[list[StoredTicket], JSONResponse | None]:
        everything = await snapshot()
        catalog = jql.Catalog(
            custom_fields={fid: d.name for fid, d in shapes.custom_fields(everything, flavor).items()},
            projects={s.ticket.project_key for s in everything},
            keys={s.ticket.key for s in everything},
            statuses={*WORKFLOW_STATUSES, *(s.ticket.status for s in everything)},
            issue_types={*STANDARD_ISSUE_TYPES, *(s.ticket.issue_type for s in everything)},
            priorities={*shapes.STANDARD_PRIORITIES, *(s.ticket.priority for s in everything)},
            current_user=ME.name,
        )
        try:
            found = jql.search(query, [s.ticket for s in everything], catalog)
        except jql.JQLError as exc:
            return [], error(400, str(exc))
        by_key = {s.ticket.key: s for s in everything}
        return [by_key[t.key] for t in found], None

    async def search_params(request: Request) -> dict[str, Any]:
        if request.method == "POST":
            payload = await json_body(request)
            payload = payload if isinstance(payload, dict) else {}
            raw_fields = payload.get("fields")
            fields_param = ",".join(map(str, raw_fields)) if isinstance(raw_fields, list) else raw_fields
            return {**payload, "fields": fields_param}
        return dict(request.query_params)

    async def search(request: Request) -> JSONResponse:
        """Server/DC ``/rest/api/2/search``: ``startAt`` paging with a ``total``."""
        if cloud:
            return error(410, "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API.")
        params = await search_params(request)
        found, failed = await run_search(str(params.get("jql") or ""), params.get("fields"))
        if failed is not None:
            return failed
        start, limit = max(0, _int(params.get("startAt"), 0)), max(0, min(_int(params.get("maxResults"), 50), 1000))
        defs = await custom()
        fields_param = params.get("fields") or ",".join(DEFAULT_SEARCH_FIELDS)
        base = base_of(request)
        return JSONResponse(
            {
                "expand": "names,schema",
                "startAt": start,
                "maxResults": limit,
                "total": len(found),
                "issues": [shapes.issue_json(s, base, fields_param, defs) for s in found[start : start + limit]],
            }
        )

    async def search_jql(request: Request) -> JSONResponse:
        """Cloud's enhanced search: ``nextPageToken`` paging, no ``total``; only ``id`` unless fields are named."""
        if not cloud:
            return error(404, "null for uri: " + str(request.url))
        params = await search_params(request)
        start = _offset_of(params.get("nextPageToken"))
        if start is None:
            return error(400, "The provided next page token is invalid or expired.")
        found, failed = await run_search(str(params.get("jql") or ""), params.get("fields"))
        if failed is not None:
            return failed
        limit = max(1, min(_int(params.get("maxResults"), 50), 5000))
        page = found[start : start + limit]
        defs = await custom()
        version = version_of(request)
        base = base_of(request)
        body: dict[str, Any] = {
            "issues": [
                shapes.issue_json(s, base, params.get("fields") or "id", defs, flavor=flavor, version=version)
                for s in page
            ],
            "isLast": start + limit >= len(found),
        }
        if not body["isLast"]:
            body["nextPageToken"] = _page_token(start + limit)
        if "names" in str(params.get("expand") or ""):
            names = shapes.names_of(defs)
            body["names"] = {k: names[k] for i in body["issues"] for k in i["fields"] if k in names}
        return JSONResponse(body)

    async def browse(request: Request) -> JSONResponse:
        key = request.path_params["key"]
        try:
            stored = await get_stored(key)
        except IssueNotFound:
            return not_found()
        return JSONResponse(shapes.issue_json(stored, base_of(request), None, await custom(), flavor=flavor))

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    api = "/rest/api/{v}"
    app = Starlette(
        routes=[
            Route(api + "/myself", myself, methods=["GET"]),
            Route(api + "/serverInfo", server_info, methods=["GET"]),
            Route(api + "/field", fields, methods=["GET"]),
            Route(api + "/search", search, methods=["GET", "POST"]),
            Route(api + "/search/jql", search_jql, methods=["GET", "POST"]),
            Route(api + "/issue/{key}", issue, methods=["GET", "PUT"]),
            Route(api + "/issue/{key}/comment", comments, methods=["GET", "POST"]),
            Route(api + "/issue/{key}/transitions", transitions, methods=["GET", "POST"]),
            Route(api + "/issue/{key}/attachments", attachments, methods=["POST"]),
            Route("/browse/{key}", browse, methods=["GET"]),
            Route("/healthz", health, methods=["GET"]),
        ]
    )
    return _AbsoluteTarget(_versions(app, ("2", "3") if cloud else ("2",)))


def _versions(app: ASGIApp, allowed: tuple[str, ...]) -> ASGIApp:
    """Only the API versions the flavor has: Server/DC answers v3 with 404, as Jira 9 does."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith("/rest/api/") and path.split("/")[3] not in allowed:
            await JSONResponse({"errorMessages": [f"null for uri: {path}"], "errors": {}}, 404)(scope, receive, send)
            return
        await app(scope, receive, send)

    return guarded
