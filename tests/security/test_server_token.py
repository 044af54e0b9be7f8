"""Who is served: with QA_SERVER_TOKEN every request needs it (Studio's auth bypass included);
without it a server listening beyond loopback refuses everything. A configured origin is served."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from langgraph_sdk import get_client

from tests.langgraph_dev import Server, qa_server

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]
TOKEN = "qa-server-token-Fj3-test"
STUDIO = "https://studio.example"
RUN = {"assistant_id": "qa", "input": {"ticket_key": "NOPE-404"}}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def with_token(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    cors = {"allow_origins": [STUDIO], "allow_methods": ["*"], "allow_headers": ["*"]}
    async with qa_server(
        tmp_path_factory.mktemp("token"), QA_SERVER_TOKEN=TOKEN, CORS_CONFIG=json.dumps(cors)
    ) as served:
        yield served


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def on_all_interfaces(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    # 0.0.0.0 is reachable from other machines; here we only knock through loopback.
    async with qa_server(tmp_path_factory.mktemp("all-interfaces"), host="0.0.0.0") as served:
        yield served


async def test_the_token_is_required_and_serves_runs(with_token: Server) -> None:
    async with httpx.AsyncClient(base_url=with_token.url, timeout=60) as http:
        missing = await http.post("/threads", json={})
        wrong = await http.post("/threads", json={}, headers={"Authorization": "Bearer not-the-token"})
        # langgraph dev lets Studio in with this header unless disable_studio_auth is set
        studio = await http.post("/threads/search", json={}, headers={"x-auth-scheme": "langsmith"})
        run = await http.post("/runs/wait", json=RUN)
        health = await http.get("/ok")
    assert missing.status_code == 401 and "missing bearer token" in missing.json()["detail"]
    assert wrong.status_code == 401 and wrong.json()["detail"] == "invalid bearer token"
    assert studio.status_code == 401
    assert run.status_code == 401
    assert health.status_code == 200  # health checks stay open
    # and with the token, runs work
    client = get_client(url=with_token.url, headers={"Authorization": f"Bearer {TOKEN}"})
    thread = await client.threads.create()
    out = await client.runs.wait(thread["thread_id"], "qa", input={"ticket_key": "LOGIN-1"})
    assert isinstance(out, dict)
    assert out["verdict"]["result"] == "success", out["verdict"]["justification"]
    assert TOKEN not in json.dumps(await client.runs.list(thread["thread_id"]))


async def test_the_meta_routes_need_the_token_too(with_token: Server) -> None:
    """/metrics, /openapi.json, /docs and /info are served outside the auth handler by langgraph-api."""
    async with httpx.AsyncClient(base_url=with_token.url, timeout=60) as http:
        for path in ("/metrics", "/openapi.json", "/docs", "/info"):
            bare = await http.get(path)
            assert bare.status_code == 401, (path, bare.text[:200])
            assert "missing bearer token" in bare.json()["detail"]
            allowed = await http.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
            assert allowed.status_code == 200, (path, allowed.text[:200])
        assert (await http.get("/ok")).status_code == 200
        # a route the server may add later is closed too, and a CORS preflight still gets its answer
        assert (await http.get("/a-route-of-a-later-version")).status_code == 401
        preflight = {"Origin": STUDIO, "Access-Control-Request-Method": "POST"}
        assert (await http.options("/threads", headers=preflight)).status_code == 200


async def test_a_configured_origin_is_served_and_no_other(with_token: Server) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    authorized = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=with_token.url, timeout=60) as http:
        allowed = await http.options("/threads", headers={"Origin": STUDIO, **preflight})
        created = await http.post("/threads", content="{}", headers={"Origin": STUDIO, **authorized})
        # the token does not make another origin acceptable: a page must not ride on a stored token
        evil = await http.post("/threads", content="{}", headers={"Origin": "http://evil.example", **authorized})
    assert allowed.headers.get("access-control-allow-origin") == STUDIO, allowed.headers
    assert created.status_code == 200, created.text
    assert created.headers.get("access-control-allow-origin") == STUDIO
    assert evil.status_code == 403 and "cross-origin request from http://evil.example" in evil.json()["detail"]


async def test_beyond_loopback_without_a_token_refuses_everything(on_all_interfaces: Server) -> None:
    async with httpx.AsyncClient(base_url=on_all_interfaces.url, timeout=60) as http:
        answers = [
            await http.post("/threads", json={}),
            await http.post("/threads/search", json={}),
            await http.post("/runs/wait", json=RUN),
            await http.post("/assistants/search", json={}, headers={"x-auth-scheme": "langsmith"}),
            await http.get("/metrics"),
            await http.get("/openapi.json"),
        ]
    for answer in answers:
        assert answer.status_code == 403, answer.text
        assert "listens beyond loopback (0.0.0.0) without QA_SERVER_TOKEN" in answer.json()["detail"]
    assert not on_all_interfaces.report_dir.exists()  # no run happened
