"""`langgraph dev` serves the graph of langgraph.json; langgraph-sdk runs, streams, interrupts and resumes it.

One server (in-memory runtime, a subprocess in its own process group) for the module, with the
embedded Jira server and the device simulator over HTTP, configured through the environment
exactly as a user would. The server runs with blockbuster on, so a blocking call in an async
node fails the run with `BlockingError` here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from graph.context import RUN_OPTIONS, load_context
from qa_agent.runner import run_ticket
from tests.langgraph_dev import LANGGRAPH, Server, qa_server, tail

pytest.importorskip("langgraph_api", reason="needs the dev extras: langgraph-cli[inmem]")
from langgraph_sdk import get_client

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    if not LANGGRAPH.is_file():
        pytest.skip(f"no {LANGGRAPH}: install the dev extras")
    async with qa_server(tmp_path_factory.mktemp("langgraph-dev")) as served:
        yield served


def _assert_no_blocking_error(server: Server) -> None:
    text = server.log.read_text(errors="replace")
    assert "BlockingError" not in text, tail(server.log, 80)


async def test_graph_is_served_under_its_langgraph_json_name(server: Server) -> None:
    client = get_client(url=server.url)
    assistants = await client.assistants.search(graph_id="qa")
    assert [a["graph_id"] for a in assistants] == ["qa"]
    schemas = await client.assistants.get_schemas(assistants[0]["assistant_id"])
    # Studio and the server's context filter see the run options, by the field names load_context() takes.
    context_schema = schemas["context_schema"]
    assert context_schema is not None
    assert set(context_schema["properties"]) == set(RUN_OPTIONS)


async def test_wait_gives_the_cli_verdict(server: Server, tmp_path: Path) -> None:
    client = get_client(url=server.url)
    thread = await client.threads.create()
    out = await client.runs.wait(thread["thread_id"], "qa", input={"ticket_key": "LOGIN-1"})
    assert isinstance(out, dict)
    served = out["verdict"]
    ctx = load_context(jira_mcp_url=server.jira_url, mobile_mcp_url=server.sim_url, report_root=tmp_path / "cli")
    cli = await run_ticket(ctx, "LOGIN-1")
    assert cli.verdict.result == "success", cli.verdict.justification
    assert served["result"] == cli.verdict.result, served["justification"]
    assert Path(out["report_dir"], "report.json").is_file()
    _assert_no_blocking_error(server)


async def test_stream_gives_each_driver_steps_and_the_verdict(server: Server) -> None:
    client = get_client(url=server.url)
    thread = await client.threads.create()
    steps: list[tuple[str, dict[str, Any]]] = []
    verdict: dict[str, Any] | None = None
    async for part in client.runs.stream(
        thread["thread_id"],
        "qa",
        input={"ticket_key": "PTT-1"},
        stream_mode=["updates", "custom"],
        stream_subgraphs=True,
    ):
        if part.event.startswith("custom") and part.data.get("event") in ("step_start", "step_end"):
            steps.append((part.event, part.data))
        elif part.event == "updates" and "report" in part.data:
            verdict = part.data["report"]["verdict"]
        assert part.event != "error", part.data
    assert verdict is not None and verdict["result"] == "success", verdict
    assert all(event.startswith("custom|lane:") for event, _ in steps), {e for e, _ in steps}
    assert {data["driver"] for _, data in steps} == {1, 2}
    started = [data["step"] for _, data in steps if data["event"] == "step_start"]
    ended = [data["step"] for _, data in steps if data["event"] == "step_end"]
    assert sorted(started) == sorted(ended) and len(set(started)) == len(started), steps
    _assert_no_blocking_error(server)


async def _interrupted(client: Any) -> tuple[str, dict[str, Any]]:
    thread = await client.threads.create()
    out = await client.runs.wait(
        thread["thread_id"], "qa", input={"ticket_key": "LOGIN-1"}, context={"approve_plan": True}
    )
    assert isinstance(out, dict)
    assert out.get("verdict") is None, out.get("verdict")
    (pending,) = out["__interrupt__"]
    state = await client.threads.get_state(thread["thread_id"])
    assert state["next"] == ["approve_plan"]
    return thread["thread_id"], pending["value"]


async def test_approval_interrupt_then_approve(server: Server) -> None:
    client = get_client(url=server.url)
    thread_id, value = await _interrupted(client)
    assert value["ticket_key"] == "LOGIN-1"
    assert value["plan"]["steps"][0]["action"] == "launch_app"
    assert value["drivers"] and "approve" in value["how"]
    out = await client.runs.wait(thread_id, "qa", command={"resume": {"action": "approve"}})
    assert isinstance(out, dict)
    assert out["verdict"]["result"] == "success", out["verdict"]["justification"]
    assert not out.get("__interrupt__")


async def test_approval_interrupt_then_reject(server: Server) -> None:
    client = get_client(url=server.url)
    thread_id, _ = await _interrupted(client)
    out = await client.runs.wait(
        thread_id, "qa", command={"resume": {"action": "reject", "reason": "wrong build under test"}}
    )
    assert isinstance(out, dict)
    assert out["verdict"]["result"] == "blocked"
    assert "wrong build under test" in out["verdict"]["justification"]
    _assert_no_blocking_error(server)
