"""A device lab: several device servers (hosts) in one pool, each lane on the host that owns its device."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.context import load_context
from qa_agent.runner import run_ticket
from tests.conftest import APPS, TICKETS

pytestmark = pytest.mark.slow


async def test_lane_drives_the_host_that_owns_its_device_and_a_dead_host_is_left_out(
    jira_url: str, tmp_path: Path
) -> None:
    from qa_agent.world.sim.process import simulator_process

    async with simulator_process(devices=2, apps_dir=APPS) as a, simulator_process(devices=2, apps_dir=APPS) as b:
        dead = "http://127.0.0.1:9/mcp"  # nothing listens: only its devices are missing
        ctx = load_context(
            jira_mcp_url=jira_url,
            mobile_mcp_urls=[a.url, b.url, dead],
            report_root=tmp_path,
            force_devices={1: "host2/emulator-5554", 2: "host2/emulator-5556"},
        )
        outcome = await run_ticket(ctx, "PTT-1")
        a_actions, b_actions = await a.actions(), await b.actions()
    assert outcome.verdict.result == "success", outcome.verdict.justification
    # Both hosts list the same ids, so the lab qualifies them; the dead host adds none.
    assert outcome.state["devices"] == [
        "host1/emulator-5554", "host1/emulator-5556", "host2/emulator-5554", "host2/emulator-5556"
    ]  # fmt: skip
    world = outcome.state["world"]
    assert world.world_id is None  # host3 gives no world id: a resume cannot prove the world unchanged
    assert world.accounts["host2/emulator-5554"] == "Alice"
    assert {r.device for r in outcome.state["results"]} == {"host2/emulator-5554", "host2/emulator-5556"}
    # Host 1 was only listed; the device calls went to host 2, with its own ids.
    assert {x["device"] for x in a_actions} == {None}
    assert {x["device"] for x in b_actions} == {None, "emulator-5554", "emulator-5556"}


async def test_a_bad_lab_file_blocks_the_run_naming_the_problem(jira_url: str, tmp_path: Path) -> None:
    lab = tmp_path / "lab.yaml"
    lab.write_text("hosts:\n  - name: rack-a\n    url: http://127.0.0.1:9/mcp\n    command: npx\n", encoding="utf-8")
    outcome = await run_ticket(load_context(jira_mcp_url=jira_url, lab_file=lab, report_root=tmp_path), "LOGIN-1")
    assert outcome.verdict.result == "blocked"
    assert f"QA_LAB_FILE {lab}" in outcome.verdict.justification
    assert "give exactly one of url (streamable HTTP) or command (stdio)" in outcome.verdict.justification


async def test_a_ticket_gets_a_device_with_the_labels_it_asks_for(tmp_path: Path) -> None:
    from qa_agent.world.jira_server.process import jira_server_process
    from qa_agent.world.sim.process import simulator_process

    tickets = tmp_path / "tickets"
    tickets.mkdir()
    login = (TICKETS / "LOGIN-1.yaml").read_text(encoding="utf-8")
    (tickets / "LOGIN-1.yaml").write_text(login.replace("[login, smoke]", "[login, qa-device:Tablet]"), "utf-8")
    (tickets / "LOGIN-9.yaml").write_text(
        login.replace("LOGIN-1", "LOGIN-9").replace("[login, smoke]", "[login, qa-device:watch]"), "utf-8"
    )
    async with simulator_process(devices=2, apps_dir=APPS) as a, simulator_process(devices=2, apps_dir=APPS) as b:
        lab = tmp_path / "lab.yaml"
        lab.write_text(
            f"hosts:\n  - name: rack-a\n    url: {a.url}\n    labels: [android-15]\n"
            f"  - name: rack-b\n    url: {b.url}\n    labels: [android-15]\n"
            "    device_labels: {emulator-5556: [tablet]}\n",
            encoding="utf-8",
        )
        async with jira_server_process(tickets) as jira:
            ctx = load_context(jira_mcp_url=jira.url, lab_file=lab, report_root=tmp_path)
            tablet = await run_ticket(ctx, "LOGIN-1")
            watch = await run_ticket(ctx, "LOGIN-9")
    assert tablet.verdict.result == "success", tablet.verdict.justification
    assert [d.device for d in tablet.state["drivers"]] == ["rack-b/emulator-5556"]
    assert watch.verdict.result == "blocked"
    assert "asks for devices labelled watch; no device of the lab has them all" in watch.verdict.justification
