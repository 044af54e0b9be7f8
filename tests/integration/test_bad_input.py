"""Bad input: each case ends blocked (or as a configuration error) with a message that says what is wrong.

Extra tickets and apps live in folders the tests create; the embedded Jira server and the
simulator serve them like the examples.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from graph.context import load_context
from qa_agent.runner import RunOutcome, run_ticket
from qa_agent.world.jira_server.process import jira_server_process
from qa_agent.world.scripted_llm import ScriptedLLMServer
from qa_agent.world.sim.process import simulator_process
from tests.conftest import APPS
from tests.llm_scripts import PTT4_SUMMARY, jira_agent_rules, ptt_plan
from tests.tickets import ticket_yaml, write_tickets

pytestmark = pytest.mark.slow
API_KEY = "sk-test-bad-input"
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
TEN_MB = 10 * 1024 * 1024


async def _run(key: str, tmp_path: Path, **overrides: Any) -> RunOutcome:
    ctx = load_context(report_root=tmp_path / "runs", **overrides)
    return await asyncio.wait_for(run_ticket(ctx, key), 120)


def _llm(llm: ScriptedLLMServer) -> dict[str, Any]:
    return {"llm_base_url": llm.base_url, "llm_api_key": API_KEY, "llm_max_retries": 0}


@pytest.fixture
async def sim() -> AsyncIterator[Any]:
    async with simulator_process(devices=2, apps_dir=APPS) as handle:
        yield handle


# --- tickets --------------------------------------------------------------------------------------


async def test_unknown_ticket_on_the_embedded_stdio_server(sim: Any, tmp_path: Path) -> None:
    # No JIRA_MCP_URL: the embedded server over stdio, on a tickets folder of our own.
    tickets = write_tickets(tmp_path / "tickets", ticket_yaml("OK-1", details="Given the user opens the app"))
    outcome = await _run("NOPE-404", tmp_path, tickets_dir=tickets, mobile_mcp_url=sim.url)
    assert outcome.verdict.result == "blocked" and outcome.exit_code == 2
    assert "ticket NOPE-404 does not exist" in outcome.verdict.justification
    assert str(tickets) in outcome.verdict.justification


async def test_one_broken_ticket_file_blocks_only_that_ticket(sim: Any, tmp_path: Path) -> None:
    tickets = write_tickets(tmp_path / "tickets", ticket_yaml("OK-1", details="Given the user opens the app"))
    (tickets / "BAD-1.yaml").write_text("key: BAD-1\nsummary: [unclosed\ndescription: x\n")
    bad_schema = yaml.safe_dump(ticket_yaml("BAD-2")).replace("summary:", "summry:")
    (tickets / "BAD-2.yaml").write_text(bad_schema)
    summry_line = bad_schema.splitlines().index(next(x for x in bad_schema.splitlines() if x.startswith("summry:"))) + 1

    broken = await _run("BAD-1", tmp_path, tickets_dir=tickets, mobile_mcp_url=sim.url)
    assert broken.verdict.result == "blocked"
    why = broken.verdict.justification
    assert f"{tickets / 'BAD-1.yaml'} is not valid YAML: line 3" in why and "starts at line 2" in why, why
    assert "unreachable" not in why
    schema = await _run("BAD-2", tmp_path, tickets_dir=tickets, mobile_mcp_url=sim.url)
    assert str(tickets / "BAD-2.yaml") in schema.verdict.justification
    assert f"line {summry_line}, summry: Extra inputs are not permitted" in schema.verdict.justification
    # The other tickets of the folder are served as usual.
    fine = await _run("OK-1", tmp_path, tickets_dir=tickets, mobile_mcp_url=sim.url)
    assert fine.state.get("ticket") is not None, fine.verdict.justification
    assert "BAD-" not in fine.verdict.justification


async def test_unknown_ticket_on_the_llm_path(jira_url: str, sim: Any, tmp_path: Path) -> None:
    async with ScriptedLLMServer([*jira_agent_rules("NOPE-404", PTT4_SUMMARY)], api_key=API_KEY) as llm:
        outcome = await _run("NOPE-404", tmp_path, jira_mcp_url=jira_url, mobile_mcp_url=sim.url, **_llm(llm))
    assert outcome.verdict.result == "blocked" and outcome.exit_code == 2
    assert "NOPE-404 does not exist" in outcome.verdict.justification


async def _run_without_details(llm_path: bool, sim: Any, tmp_path: Path) -> RunOutcome:
    tickets = write_tickets(tmp_path / "tickets", ticket_yaml("EMPTY-1", summary="Check the app"))
    empty = dict(PTT4_SUMMARY, title="Check the app", test_details="", expected_results=[], language="en")
    rules = [
        *jira_agent_rules("EMPTY-1", empty),
        {"schema_name": "PlannedTest", "content": ptt_plan(), "repeat": True},
    ]
    async with jira_server_process(tickets) as jira, ScriptedLLMServer(rules, api_key=API_KEY) as llm:
        extra = _llm(llm) if llm_path else {}
        outcome = await _run("EMPTY-1", tmp_path, jira_mcp_url=jira.url, mobile_mcp_url=sim.url, **extra)
        assert [a for a in await sim.actions() if a["tool"] != "mobile_list_available_devices"] == []
    return outcome


@pytest.mark.parametrize("llm_path", [False, True], ids=["offline", "llm"])
async def test_ticket_without_test_details_is_blocked_before_any_device_action(
    llm_path: bool, sim: Any, tmp_path: Path
) -> None:
    outcome = await _run_without_details(llm_path, sim, tmp_path)
    assert outcome.verdict.result == "blocked" and outcome.exit_code == 2


@pytest.mark.parametrize("llm_path", [False, True], ids=["offline", "llm"])
async def test_ticket_without_test_details_says_so(llm_path: bool, sim: Any, tmp_path: Path) -> None:
    outcome = await _run_without_details(llm_path, sim, tmp_path)
    assert "EMPTY-1 has no test details" in outcome.verdict.justification


# --- configuration ----------------------------------------------------------------------------------


def _cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JIRA_", "MOBILE_MCP", "LLM_", "OPENAI_", "QA_"))}
    return env | {"QA_REPORT_DIR": str(tmp_path / "runs"), "COLUMNS": "250", "NO_COLOR": "1"} | extra


async def _cli(tmp_path: Path, *args: str, **env: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "qa_agent.cli", *args,
        env=_cli_env(tmp_path, **env), cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out = (await asyncio.wait_for(proc.communicate(), 120))[0].decode(errors="replace")
    assert proc.returncode is not None
    return proc.returncode, " ".join(out.split())


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('["-m", "qa_agent.world.sim"', "MOBILE_MCP_ARGS_JSON is not valid JSON"),
        ('{"args": ["x"]}', "MOBILE_MCP_ARGS_JSON must be a JSON list of strings"),
        ("[1, 2]", "MOBILE_MCP_ARGS_JSON must be a JSON list of strings"),
    ],
)
async def test_malformed_mobile_mcp_args_json_is_a_configuration_error(
    value: str, message: str, tmp_path: Path
) -> None:
    code, out = await _cli(tmp_path, "run", "LOGIN-1", MOBILE_MCP_COMMAND=sys.executable, MOBILE_MCP_ARGS_JSON=value)
    assert code == 3, out
    assert "configuration error" in out and message in out
    assert not (tmp_path / "runs").exists()  # nothing started


async def test_missing_tickets_folder_is_a_configuration_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-tickets"
    code, out = await _cli(tmp_path, "run", "LOGIN-1", QA_TICKETS_DIR=str(missing))
    assert code == 3, out
    assert f"configuration error: invalid configuration: settings: QA_TICKETS_DIR: the tickets folder {missing}" in out
    assert "unreachable" not in out


@pytest.mark.parametrize("option", ["--concurrency", "--devices"])
async def test_batch_refuses_zero(tmp_path: Path, option: str) -> None:
    code, out = await _cli(tmp_path, "batch", "LOGIN-1", option, "0")
    assert code == 3, out
    assert f"argument {option}: must be 1 or more, got 0" in out


async def test_not_enough_simulated_devices_names_qa_sim_devices(jira_url: str, tmp_path: Path) -> None:
    outcome = await _run("PTT-1", tmp_path, jira_mcp_url=jira_url, sim_devices=1)
    assert outcome.verdict.result == "blocked"
    assert "the plan needs 2 devices, found 1" in outcome.verdict.justification
    assert "the embedded simulator has QA_SIM_DEVICES=1: set it to 2 or more" in outcome.verdict.justification


async def test_unreachable_jira_url_from_the_cli(tmp_path: Path) -> None:
    url = "http://127.0.0.1:9/mcp"
    code, out = await _cli(tmp_path, "run", "LOGIN-1", "--quiet", JIRA_MCP_URL=url)
    assert code == 2, out
    assert f"Jira MCP server unreachable ({url})" in out


# --- plans --------------------------------------------------------------------------------------------


def _plan_rules(key: str, summary: dict[str, Any], plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [*jira_agent_rules(key, summary), {"schema_name": "PlannedTest", "content": plan, "repeat": True}]


async def test_plan_step_with_an_unknown_tool(jira_url: str, sim: Any, tmp_path: Path) -> None:
    plan = ptt_plan()
    plan["steps"].insert(2, {"id": "S9", "driver": 1, "action": "tool", "args": {"name": "mobile_format_device"}})
    async with ScriptedLLMServer(_plan_rules("PTT-4", PTT4_SUMMARY, plan), api_key=API_KEY) as llm:
        outcome = await _run("PTT-4", tmp_path, jira_mcp_url=jira_url, mobile_mcp_url=sim.url, **_llm(llm))
        planner_calls = [r for r in llm.requests if r.schema_name == "PlannedTest"]
        assert len(planner_calls) == 2  # the errors went back to the model once
        assert "mobile_format_device" in str(planner_calls[1].body)
        assert [a for a in await sim.actions() if a["tool"] != "mobile_list_available_devices"] == []
    assert outcome.verdict.result == "blocked" and outcome.exit_code == 2
    assert "step S9 (driver 1, tool): tool 'mobile_format_device' is not allowed" in outcome.verdict.justification


async def test_driver_number_out_of_range_llm(jira_url: str, sim: Any, tmp_path: Path) -> None:
    plan = ptt_plan()
    plan["steps"][1]["driver"] = 3  # two phones connected
    async with ScriptedLLMServer(_plan_rules("PTT-4", PTT4_SUMMARY, plan), api_key=API_KEY) as llm:
        outcome = await _run("PTT-4", tmp_path, jira_mcp_url=jira_url, mobile_mcp_url=sim.url, **_llm(llm))
    assert outcome.verdict.result == "blocked" and outcome.exit_code == 2
    assert "driver 3 is out of range: 2 device(s) connected" in outcome.verdict.justification


async def test_driver_number_out_of_range_gherkin(sim: Any, tmp_path: Path) -> None:
    details = (
        "Feature: Five phones\n  Scenario: all of them\n    Given user1 opens the app\n"
        '    And user5 opens the app\n    Then user5 sees "Talk"\n'
    )
    tickets = write_tickets(
        tmp_path / "tickets", ticket_yaml("FIVE-1", description="package com.example.ptt", details=details)
    )
    async with jira_server_process(tickets) as jira:
        outcome = await _run("FIVE-1", tmp_path, jira_mcp_url=jira.url, mobile_mcp_url=sim.url)
    assert outcome.verdict.result == "blocked" and outcome.exit_code == 2
    assert "the plan needs 5 devices, found 2" in outcome.verdict.justification


async def test_forced_device_that_is_not_connected(jira_url: str, sim: Any, tmp_path: Path) -> None:
    outcome = await _run(
        "LOGIN-1", tmp_path, jira_mcp_url=jira_url, mobile_mcp_url=sim.url, force_devices={1: "emulator-9999"}
    )
    assert outcome.verdict.result == "blocked"
    assert "forced device not connected: FORCE_DEVICE_DRIVER1=emulator-9999" in outcome.verdict.justification


async def test_missing_package_on_the_llm_path(jira_url: str, sim: Any, tmp_path: Path) -> None:
    summary = dict(PTT4_SUMMARY, package=None)
    tickets = write_tickets(
        tmp_path / "tickets",
        ticket_yaml("NOPKG-1", description="Maintenir Talk sur le tél 1, le tél 2 affiche qui parle."),
    )
    async with (
        jira_server_process(tickets) as jira,
        ScriptedLLMServer(_plan_rules("NOPKG-1", summary, ptt_plan()), api_key=API_KEY) as llm,
    ):
        outcome = await _run("NOPKG-1", tmp_path, jira_mcp_url=jira.url, mobile_mcp_url=sim.url, **_llm(llm))
    assert outcome.verdict.result == "blocked" and outcome.exit_code == 2
    assert "missing package name" in outcome.verdict.justification
    assert "GLOBAL_PACKAGE" in outcome.verdict.justification


async def test_package_not_installed_on_the_device(jira_url: str, sim: Any, tmp_path: Path) -> None:
    outcome = await _run(
        "LOGIN-1", tmp_path, jira_mcp_url=jira_url, mobile_mcp_url=sim.url, global_package="com.example.nope"
    )
    assert outcome.verdict.result == "blocked" and outcome.exit_code == 2
    assert "com.example.nope" in outcome.verdict.justification
    assert "is it installed?" in outcome.verdict.justification


# --- huge and hostile tool output ---------------------------------------------------------------------


async def test_ten_megabyte_ticket_with_control_characters(sim: Any, tmp_path: Path) -> None:
    """Through the jira_agent: the tool text the model sees is stripped and truncated with the marker."""
    noise = "\x1b[2J\x07\x00 Maintenir Talk\x08\x1b[31m " * 20 + "A" * TEN_MB
    tickets = write_tickets(tmp_path / "tickets", ticket_yaml("BIG-1", description=noise))
    summary = dict(PTT4_SUMMARY, title="Big")
    rules = [*jira_agent_rules("BIG-1", summary), {"schema_name": "PlannedTest", "content": ptt_plan()}]
    async with jira_server_process(tickets) as jira, ScriptedLLMServer(rules, api_key=API_KEY) as llm:
        outcome = await _run(
            "BIG-1", tmp_path, jira_mcp_url=jira.url, mobile_mcp_url=sim.url, max_tool_chars=5000, **_llm(llm)
        )
        tool_messages = [
            m["content"] for r in llm.requests for m in (r.body or {}).get("messages", []) if m.get("role") == "tool"
        ]
        largest = max(r.prompt_chars for r in llm.requests)
    assert outcome.verdict.result == "success", outcome.verdict.justification
    assert tool_messages
    for content in tool_messages:
        text = content if isinstance(content, str) else json.dumps(content)
        assert len(text) < 5000 + 200
        assert "...[truncated:" in text
        assert not CONTROL.search(text)
    assert largest < 100_000
    _assert_bounded(outcome, tmp_path)


async def test_ten_megabyte_ticket_offline(tmp_path: Path) -> None:
    details = (
        'Feature: Sign in\n  Scenario: ok\n    Given the user opens the app\n    Then the user sees "Sign in to Acme"\n'
    )
    noise = "Package: com.example.login\n" + "\x1b[31m\x07noise\x00 " * 10 + "B" * TEN_MB
    tickets = write_tickets(tmp_path / "tickets", ticket_yaml("BIG-2", description=noise, details=details))
    async with jira_server_process(tickets) as jira, simulator_process(devices=1, apps_dir=APPS) as one:
        outcome = await _run("BIG-2", tmp_path, jira_mcp_url=jira.url, mobile_mcp_url=one.url)
    assert outcome.verdict.result == "success", outcome.verdict.justification
    _assert_bounded(outcome, tmp_path)


def _noise_apps(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for app in APPS.glob("*.yaml"):
        shutil.copy(app, folder / app.name)
    app = {
        "package": "com.example.noise",
        "name": "Noise",
        "version": "1",
        "start": "main",
        "screens": {
            "main": {
                "elements": [
                    {"key": "ready", "text": "Noise ready", "bounds": [0, 100, 1080, 100]},
                    {"key": "ctl", "text": "bell\x07 esc\x1b[31mred\x1b[0m nul\x00 end", "bounds": [0, 300, 1080, 100]},
                    {"key": "big", "text": "BIG " * (TEN_MB // 4), "bounds": [0, 500, 1080, 100]},
                ]
            }
        },
    }
    (folder / "noise.yaml").write_text(yaml.safe_dump(app, width=10**9))
    return folder


@pytest.mark.parametrize(("expect", "verdict"), [("Noise ready", "success"), ("Missing banner", "failure")])
async def test_device_screen_with_huge_and_control_character_text(expect: str, verdict: str, tmp_path: Path) -> None:
    details = (
        "Feature: Noise\n  Scenario: a noisy screen\n    Given the user opens the app\n"
        f'    Then the user sees "{expect}" within 1 seconds\n'
    )
    tickets = write_tickets(
        tmp_path / "tickets", ticket_yaml("NOISE-1", description="Package: com.example.noise", details=details)
    )
    apps = _noise_apps(tmp_path / "apps")
    async with jira_server_process(tickets) as jira, simulator_process(devices=1, apps_dir=apps) as one:
        outcome = await _run("NOISE-1", tmp_path, jira_mcp_url=jira.url, mobile_mcp_url=one.url)
    assert outcome.verdict.result == verdict, outcome.verdict.justification
    assert not CONTROL.search(outcome.verdict.justification)
    for r in outcome.state["results"]:
        assert len(r.message) < 20_000
        assert not CONTROL.search(r.message)
        if r.evidence and r.evidence.elements:
            assert len(r.evidence.elements) < 5_000
            assert not CONTROL.search(r.evidence.elements)
    _assert_bounded(outcome, tmp_path)


def _assert_bounded(outcome: RunOutcome, tmp_path: Path) -> None:
    """Neither the reports nor the checkpoint database carry the megabytes; no control characters either."""
    report_dir = Path(outcome.report_dir or "")
    for name in ("report.json", "junit.xml", "report.html"):
        path = report_dir / name
        assert path.stat().st_size < 2_000_000, f"{name} is {path.stat().st_size} bytes"
        assert not CONTROL.search(path.read_text(encoding="utf-8")), f"control characters in {name}"
    checkpoints = tmp_path / "runs" / "checkpoints.sqlite"
    total = sum(p.stat().st_size for p in checkpoints.parent.glob("checkpoints.sqlite*"))
    assert total < 20_000_000, f"checkpoint database is {total} bytes"
    ticket = outcome.state.get("ticket")
    if ticket is not None:
        assert len(ticket.description) < 200_000
        assert len(json.dumps(ticket.raw)) < 200_000
        assert not CONTROL.search(ticket.description)
