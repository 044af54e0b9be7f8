"""Tool implementations with mcp-atlassian 0.23.1's argument names, validation and outputs.

Arguments are validated with pydantic (lax mode, unknown arguments rejected), so error texts
read like the real server's (``1 validation error for call[get_issue] ...``). Failures inside a
tool are reported as ``Error calling tool '<name>': <reason>``, the tool name being the
un-namespaced function name as upstream prints it.
"""

from __future__ import annotations

import difflib
import json
import mimetypes
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import anyio
from pydantic import Field, ValidationError, validate_call

from qa_agent.world.jira_server import jql
from qa_agent.world.jira_server.models import Person, Ticket, parse_jira_time
from qa_agent.world.jira_server.render import FieldSelection, simplify_issue
from qa_agent.world.jira_server.schemas import DEFAULT_FIELDS_PARAM, TOOL_SPECS
from qa_agent.world.jira_server.store import StoredTicket, TicketStore
from qa_agent.world.jira_server.wiki import markdown_to_wiki, wiki_to_markdown
from qa_agent.world.jira_server.workflow import WORKFLOW_STATUSES, available_transitions

IssueKey = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]+-\d+(?:-\d+)*$")]
MAX_SEARCH_RESULTS = 50
STANDARD_PRIORITIES = ("Highest", "High", "Medium", "Low", "Lowest")
STANDARD_ISSUE_TYPES = ("Bug", "Task", "Story", "Epic", "Sub-task", "Test")


class ToolError(Exception):
    """A failure to report to the client as an MCP tool error (isError: true)."""


@dataclass(frozen=True)
class ServerConfig:
    base_url: str = "http://127.0.0.1:9000"
    author: Person = field(default_factory=lambda: Person(display_name="QA Agent", name="qa-agent"))


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _csv(value: str | None) -> set[str]:
    return {part.strip().lower() for part in (value or "").split(",") if part.strip()}


def _parse_json_object(value: str | None, what: str) -> dict[str, Any] | None:
    if value is None or not value.strip():
        return None
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise ToolError(f"Invalid JSON in {what}: {exc.msg} ({where})") from None
    if not isinstance(parsed, dict):
        raise ToolError(f"{what} must be a JSON object, got {type(parsed).__name__}")
    return parsed


def _system_fields() -> list[dict[str, Any]]:
    spec = [
        ("summary", "Summary", "string", ["summary"]),
        ("description", "Description", "string", ["description"]),
        ("status", "Status", "status", ["status"]),
        ("issuetype", "Issue Type", "issuetype", ["issuetype", "type"]),
        ("priority", "Priority", "priority", ["priority"]),
        ("project", "Project", "project", ["project"]),
        ("assignee", "Assignee", "user", ["assignee"]),
        ("reporter", "Reporter", "user", ["reporter"]),
        ("labels", "Labels", "array", ["labels"]),
        ("components", "Component/s", "array", ["component"]),
        ("created", "Created", "datetime", ["created", "createdDate"]),
        ("updated", "Updated", "datetime", ["updated", "updatedDate"]),
        ("comment", "Comment", "comments-page", ["comment"]),
        ("attachment", "Attachment", "array", ["attachments"]),
    ]
    return [
        {
            "id": fid,
            "key": fid,
            "name": name,
            "custom": False,
            "navigable": True,
            "searchable": True,
            "clauseNames": clauses,
            "schema": {"type": typ, "system": fid},
        }
        for fid, name, typ, clauses in spec
    ]


def _custom_field_def(field_id: str, name: str) -> dict[str, Any]:
    number = field_id.removeprefix("customfield_")
    return {
        "id": field_id,
        "key": field_id,
        "name": name,
        "custom": True,
        "navigable": True,
        "searchable": True,
        "clauseNames": [f"cf[{number}]", name],
        "schema": {
            "type": "string",
            "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textarea",
            "customId": int(number),
        },
    }


class JiraTools:
    """The tools, bound to one ticket store."""

    def __init__(self, store: TicketStore, config: ServerConfig) -> None:
        self.store = store
        self.config = config
        self._handlers: dict[str, Callable[..., Awaitable[Any]]] = {
            "jira_get_issue": validate_call(self.get_issue),
            "jira_search": validate_call(self.search),
            "jira_add_comment": validate_call(self.add_comment),
            "jira_get_transitions": validate_call(self.get_transitions),
            "jira_transition_issue": validate_call(self.transition_issue),
            "jira_search_fields": validate_call(self.search_fields),
            "jira_get_field_options": validate_call(self.get_field_options),
            "jira_get_project_issues": validate_call(self.get_project_issues),
            "jira_batch_get_changelogs": validate_call(self.batch_get_changelogs),
            "jira_update_issue": validate_call(self.update_issue),
        }
        missing = set(TOOL_SPECS) - set(self._handlers)
        assert not missing, f"tools without a handler: {missing}"

    @property
    def names(self) -> list[str]:
        return list(self._handlers)

    async def call(self, name: str, arguments: dict[str, Any]) -> str:
        """Run a tool; returns the JSON text or raises ToolError with the client-facing message."""
        handler = self._handlers.get(name)
        if handler is None:
            raise ToolError(f"Unknown tool: {name}")
        short = name.removeprefix("jira_")
        arguments = dict(arguments)
        if name == "jira_add_comment" and "comment" in arguments and "body" not in arguments:
            arguments["body"] = arguments.pop("comment")  # alias accepted by mcp-atlassian
        try:
            result = await handler(**arguments)
        except ValidationError as exc:
            count = exc.error_count()
            detail = str(exc).split("\n", 1)[1]
            plural = "s" if count > 1 else ""
            raise ToolError(f"{count} validation error{plural} for call[{short}]\n{detail}") from None
        except ToolError as exc:
            raise ToolError(f"Error calling tool '{short}': {exc}") from None
        except (LookupError, ValueError) as exc:
            raise ToolError(f"Error calling tool '{short}': {exc}") from None
        return dumps(result)

    # ------------------------------------------------------------------ helpers

    async def _snapshot(self) -> list[StoredTicket]:
        return await anyio.to_thread.run_sync(self.store.snapshot)

    async def _get(self, key: str) -> StoredTicket:
        return await anyio.to_thread.run_sync(self.store.get, key)

    def _catalog(self, tickets: list[StoredTicket]) -> jql.Catalog:
        custom: dict[str, str] = {}
        for stored in tickets:
            for field_id, definition in stored.ticket.custom_fields.items():
                custom.setdefault(field_id, definition.name)
        return jql.Catalog(
            custom_fields=custom,
            projects={s.ticket.project_key for s in tickets},
            keys={s.ticket.key for s in tickets},
            statuses={*WORKFLOW_STATUSES, *(s.ticket.status for s in tickets)},
            issue_types={*STANDARD_ISSUE_TYPES, *(s.ticket.issue_type for s in tickets)},
            priorities={*STANDARD_PRIORITIES, *(s.ticket.priority for s in tickets)},
            current_user=self.config.author.name,
        )

    def _transitions(self, ticket: Ticket) -> list[dict[str, Any]]:
        return [{"id": t.id, "name": t.name} for t in available_transitions(ticket.status)]

    def _issue_dict(
        self,
        stored: StoredTicket,
        *,
        fields: str | None = DEFAULT_FIELDS_PARAM,
        expand: str | None = None,
        comment_limit: int | None = 10,
        include: str | None = None,
        use_display_names: bool = False,
    ) -> dict[str, Any]:
        selection = FieldSelection.parse(fields)
        sections = _csv(include)
        if "all" in sections:
            sections |= {"comments", "transitions"}
        with_comments = selection.is_default or selection.all or "comment" in selection.names or "comments" in sections
        expands = _csv(expand)
        return simplify_issue(
            stored.ticket,
            issue_id=stored.issue_id,
            base_url=self.config.base_url,
            selection=selection,
            markdown=True,
            comment_limit=comment_limit or 0,
            with_comments=with_comments,
            display_names=use_display_names,
            names_expanded="names" in expands,
            transitions=self._transitions(stored.ticket)
            if "transitions" in sections or "transitions" in expands
            else None,
        )

    # ------------------------------------------------------------------ tools

    async def get_issue(
        self,
        issue_key: IssueKey,
        fields: str | None = DEFAULT_FIELDS_PARAM,
        expand: str | None = None,
        comment_limit: Annotated[int, Field(ge=0, le=100)] | None = 10,
        properties: str | None = None,
        update_history: bool = True,
        include: str | None = None,
        use_display_names: bool = False,
    ) -> dict[str, Any]:
        del properties, update_history  # accepted for compatibility; nothing to do for files
        stored = await self._get(issue_key)
        return self._issue_dict(
            stored,
            fields=fields,
            expand=expand,
            comment_limit=comment_limit,
            include=include,
            use_display_names=use_display_names,
        )

    async def search(
        self,
        jql: str,
        fields: str | None = DEFAULT_FIELDS_PARAM,
        limit: Annotated[int, Field(ge=1)] = 10,
        start_at: Annotated[int, Field(ge=0)] = 0,
        projects_filter: str | None = None,
        expand: str | None = None,
        page_token: str | None = None,
        use_display_names: bool = False,
    ) -> dict[str, Any]:
        del page_token  # Cloud-only upstream; Server/DC (and we) page with start_at
        tickets = await self._snapshot()
        catalog = self._catalog(tickets)
        hits = _run_jql(jql, tickets, catalog)
        wanted_projects = {p.upper() for p in _csv(projects_filter)}
        if wanted_projects:
            hits = [s for s in hits if s.ticket.project_key in wanted_projects]
        max_results = min(limit, MAX_SEARCH_RESULTS)
        page = hits[start_at : start_at + max_results]
        selection = FieldSelection.parse(fields)
        expands = _csv(expand)
        issues = [
            simplify_issue(
                s.ticket,
                issue_id=s.issue_id,
                base_url=self.config.base_url,
                selection=selection,
                markdown=False,
                comment_limit=None,
                with_comments=selection.all or "comment" in selection.names,
                display_names=use_display_names,
                names_expanded="names" in expands,
                transitions=self._transitions(s.ticket) if "transitions" in expands else None,
            )
            for s in page
        ]
        return {"total": len(hits), "start_at": start_at, "max_results": max_results, "issues": issues}

    async def add_comment(
        self,
        issue_key: IssueKey,
        body: str,
        visibility: str | None = None,
        public: bool | None = None,
    ) -> dict[str, Any]:
        if visibility is not None and public is not None:
            raise ToolError("'public' cannot be combined with 'visibility'")
        _parse_json_object(visibility, "visibility")
        if not body.strip():
            raise ToolError("Comment body must not be empty")
        await self._get(issue_key)
        comment = await self.store.add_comment(issue_key, markdown_to_wiki(body), self.config.author)
        return {
            "id": comment.id,
            "body": wiki_to_markdown(comment.body),
            "created": str(parse_jira_time(comment.created)),
            "author": comment.author.display_name,
        }

    async def get_transitions(self, issue_key: IssueKey) -> list[dict[str, Any]]:
        stored = await self._get(issue_key)
        return self._transitions(stored.ticket)

    async def transition_issue(
        self,
        issue_key: IssueKey,
        transition_id: str,
        fields: str | None = None,
        comment: str | None = None,
    ) -> dict[str, Any]:
        _parse_json_object(fields, "fields")
        stored = await self._get(issue_key)
        options = available_transitions(stored.ticket.status)
        wanted = transition_id.strip()
        chosen = next((t for t in options if str(t.id) == wanted or t.name.lower() == wanted.lower()), None)
        if chosen is None:
            offered = ", ".join(f"{t.id} ({t.name})" for t in options) or "none"
            raise ToolError(
                f"Transition '{transition_id}' is not available for issue {issue_key} "
                f"(status '{stored.ticket.status}'). Available transitions: {offered}."
            )
        if comment is not None and comment.strip():
            await self.store.add_comment(issue_key, markdown_to_wiki(comment), self.config.author)
        await self.store.set_status(issue_key, chosen.to_status)
        fresh = await self._get(issue_key)
        return {"message": f"Issue {issue_key} transitioned successfully", "issue": self._issue_dict(fresh)}

    async def get_project_issues(
        self,
        project_key: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]+$")],
        limit: Annotated[int, Field(ge=1, le=50)] = 10,
        start_at: Annotated[int, Field(ge=0)] = 0,
    ) -> dict[str, Any]:
        return await self.search(f"project = {project_key}", limit=limit, start_at=start_at)

    async def get_field_options(
        self,
        field_id: str,
        context_id: str | None = None,
        project_key: str | None = None,
        issue_type: str | None = None,
        contains: str | None = None,
        return_limit: Annotated[int, Field(ge=1)] | None = None,
        values_only: bool = False,
    ) -> list[Any]:
        """The options of a select field, as the tickets use them (Server/DC: createmeta needs both keys)."""
        del context_id
        if not project_key or not issue_type:
            raise ToolError(
                "Server/DC requires project_key and issue_type parameters to retrieve field options. "
                "Example: get_field_options('customfield_10001', project_key='PROJ', issue_type='Bug')"
            )
        found: dict[str, dict[str, Any]] = {}
        for stored in await self._snapshot():
            field = stored.ticket.custom_fields.get(field_id)
            if field is not None and stored.ticket.project_key == project_key.upper():
                for option in _options(field.value):
                    found.setdefault(option["value"], option)
        options = [o for o in found.values() if not contains or contains.lower() in o["value"].lower()]
        options = options[:return_limit] if return_limit else options
        return [o["value"] for o in options] if values_only else options

    async def batch_get_changelogs(
        self, issue_ids_or_keys: str, fields: str | None = None, limit: int = -1
    ) -> list[dict[str, Any]]:
        del issue_ids_or_keys, fields, limit
        raise ToolError("Batch get issue changelogs is only available on Jira Cloud.")

    async def update_issue(
        self,
        issue_key: IssueKey,
        fields: str,
        additional_fields: str | None = None,
        components: str | None = None,
        attachments: str | None = None,
        return_fields: str | None = "*all",
    ) -> dict[str, Any]:
        """Labels and attachments only (see the README); other fields are refused, never silently dropped."""
        changes = _parse_json_object(fields, "fields") or {}
        extra = _parse_json_object(additional_fields, "additional_fields") or {}
        unsupported = sorted({*changes, *extra} - {"labels"}) + (["components"] if components else [])
        if unsupported:
            raise ToolError(f"the embedded server updates only labels and attachments, not {', '.join(unsupported)}")
        labels = {**extra, **changes}.get("labels")
        if labels is not None:
            if not isinstance(labels, list) or not all(isinstance(x, str) and x and " " not in x for x in labels):
                raise ToolError("labels must be a list of strings without spaces")
            await self.store.set_labels(issue_key, labels)
        paths = _attachment_paths(attachments)
        done = [await self._attach(issue_key, path) for path in paths]
        fresh = await self._get(issue_key)
        issue = self._issue_dict(fresh, fields=return_fields)
        if paths:  # upstream's shape: success means the call ran, `failed` lists the files not uploaded
            issue["attachment_results"] = {
                "success": True,
                "issue_key": issue_key,
                "total": len(paths),
                "uploaded": [d for d in done if "error" not in d],
                "failed": [d for d in done if "error" in d],
            }
        return {"message": "Issue updated successfully", "issue": issue}

    async def _attach(self, issue_key: str, path: str) -> dict[str, Any]:
        file = Path(path)
        try:
            size = await anyio.to_thread.run_sync(lambda: file.stat().st_size)
        except OSError as exc:
            return {"filename": file.name, "error": f"cannot read {path}: {exc.strerror}"}
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        updated = await self.store.add_attachment(issue_key, file.name, size, kind, self.config.author)
        return {"filename": file.name, "size": size, "id": str(20000 + len(updated.attachments) - 1)}

    async def search_fields(
        self,
        keyword: str = "",
        limit: Annotated[int, Field(ge=1)] = 10,
        refresh: bool = False,
    ) -> list[dict[str, Any]]:
        del refresh
        tickets = await self._snapshot()
        catalog = self._catalog(tickets)
        definitions = _system_fields() + [
            _custom_field_def(fid, name) for fid, name in sorted(catalog.custom_fields.items())
        ]
        if not keyword.strip():
            return definitions[:limit]
        needle = keyword.strip().lower()
        scored: list[tuple[float, int, dict[str, Any]]] = []
        for index, definition in enumerate(definitions):
            name = str(definition["name"]).lower()
            fid = str(definition["id"]).lower()
            if needle in name or needle in fid:
                score = 2.0
            else:
                score = max(
                    difflib.SequenceMatcher(None, needle, name).ratio(),
                    difflib.SequenceMatcher(None, needle, fid).ratio(),
                )
                words = set(re.findall(r"\w+", needle))
                if words & set(re.findall(r"\w+", name)):
                    score += 0.5
            if score >= 0.4:
                scored.append((score, index, definition))
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [definition for _, _, definition in scored[:limit]]


def _attachment_paths(value: str | None) -> list[str]:
    if not value or not value.strip():
        return []
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        return [p.strip() for p in value.split(",") if p.strip()]
    if not isinstance(parsed, list):
        raise ToolError("attachments JSON string must be an array.")
    return [str(p) for p in parsed]


def _options(value: Any) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value]
    return [
        {"id": str(item.get("id", "")), "value": item["value"]}
        for item in items
        if isinstance(item, dict) and isinstance(item.get("value"), str)
    ]


def _run_jql(query: str, tickets: list[StoredTicket], catalog: jql.Catalog) -> list[StoredTicket]:
    by_key = {s.ticket.key: s for s in tickets}
    try:
        found = jql.search(query, [s.ticket for s in tickets], catalog)
    except jql.JQLError as exc:
        raise ToolError(str(exc)) from None
    return [by_key[t.key] for t in found]
