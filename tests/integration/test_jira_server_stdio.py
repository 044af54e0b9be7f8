"""The embedded Jira MCP server over stdio, driven by a real ``mcp`` ClientSession.

One server process serves the whole module (on a temporary copy of examples/tickets).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from mcp import ClientSession
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult, TextContent

from qa_agent.world.jira_server.process import DEFAULT_TICKETS_DIR, stdio_server_params

pytestmark = pytest.mark.asyncio(loop_scope="module")

SERVED = [
    "jira_get_issue",
    "jira_search",
    "jira_add_comment",
    "jira_get_transitions",
    "jira_transition_issue",
    "jira_search_fields",
    "jira_get_field_options",
    "jira_get_project_issues",
    "jira_batch_get_changelogs",
    "jira_update_issue",
]
# sha256 of the canonical JSON {name: {name, title, description, inputSchema, outputSchema, annotations}}
# of these tools in mcp-atlassian 0.23.1's verbatim tools/list (shared/research/...-tools-list.json).
UPSTREAM_TOOLS_SHA256 = "a475173984921273ced10c0f79eeb6ef05824d74dda04bdaa7ed763b83998940"
UPSTREAM_TOOLS_JSON = Path("/work/shared/research/mcp-atlassian-0.23.1-tools-list.json")
PATTERN_ERROR = (
    "1 validation error for call[get_issue]\nissue_key\n"
    "  String should match pattern '^[A-Z][A-Z0-9_]+-\\d+(?:-\\d+)*$' "
    "[type=string_pattern_mismatch, input_value='bad key', input_type=str]"
)


class _Owner:
    """Enters and exits the client contexts inside one task (anyio cancel scopes require it)."""

    def __init__(self, tickets: Path) -> None:
        self.tickets = tickets
        self.ready = asyncio.Event()
        self.stop = asyncio.Event()
        self.session: ClientSession | None = None
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        async with AsyncExitStack() as stack:
            read, write = await stack.enter_async_context(stdio_client(stdio_server_params(self.tickets)))
            session = await stack.enter_async_context(ClientSession(read, write))
            await session.initialize()
            self.session = session
            self.ready.set()
            await self.stop.wait()

    async def __aenter__(self) -> ClientSession:
        self.task = asyncio.create_task(self._run())
        waiter = asyncio.create_task(self.ready.wait())
        await asyncio.wait({self.task, waiter}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if self.task.done():
            self.task.result()
        assert self.session is not None, "stdio server did not start"
        return self.session

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        assert self.task is not None
        await self.task


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def session(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ClientSession]:
    tickets = tmp_path_factory.mktemp("stdio") / "tickets"
    shutil.copytree(DEFAULT_TICKETS_DIR, tickets)
    async with _Owner(tickets) as client:
        yield client


def text_of(result: CallToolResult) -> str:
    assert len(result.content) == 1
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


async def call_ok(session: ClientSession, name: str, **arguments: Any) -> Any:
    result = await session.call_tool(name, arguments)
    text = text_of(result)
    assert not result.isError, text
    assert result.structuredContent == {"result": text}
    return json.loads(text)


async def call_err(session: ClientSession, name: str, **arguments: Any) -> str:
    result = await session.call_tool(name, arguments)
    assert result.isError, text_of(result)
    assert result.structuredContent is None
    return text_of(result)


def _read_upstream_capture() -> dict[str, Any] | None:
    if not UPSTREAM_TOOLS_JSON.exists():
        return None
    data: dict[str, Any] = json.loads(UPSTREAM_TOOLS_JSON.read_text(encoding="utf-8"))
    return data


def _canonical(tools: dict[str, dict[str, Any]]) -> str:
    return json.dumps(tools, sort_keys=True)


async def test_tool_list_matches_mcp_atlassian(session: ClientSession) -> None:
    listed = (await session.list_tools()).tools
    assert [t.name for t in listed] == SERVED
    canonical = {
        t.name: {
            "name": t.name,
            "title": t.title,
            "description": t.description,
            "inputSchema": t.inputSchema,
            "outputSchema": t.outputSchema,
            "annotations": t.annotations.model_dump(exclude_none=True) if t.annotations else None,
        }
        for t in listed
    }
    assert hashlib.sha256(_canonical(canonical).encode()).hexdigest() == UPSTREAM_TOOLS_SHA256
    for tool in listed:
        assert tool.inputSchema["additionalProperties"] is False
        assert tool.outputSchema == {
            "type": "object",
            "properties": {"result": {"type": "string"}},
            "required": ["result"],
            "x-fastmcp-wrap-result": True,
        }
    capture = _read_upstream_capture()
    if capture is not None:  # the research capture, when available on this machine
        upstream = {t["name"]: t for t in capture["tools"]}
        for tool in listed:
            assert tool.inputSchema == upstream[tool.name]["inputSchema"]
            assert tool.description == upstream[tool.name]["description"]


async def test_get_issue_default_fields(session: ClientSession) -> None:
    issue = await call_ok(session, "jira_get_issue", issue_key="PTT-1")
    assert list(issue) == [
        "id",
        "key",
        "summary",
        "browse_url",
        "description",
        "status",
        "issue_type",
        "priority",
        "assignee",
        "reporter",
        "labels",
        "created",
        "updated",
        "comments",
    ]
    assert issue["id"] == "10002"
    assert issue["browse_url"].endswith("/browse/PTT-1")
    assert issue["description"].startswith("## Context\nTwo users are in the same channel of the **Talkie** app")
    assert "(package `com.example.ptt`)" in issue["description"]
    assert "1. While Alice holds **Talk**" in issue["description"]
    assert issue["status"] == {"name": "To Do", "category": "To Do", "color": "blue-gray"}
    assert issue["issue_type"] == {"name": "Test"}
    assert issue["assignee"] == {"display_name": "Unassigned"}
    assert issue["reporter"]["display_name"] == "QA Bot"
    assert issue["created"] == "2026-11-20 09:00:00 UTC"
    assert issue["comments"][0]["body"] == "Seen on build 41 by a field tester; please automate."
    assert issue["comments"][0]["created"] == "2026-11-21T10:30:00.000+0000"
    assert "customfield_11504" not in issue
    assert "attachments" not in issue


async def test_get_issue_all_fields(session: ClientSession) -> None:
    issue = await call_ok(session, "jira_get_issue", issue_key="PTT-1", fields="*all")
    keys = list(issue)
    assert keys[:6] == ["id", "key", "summary", "url", "browse_url", "description"]
    assert keys[-3:] == ["comments", "attachments", "customfield_11504"]
    assert issue["project"] == {"key": "PTT", "name": "PTT"}
    assert issue["components"] == ["Android"]
    assert issue["customfield_11504"]["value"].startswith("@package:com.example.ptt\nuser1: Alice\n")
    assert "\nFeature: Push-to-talk" in issue["customfield_11504"]["value"]
    assert "name" not in issue["customfield_11504"]
    attachment = issue["attachments"][0]
    assert attachment["filename"] == "banner-expected.png"
    assert attachment["size"] == 48213
    assert attachment["content_type"] == "image/png"
    assert "**Talkie**" in issue["description"]


async def test_get_issue_field_selection(session: ClientSession) -> None:
    issue = await call_ok(session, "jira_get_issue", issue_key="PTT-1", fields="summary", comment_limit="3")
    assert list(issue) == ["id", "key", "summary", "browse_url"]
    issue = await call_ok(session, "jira_get_issue", issue_key="PTT-1", fields="summary,customfield_11504,attachment")
    assert list(issue) == ["id", "key", "summary", "browse_url", "attachments", "customfield_11504"]
    named = await call_ok(session, "jira_get_issue", issue_key="PTT-1", fields="Test Details", expand="names")
    assert named["customfield_11504"]["name"] == "Test Details"
    display = await call_ok(
        session, "jira_get_issue", issue_key="PTT-1", fields="customfield_11504", use_display_names=True
    )
    assert display["Test Details"]["name"] == "Test Details"


async def test_get_issue_comment_limit_and_include(session: ClientSession) -> None:
    none = await call_ok(session, "jira_get_issue", issue_key="PTT-4", comment_limit=0)
    assert "comments" not in none
    one = await call_ok(session, "jira_get_issue", issue_key="PTT-4", fields="summary", include="comments,transitions")
    assert [c["id"] for c in one["comments"]] == ["10401"]
    assert one["transitions"] == [{"id": 11, "name": "Start Progress"}, {"id": 21, "name": "Done"}]


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("project = PTT", ["PTT-1", "PTT-2", "PTT-3", "PTT-4"]),
        ("project in (CALL, LOGIN)", ["CALL-1", "LOGIN-1"]),
        ("key = PTT-3", ["PTT-3"]),
        ("key in (PTT-4, CALL-1)", ["CALL-1", "PTT-4"]),
        ("labels = multi-device", ["CALL-1", "PTT-1", "PTT-2"]),
        ("labels in (smoke, terrain)", ["LOGIN-1", "PTT-4"]),
        ('status = "In Progress"', ["LOGIN-1"]),
        ('status in ("To Do") AND project = LOGIN', []),
        ("issuetype = Bug", ["PTT-4"]),
        ("priority = High", ["CALL-1", "PTT-1", "PTT-4"]),
        ("component = Accounts", ["LOGIN-1"]),
        ('text ~ "alice talking"', ["PTT-1", "PTT-2", "PTT-4"]),
        ('summary ~ "push-to-talk"', ["PTT-1", "PTT-2", "PTT-3"]),
        ("project = PTT AND NOT (labels = multi-device OR priority = Low)", ["PTT-4"]),
        ("project = PTT ORDER BY priority DESC, key ASC", ["PTT-2", "PTT-1", "PTT-4", "PTT-3"]),
        ("ORDER BY created DESC", ["PTT-4", "PTT-3", "PTT-2", "PTT-1", "CALL-1", "LOGIN-1"]),
        ("project = ptt order by updated desc", ["PTT-4", "PTT-3", "PTT-2", "PTT-1"]),
    ],
)
async def test_search_forms(session: ClientSession, jql: str, expected: list[str]) -> None:
    found = await call_ok(session, "jira_search", jql=jql, limit=50)
    assert [issue["key"] for issue in found["issues"]] == expected
    assert found["total"] == len(expected)


async def test_search_output_shape_and_paging(session: ClientSession) -> None:
    page1 = await call_ok(session, "jira_search", jql="project = PTT ORDER BY key", limit=2)
    page2 = await call_ok(session, "jira_search", jql="project = PTT ORDER BY key", limit=2, start_at=2)
    assert list(page1) == ["total", "start_at", "max_results", "issues"]
    assert (page1["total"], page1["start_at"], page1["max_results"]) == (4, 0, 2)
    assert [i["key"] for i in page1["issues"]] == ["PTT-1", "PTT-2"]
    assert (page2["start_at"], [i["key"] for i in page2["issues"]]) == (2, ["PTT-3", "PTT-4"])
    issue = page1["issues"][0]
    assert issue["description"].startswith("h2. Context")  # raw wiki in search, as upstream
    assert "comments" not in issue and "customfield_11504" not in issue
    capped = await call_ok(session, "jira_search", jql="", limit=100)
    assert capped["max_results"] == 50
    narrow = await call_ok(
        session,
        "jira_search",
        jql="priority = High",
        fields="summary,customfield_11504",
        projects_filter="CALL",
    )
    assert [list(i) for i in narrow["issues"]] == [["id", "key", "summary", "browse_url", "customfield_11504"]]


async def test_search_fields(session: ClientSession) -> None:
    found = await call_ok(session, "jira_search_fields", keyword="test details", limit=3)
    assert found[0]["id"] == "customfield_11504"
    assert found[0]["name"] == "Test Details"
    first = await call_ok(session, "jira_search_fields")
    assert len(first) == 10


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        (
            "jira_get_issue",
            {"issue_key": "MISSING-1"},
            "Error calling tool 'get_issue': Issue MISSING-1 not found. Verify the issue key and project access.",
        ),
        ("jira_get_issue", {"issue_key": "bad key"}, PATTERN_ERROR),
        (
            "jira_get_issue",
            {"issue_key": "PTT-1", "cloudId": "x"},
            "1 validation error for call[get_issue]\ncloudId\n  Unexpected keyword argument",
        ),
        (
            "jira_get_issue",
            {"issue_key": "PTT-1", "comment_limit": 500},
            "1 validation error for call[get_issue]\ncomment_limit\n  Input should be less than or equal to 100",
        ),
        (
            "jira_get_issue",
            {},
            "1 validation error for call[get_issue]\nissue_key\n  Missing required argument",
        ),
        (
            "jira_add_comment",
            {"issue_key": "PTT-1"},
            "1 validation error for call[add_comment]\nbody\n  Missing required argument",
        ),
        (
            "jira_search",
            {"jql": "project = PTT AND (labels = x OR )"},
            "Error calling tool 'search': Error in the JQL Query: Expecting a field name but got ')' at position 34.",
        ),
        (
            "jira_search",
            {"jql": "project = NOPE"},
            "Error calling tool 'search': Error in the JQL Query: The value 'NOPE' does not exist "
            "for the field 'project'",
        ),
        (
            "jira_search",
            {"jql": "labels = x", "limit": 0},
            "1 validation error for call[search]\nlimit\n  Input should be greater than or equal to 1",
        ),
        (
            "jira_transition_issue",
            {"issue_key": "PTT-1", "transition_id": "41"},
            "Error calling tool 'transition_issue': Transition '41' is not available for issue PTT-1 "
            "(status 'To Do'). Available transitions: 11 (Start Progress), 21 (Done).",
        ),
        (
            "jira_add_comment",
            {"issue_key": "PTT-1", "body": "x", "visibility": "{nope"},
            "Error calling tool 'add_comment': Invalid JSON in visibility",
        ),
        ("jira_create_issue", {"project_key": "PTT"}, "Unknown tool: jira_create_issue"),
    ],
)
async def test_errors(session: ClientSession, name: str, arguments: dict[str, Any], expected: str) -> None:
    text = await call_err(session, name, **arguments)
    assert text.startswith(expected), text


async def test_other_default_read_tools_and_update_issue(session: ClientSession, tmp_path: Path) -> None:
    page = await call_ok(session, "jira_get_project_issues", project_key="PTT", limit=2)
    assert (page["total"], [i["key"] for i in page["issues"]]) == (4, ["PTT-1", "PTT-2"])
    needs = await call_err(session, "jira_get_field_options", field_id="customfield_11504")
    assert "Server/DC requires project_key and issue_type" in needs
    assert (
        await call_ok(
            session, "jira_get_field_options", field_id="customfield_11504", project_key="PTT", issue_type="Test"
        )
        == []
    )
    cloud_only = await call_err(session, "jira_batch_get_changelogs", issue_ids_or_keys="PTT-1")
    assert (
        cloud_only
        == "Error calling tool 'batch_get_changelogs': Batch get issue changelogs is only available on Jira Cloud."
    )
    shot = tmp_path / "fail.png"
    shot.write_bytes(b"\x89PNG....")
    done = await call_ok(
        session, "jira_update_issue", issue_key="LOGIN-1", fields='{"labels": ["qa-agent:failure"]}',
        attachments=json.dumps([str(shot), str(tmp_path / "missing.png")]),
    )  # fmt: skip
    assert done["message"] == "Issue updated successfully" and done["issue"]["labels"] == ["qa-agent:failure"]
    results = done["issue"]["attachment_results"]
    assert [r["filename"] for r in results["uploaded"]] == ["fail.png"] and results["total"] == 2
    assert [r["filename"] for r in results["failed"]] == ["missing.png"]
    assert "fail.png" in [a["filename"] for a in done["issue"]["attachments"]]
    refused = await call_err(session, "jira_update_issue", issue_key="LOGIN-1", fields='{"summary": "x"}')
    assert "only labels and attachments, not summary" in refused
