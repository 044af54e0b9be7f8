"""The REST stand-in as Jira Cloud (v3: ADF bodies, accountId-only users, enhanced search with nextPageToken)
and as Jira Server/DC (v2 only), over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from qa_agent.adf import is_adf
from qa_agent.world.jira_rest.process import jira_rest_process
from tests.tickets import ptt_where_teams_keep_steps, ticket_yaml, write_tickets

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def clients(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    homes = [ticket for ticket, _ in ptt_where_teams_keep_steps().values()]
    chatty = ticket_yaml("PTT-20", description="h2. Steps\n* one\n* two")
    chatty["comments"] = [
        {
            "id": str(10500 + i),
            "author": {"display_name": "Bob", "name": "bob"},
            "created": chatty["created"],
            "body": f"c{i}",
        }
        for i in range(7)
    ]
    out = {}
    async with (
        jira_rest_process(write_tickets(tmp_path_factory.mktemp("cloud"), *homes, chatty), flavor="cloud") as cloud,
        jira_rest_process(write_tickets(tmp_path_factory.mktemp("server"), *homes, chatty)) as server,
        httpx.AsyncClient(base_url=cloud.url, trust_env=False) as c,
        httpx.AsyncClient(base_url=server.url, trust_env=False) as s,
    ):
        out = {"cloud": c, "server": s}
        yield out


async def test_cloud_issue_v3_is_adf_with_account_ids_and_real_fields(clients: dict[str, httpx.AsyncClient]) -> None:
    cloud = clients["cloud"]
    issue = (await cloud.get("/rest/api/3/issue/PTT-13", params={"expand": "names"})).json()
    fields = issue["fields"]
    assert is_adf(fields["description"])
    assert fields["description"]["content"][2] == {
        "type": "heading",
        "attrs": {"level": 2},
        "content": [{"type": "text", "text": "Test steps"}],
    }
    reporter = fields["reporter"]
    assert reporter["accountId"] and not {"name", "key", "emailAddress"} & set(reporter)
    assert len(fields) > 35 and fields["resolution"] is None and fields["duedate"] is None
    assert issue["names"]["customfield_10016"] == "Story point estimate"
    v2 = (await cloud.get("/rest/api/2/issue/PTT-13")).json()["fields"]["description"]
    assert isinstance(v2, str) and "h2. Test steps" in v2 and "{code:gherkin}" in v2
    me = (await cloud.get("/rest/api/3/myself")).json()
    assert me["accountId"] and "name" not in me
    listed = {f["id"]: f for f in (await cloud.get("/rest/api/3/field")).json()}
    assert listed["customfield_10201"]["name"] == "Cucumber Scenario"
    multi = listed["customfield_10104"]["schema"]
    assert (multi["type"], multi["items"], multi["custom"].rsplit(":", 1)[1]) == ("array", "option", "multiselect")
    assert listed["customfield_10016"]["schema"]["type"] == "number"


async def test_cloud_enhanced_search_pages_with_tokens(clients: dict[str, httpx.AsyncClient]) -> None:
    cloud = clients["cloud"]
    keys, token, pages = [], None, 0
    while True:
        body = {"jql": "project = PTT ORDER BY key", "maxResults": 2, "fields": ["summary"]}
        page = (
            await cloud.post("/rest/api/3/search/jql", json=body | ({"nextPageToken": token} if token else {}))
        ).json()
        assert "total" not in page
        keys += [i["key"] for i in page["issues"]]
        pages += 1
        token = page.get("nextPageToken")
        if page["isLast"]:
            assert token is None
            break
    assert keys == ["PTT-11", "PTT-12", "PTT-13", "PTT-20"] and pages == 2
    assert (await cloud.get("/rest/api/2/search", params={"jql": "project = PTT"})).status_code == 410
    bad = await cloud.get("/rest/api/3/search/jql", params={"jql": "project = PTT", "nextPageToken": "garbage"})
    assert bad.status_code == 400


async def test_comment_paging_and_adf_comment_validation(clients: dict[str, httpx.AsyncClient]) -> None:
    cloud, server = clients["cloud"], clients["server"]
    page = (await cloud.get("/rest/api/3/issue/PTT-20/comment", params={"startAt": 5, "maxResults": 5})).json()
    assert (page["total"], page["startAt"], len(page["comments"])) == (7, 5, 2)
    assert is_adf(page["comments"][0]["body"])
    broken = {"type": "doc", "version": 1, "content": [{"type": "table", "content": [
        {"type": "tableRow", "content": [{"type": "tableHeader", "content": [{"type": "paragraph"}]}] * 2},
        {"type": "tableRow", "content": [{"type": "tableCell", "content": [{"type": "paragraph"}]}] * 3},
    ]}]}  # fmt: skip
    refused = await cloud.post("/rest/api/3/issue/PTT-20/comment", json={"body": broken})
    assert refused.status_code == 400 and "different numbers of cells" in refused.text
    assert (await cloud.post("/rest/api/3/issue/PTT-20/comment", json={"body": "plain"})).status_code == 400
    # Server/DC has no v3 and keeps Server's users and wiki bodies.
    assert (await server.get("/rest/api/3/issue/PTT-20")).status_code == 404
    issue = (await server.get("/rest/api/2/issue/PTT-20")).json()
    assert issue["fields"]["reporter"]["name"] == "qa-bot" and isinstance(issue["fields"]["description"], str)
    total = (await server.get("/rest/api/2/search", params={"jql": "project = PTT", "maxResults": 1})).json()["total"]
    assert total == 4


async def test_labels_update_and_absolute_form_requests(clients: dict[str, httpx.AsyncClient], tmp_path: Path) -> None:
    cloud = clients["cloud"]
    done = await cloud.put("/rest/api/3/issue/PTT-20", json={"update": {"labels": [{"add": "qa-agent:failure"}]}})
    assert done.status_code == 204
    assert "qa-agent:failure" in (await cloud.get("/rest/api/3/issue/PTT-20")).json()["fields"]["labels"]
    refused = await cloud.put("/rest/api/3/issue/PTT-20", json={"fields": {"summary": "x"}})
    assert refused.status_code == 400
    # As a proxy for a Cloud hostname (how mcp-atlassian in Cloud mode reaches it).
    async with httpx.AsyncClient(proxy=str(cloud.base_url).rstrip("/"), trust_env=False) as proxied:
        me = await proxied.get("http://acme.atlassian.net/rest/api/3/myself")
    assert me.status_code == 200 and me.json()["self"].startswith("http://acme.atlassian.net/")
