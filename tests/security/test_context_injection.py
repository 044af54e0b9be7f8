"""A server client sets deployment settings through a run's context: a shell command, URLs that would
receive the server's secrets, keys of its own. Each run is refused naming the field, nothing runs,
no request reaches the client's host, and nothing the client sent is stored."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from langgraph_sdk import get_client

from tests.langgraph_dev import Server, qa_server
from tests.security.conftest import Capture, stored_text

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]
LLM_KEY = "sk-server-Zq4-only-for-the-real-endpoint"
JIRA_TOKEN = "jira-server-Wm8-only-for-the-real-jira"
CLIENT_KEY = f"sk-client-{secrets.token_hex(8)}"  # unique: langgraph dev keeps data across restarts


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    tmp = tmp_path_factory.mktemp("context-injection")
    async with qa_server(tmp, LLM_API_KEY=LLM_KEY, JIRA_MCP_TOKEN=JIRA_TOKEN) as served:
        yield served


async def _refused(server: Server, **run: Any) -> str:
    """Start a run on a new thread; it must be refused, creating no run. Returns the refusal text."""
    client = get_client(url=server.url)
    thread = await client.threads.create()
    with pytest.raises(httpx.HTTPStatusError) as refused:
        await client.runs.wait(thread["thread_id"], "qa", input={"ticket_key": "LOGIN-1"}, **run)
    assert refused.value.response.status_code == 403, refused.value.response.text
    assert await client.runs.list(thread["thread_id"]) == []  # no run was created
    return str(refused.value.response.json()["detail"])


async def test_device_command_in_context_never_runs(server: Server, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    hostile = {"mobile_mcp_command": "/bin/sh", "mobile_mcp_args_json": json.dumps(["-c", f"id > {marker}"])}
    detail = await _refused(server, context=hostile)
    assert "mobile_mcp_args_json, mobile_mcp_command cannot be set by a client" in detail
    # the same through config.configurable, which the server turns into the context
    detail = await _refused(server, config={"configurable": hostile})
    assert "mobile_mcp_command" in detail
    assert not marker.exists()


async def test_urls_in_context_receive_no_secret(server: Server, capture: Capture) -> None:
    detail = await _refused(
        server, context={"llm_base_url": f"{capture.url}/v1", "jira_mcp_url": f"{capture.url}/mcp", "llm_model": "x"}
    )
    assert "jira_mcp_url, llm_base_url, llm_model cannot be set by a client" in detail
    assert capture.requests == []
    assert LLM_KEY not in detail and JIRA_TOKEN not in detail


async def test_an_assistant_cannot_carry_deployment_settings(server: Server, capture: Capture) -> None:
    """An assistant's context is merged into every run made with it."""
    client = get_client(url=server.url)
    for settings in ({"context": {"jira_mcp_url": capture.url}}, {"config": {"configurable": {"proxy_url": "x"}}}):
        with pytest.raises(httpx.HTTPStatusError) as refused:
            await client.assistants.create("qa", **settings)
        assert refused.value.response.status_code == 403
        assert "cannot be set by a client" in refused.value.response.json()["detail"]
    assert capture.url not in json.dumps(await client.assistants.search(limit=100))
    assert capture.requests == []


async def test_a_cron_cannot_carry_deployment_settings(server: Server, capture: Capture) -> None:
    """A cron stores a run the server starts later, and this langgraph-api stores it without asking the
    auth handlers: crons are refused outright."""
    client = get_client(url=server.url)
    hostile = {"mobile_mcp_command": "/bin/sh", "llm_base_url": f"{capture.url}/v1"}
    thread = await client.threads.create()
    attempts = [
        lambda: client.crons.create("qa", schedule="* * * * *", input={"ticket_key": "LOGIN-1"}, context=hostile),
        lambda: client.crons.create_for_thread(
            thread["thread_id"], "qa", schedule="* * * * *", config={"configurable": hostile}
        ),
    ]
    for attempt in attempts:
        with pytest.raises(httpx.HTTPStatusError) as refused:
            await attempt()
        assert refused.value.response.status_code == 403, refused.value.response.text
        assert "crons) are not offered" in refused.value.response.json()["detail"]
    assert capture.url not in json.dumps(await client.crons.search(limit=100), default=str)


async def test_a_key_in_context_is_refused_and_not_readable_back(server: Server) -> None:
    detail = await _refused(server, context={"llm_api_key": CLIENT_KEY, "openai_api_key": CLIENT_KEY})
    assert "llm_api_key, openai_api_key cannot be set by a client" in detail
    assert CLIENT_KEY not in detail
    client = get_client(url=server.url)
    assert CLIENT_KEY not in await stored_text(client)
    assert CLIENT_KEY not in server.log.read_text(errors="replace")


async def test_report_root_in_context_writes_nothing_outside(server: Server, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    detail = await _refused(server, context={"report_root": str(outside), "approve_plan": False})
    assert "report_root cannot be set by a client" in detail
    assert not outside.exists()
    # run options with values they cannot take: refused too, saying why
    detail = await _refused(server, context={"screenshots": "all", "max_replans": 99})
    assert "context: invalid configuration: screenshots: Input should be 'assertions', 'proofs' or 'failures'" in detail
    assert "max_replans: Input should be less than or equal to 10" in detail
    # run options alone are fine
    out = await get_client(url=server.url).runs.wait(
        None, "qa", input={"ticket_key": "NOPE-404"}, context={"max_replans": 0, "screenshots": "proofs"}
    )
    assert isinstance(out, dict)
    assert out["verdict"]["result"] == "blocked" and "NOPE-404 does not exist" in out["verdict"]["justification"]
    assert Path(out["report_dir"]).resolve().is_relative_to(server.report_dir.resolve())


async def test_the_graph_itself_refuses_a_context_dict_with_deployment_settings(tmp_path: Path) -> None:
    """Without the server's auth in front (another host process, a future route): LangGraph builds the
    context with `Context(**d)`, and that refuses anything but run options before any node runs."""
    from graph.builder import graph
    from graph.context import ConfigError

    marker = tmp_path / "marker"
    hostile = {"mobile_mcp_command": "/bin/sh", "mobile_mcp_args_json": json.dumps(["-c", f"id > {marker}"])}
    with pytest.raises(ConfigError, match="mobile_mcp_args_json, mobile_mcp_command cannot be set by a client"):
        await graph.ainvoke({"ticket_key": "LOGIN-1"}, context=hostile)
    assert not marker.exists()
    assert not (tmp_path / "runs").exists()
