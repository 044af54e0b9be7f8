"""A server client tries to choose where the run's report goes (or what its verdict is): a run id in the
input, a command that writes the state, a state update on a paused run. The agent makes run ids and
verdicts; nothing lands outside the report folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from langgraph_sdk import get_client

from tests.langgraph_dev import Server, qa_server

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]
ESCAPE = "../../escape"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    async with qa_server(tmp_path_factory.mktemp("report-folder")) as served:
        yield served


def _assert_nothing_outside(server: Server) -> None:
    assert not (server.report_dir / ESCAPE).resolve().exists()
    if server.report_dir.exists():
        for path in server.report_dir.rglob("*"):
            assert path.resolve().is_relative_to(server.report_dir.resolve()), path


async def test_run_id_in_the_input_is_refused(server: Server) -> None:
    client = get_client(url=server.url)
    thread = await client.threads.create()
    with pytest.raises(httpx.HTTPStatusError) as refused:
        await client.runs.wait(thread["thread_id"], "qa", input={"ticket_key": "NOPE-404", "run_id": ESCAPE})
    assert refused.value.response.status_code == 403
    assert "input field(s) run_id refused" in refused.value.response.json()["detail"]
    assert await client.runs.list(thread["thread_id"]) == []
    _assert_nothing_outside(server)


async def test_a_command_cannot_write_the_state(server: Server) -> None:
    client = get_client(url=server.url)
    thread = await client.threads.create()
    with pytest.raises(httpx.HTTPStatusError) as refused:
        await client.runs.wait(thread["thread_id"], "qa", command={"update": {"run_id": ESCAPE}, "goto": "report"})
    assert refused.value.response.status_code == 403
    assert "command field(s) goto, update refused" in refused.value.response.json()["detail"]
    _assert_nothing_outside(server)


async def test_a_state_update_on_a_paused_run_cannot_move_its_report(server: Server) -> None:
    client = get_client(url=server.url)
    thread = await client.threads.create()
    paused = await client.runs.wait(
        thread["thread_id"], "qa", input={"ticket_key": "LOGIN-1"}, context={"approve_plan": True}
    )
    assert isinstance(paused, dict) and paused["__interrupt__"], paused
    with pytest.raises(httpx.HTTPStatusError) as refused:
        await client.threads.update_state(thread["thread_id"], {"run_id": ESCAPE}, as_node="approve_plan")
    assert "writing a run's state is refused" in refused.value.response.text
    # nor can a client write a verdict it likes
    fake = {"result": "success", "justification": "trust me"}
    with pytest.raises(httpx.HTTPStatusError) as refused:
        await client.threads.update_state(thread["thread_id"], {"verdict": fake}, as_node="verifier")
    assert refused.value.response.status_code == 403
    await client.threads.update(thread["thread_id"], metadata={"team": "qa"})  # metadata stays writable
    out = await client.runs.wait(thread["thread_id"], "qa", command={"resume": {"action": "approve"}})
    assert isinstance(out, dict)
    assert out["verdict"]["result"] == "success", out["verdict"]["justification"]
    assert out["run_id"] == thread["thread_id"]  # the agent's run id: the thread's
    assert Path(out["report_dir"], "report.json").is_file()
    _assert_nothing_outside(server)
