"""The embedded Jira MCP server as a real child process over streamable HTTP.

Covers the process helper (ready line, port 0, /healthz, startup failures), writes that must
persist (comments, transitions, restart), concurrency, and freshness of edited ticket files.
All writes go to a temporary copy of examples/tickets.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import TextContent

from qa_agent.world.jira_server.models import load_ticket
from qa_agent.world.jira_server.process import (
    DEFAULT_TICKETS_DIR,
    JiraServerStartError,
    jira_server_process,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tickets(tmp_path: Path) -> Path:
    target = tmp_path / "tickets"
    shutil.copytree(DEFAULT_TICKETS_DIR, target)
    return target


@asynccontextmanager
async def http_session(url: str) -> AsyncIterator[ClientSession]:
    async with AsyncExitStack() as stack:
        read, write, _ = await stack.enter_async_context(streamable_http_client(url))
        session = await stack.enter_async_context(ClientSession(read, write))
        await session.initialize()
        yield session


async def call(session: ClientSession, name: str, **arguments: Any) -> Any:
    result = await session.call_tool(name, arguments)
    block = result.content[0]
    assert isinstance(block, TextContent)
    assert not result.isError, block.text
    assert result.structuredContent == {"result": block.text}
    return json.loads(block.text)


async def test_process_helper_health_and_tools(tickets: Path) -> None:
    async with jira_server_process(tickets) as server:
        assert server.url.startswith("http://127.0.0.1:") and server.url.endswith("/mcp")
        assert server.pid > 0
        async with httpx.AsyncClient() as client:
            health = await client.get(server.base_url + "/healthz")
            assert health.status_code == 200 and health.json() == {"status": "ok"}
            page = await client.get(server.base_url + "/browse/PTT-1")
            assert page.status_code == 200 and page.json()["key"] == "PTT-1"
        async with http_session(server.url) as session:
            tools = (await session.list_tools()).tools
            assert {t.name for t in tools} >= {"jira_get_issue", "jira_search", "jira_add_comment"}
            issue = await call(session, "jira_get_issue", issue_key="PTT-1", fields="*all")
            assert issue["browse_url"] == f"{server.base_url}/browse/PTT-1"
            assert issue["customfield_11504"]["value"].startswith("@package:com.example.ptt")
            missing = await session.call_tool("jira_get_issue", {"issue_key": "MISSING-1"})
            assert missing.isError
    # terminated on exit
    with pytest.raises(ProcessLookupError):
        os.kill(server.pid, 0)


async def test_comments_persist_across_restart(tickets: Path) -> None:
    async with jira_server_process(tickets) as server, http_session(server.url) as session:
        added = await call(session, "jira_add_comment", issue_key="PTT-1", body="**Verdict**: PASS\n\n- step 1 ok")
        assert list(added) == ["id", "body", "created", "author"]
        assert added["author"] == "QA Agent"
        assert added["body"] == "**Verdict**: PASS\n\n- step 1 ok"
        assert added["created"].endswith("+00:00")
        alias = await call(session, "jira_add_comment", issue_key="PTT-1", comment="via alias")
        assert int(alias["id"]) == int(added["id"]) + 1
        issue = await call(session, "jira_get_issue", issue_key="PTT-1")
        assert [c["body"] for c in issue["comments"]][-2:] == [added["body"], "via alias"]
        newest = await call(session, "jira_get_issue", issue_key="PTT-1", comment_limit=1)
        assert [c["body"] for c in newest["comments"]] == ["via alias"]
    stored = load_ticket(tickets / "PTT-1.yaml")
    assert stored.comments[-2].body == "*Verdict*: PASS\n\n* step 1 ok"  # stored as wiki markup
    async with jira_server_process(tickets) as server, http_session(server.url) as session:
        issue = await call(session, "jira_get_issue", issue_key="PTT-1")
        assert [c["id"] for c in issue["comments"]] == ["10101", added["id"], alias["id"]]
        assert issue["comments"][1]["author"]["display_name"] == "QA Agent"
        found = await call(session, "jira_search", jql='comment ~ "via alias"')
        assert [i["key"] for i in found["issues"]] == ["PTT-1"]


async def test_concurrent_comments_all_persist(tickets: Path) -> None:
    async with jira_server_process(tickets) as server:
        async with http_session(server.url) as one, http_session(server.url) as two:
            results = await asyncio.gather(
                call(one, "jira_add_comment", issue_key="PTT-3", body="from session one"),
                call(two, "jira_add_comment", issue_key="PTT-3", body="from session two"),
                *(call(one, "jira_add_comment", issue_key="PTT-3", body=f"burst {i}") for i in range(6)),
            )
        assert len({r["id"] for r in results}) == len(results)
    bodies = [c.body for c in load_ticket(tickets / "PTT-3.yaml").comments]
    expected = ["from session one", "from session two", *(f"burst {i}" for i in range(6))]
    assert sorted(bodies) == sorted(expected)
    assert not [name for name in os.listdir(tickets) if name.startswith(".")]


async def test_transitions_follow_the_workflow_and_persist(tickets: Path) -> None:
    async with jira_server_process(tickets) as server, http_session(server.url) as session:
        assert await call(session, "jira_get_transitions", issue_key="PTT-2") == [
            {"id": 11, "name": "Start Progress"},
            {"id": 21, "name": "Done"},
        ]
        moved = await call(session, "jira_transition_issue", issue_key="PTT-2", transition_id="11")
        assert moved["message"] == "Issue PTT-2 transitioned successfully"
        assert moved["issue"]["status"] == {
            "name": "In Progress",
            "category": "In Progress",
            "color": "yellow",
        }
        done = await call(
            session,
            "jira_transition_issue",
            issue_key="PTT-2",
            transition_id="Done",  # by name, as upstream main (post-0.23.1) allows
            comment="Verified by agent",
        )
        assert done["issue"]["status"]["name"] == "Done"
        assert done["issue"]["comments"][-1]["body"] == "Verified by agent"
        assert await call(session, "jira_get_transitions", issue_key="PTT-2") == [{"id": 41, "name": "Reopen"}]
        found = await call(session, "jira_search", jql="status = Done")
        assert [i["key"] for i in found["issues"]] == ["PTT-2"]
    assert load_ticket(tickets / "PTT-2.yaml").status == "Done"


async def test_edited_ticket_file_is_served_fresh(tickets: Path) -> None:
    async with jira_server_process(tickets) as server, http_session(server.url) as session:
        before = await call(session, "jira_get_issue", issue_key="PTT-3", fields="summary")
        assert not before["summary"].startswith("EDITED:")
        path = tickets / "PTT-3.yaml"
        text = re.sub(r"(?m)^summary: .*$", 'summary: "EDITED: new"', path.read_text(encoding="utf-8"))
        path.write_text(text, encoding="utf-8")
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000))
        after = await call(session, "jira_get_issue", issue_key="PTT-3", fields="summary")
        assert after["summary"].startswith("EDITED:")
        new = tickets / "NEW-7.yaml"
        new.write_text(path.read_text(encoding="utf-8").replace("key: PTT-3", "key: NEW-7"), encoding="utf-8")
        found = await call(session, "jira_search", jql="project = NEW")
        assert [i["key"] for i in found["issues"]] == ["NEW-7"]
        path.write_text("summary: [broken\n", encoding="utf-8")
        # one broken file blocks its own ticket only, naming the file and the line
        assert (await call(session, "jira_get_issue", issue_key="PTT-1", fields="summary"))["summary"]
        broken = await session.call_tool("jira_get_issue", {"issue_key": "PTT-3"})
        assert broken.isError
        text = broken.content[0].text if isinstance(broken.content[0], TextContent) else ""
        assert "PTT-3.yaml" in text and "line " in text


async def test_start_failure_reports_stderr(tmp_path: Path) -> None:
    """A server that cannot start says why (a broken ticket file no longer stops it: only its ticket)."""
    with pytest.raises(JiraServerStartError) as info:
        async with jira_server_process(tmp_path / "missing"):
            pass
    message = str(info.value)
    assert "exited with code" in message
    assert "does not exist" in message and "missing" in message


async def test_qa_agent_cli_serves(tickets: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys; from qa_agent.cli import main; sys.exit(main())",
        "jira",
        "serve",
        "--port",
        "0",
        "--tickets",
        str(tickets),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO_ROOT,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        assert line.startswith("qa-jira listening on http://127.0.0.1:") and line.endswith("/mcp\n")
        url = line.split()[-1]
        async with http_session(url) as session:
            found = await call(session, "jira_search", jql="key = LOGIN-1", fields="summary")
            assert found["issues"][0]["summary"].startswith("Login:")
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 10) == 0
