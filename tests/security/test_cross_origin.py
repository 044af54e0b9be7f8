"""A web page open in the developer's browser posts to the local server. A `text/plain` POST needs no
CORS preflight, so the browser sends it and the server must refuse it itself: no run is created.
By default (langgraph.json allows no origin) no other origin gets a CORS answer or is served; configured
origins are tested with the token in test_server_token.py."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from langgraph_sdk import get_client

from tests.langgraph_dev import Server, qa_server

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]
EVIL = "http://evil.example"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    async with qa_server(tmp_path_factory.mktemp("cross-origin")) as served:
        yield served


async def _post_run(server: Server, headers: dict[str, str]) -> tuple[httpx.Response, list[dict[str, object]]]:
    """POST a run to a fresh thread with raw HTTP; return the answer and the thread's runs."""
    client = get_client(url=server.url)
    thread = await client.threads.create()
    body = json.dumps({"assistant_id": "qa", "input": {"ticket_key": "NOPE-404"}})
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        response = await http.post(f"/threads/{thread['thread_id']}/runs/wait", content=body, headers=headers)
    return response, list(await client.runs.list(thread["thread_id"]))


async def test_cross_site_text_plain_post_creates_no_run(server: Server) -> None:
    response, runs = await _post_run(server, {"Origin": EVIL, "Content-Type": "text/plain"})
    assert response.status_code == 403, response.text
    assert "cross-origin request from http://evil.example refused" in response.json()["detail"]
    assert "access-control-allow-origin" not in response.headers
    assert runs == []


async def test_text_plain_body_without_origin_creates_no_run(server: Server) -> None:
    """An old browser or a privacy setting may leave Origin out: the body type still gives it away."""
    response, runs = await _post_run(server, {"Content-Type": "text/plain;charset=UTF-8"})
    assert response.status_code == 403, response.text
    assert "'text/plain' refused: send application/json" in response.json()["detail"]
    assert runs == []


async def test_a_json_post_from_another_origin_creates_no_run(server: Server) -> None:
    """Even if a preflight were answered, the request itself is refused by its origin."""
    for origin in (EVIL, "null"):
        response, runs = await _post_run(server, {"Origin": origin, "Content-Type": "application/json"})
        assert response.status_code == 403, response.text
        assert runs == []


async def test_preflight_answers_no_other_origin_by_default(server: Server) -> None:
    request = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        preflight = await http.options("/runs/wait", headers={"Origin": EVIL, **request})
        plain = await http.get("/ok", headers={"Origin": EVIL})
    assert "access-control-allow-origin" not in preflight.headers, preflight.headers
    assert "access-control-allow-origin" not in plain.headers, plain.headers


async def test_a_rebound_host_name_is_refused(server: Server) -> None:
    """DNS rebinding: a page of evil.example whose name now points at 127.0.0.1 is same-origin to itself."""
    port = server.url.rsplit(":", 1)[1]
    rebound = f"evil.example:{port}"
    response, runs = await _post_run(server, {"Host": rebound, "Content-Type": "application/json"})
    assert response.status_code == 403, response.text
    assert "only loopback clients addressing a loopback host" in response.json()["detail"]
    assert runs == []
