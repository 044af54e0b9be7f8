"""A plan acts on its lanes' devices only and launches only the ticket's packages (or QA_ALLOWED_PACKAGES)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from graph.context import load_context
from graph.state import Step
from qa_agent.devices.actions import LaneDriver, run_step
from qa_agent.devices.sessions import tool_schemas
from qa_agent.runner import RunOutcome, run_ticket
from qa_agent.world.scripted_llm import ScriptedLLMServer
from qa_agent.world.sim.process import simulator_process
from qa_agent.world.sim.testing import http_session
from tests.conftest import APPS
from tests.llm_scripts import PTT4_SUMMARY, jira_agent_rules, ptt_plan

pytestmark = pytest.mark.slow
OTHER_RUNS_DEVICE = "emulator-5558"  # the simulator's third device: not assigned to this two-driver run


@pytest.fixture
async def sim() -> AsyncIterator[Any]:
    async with simulator_process(devices=3, apps_dir=APPS) as handle:
        yield handle


async def _run_plan(plan: dict[str, Any], jira_url: str, sim: Any, tmp_path: Path, **overrides: Any) -> RunOutcome:
    rules = [*jira_agent_rules("PTT-4", PTT4_SUMMARY), {"schema_name": "PlannedTest", "content": plan, "repeat": True}]
    async with ScriptedLLMServer(rules, api_key="k-test") as llm:
        ctx = load_context(
            report_root=tmp_path / "runs", jira_mcp_url=jira_url, mobile_mcp_url=sim.url,
            llm_base_url=llm.base_url, llm_api_key="k-test", llm_max_retries=0, **overrides,
        )  # fmt: skip
        return await asyncio.wait_for(run_ticket(ctx, "PTT-4"), 120)


def _launches(actions: list[dict[str, Any]]) -> list[tuple[str | None, str]]:
    return [(a["device"], a["arguments"].get("packageName")) for a in actions if a["tool"] == "mobile_launch_app"]


async def test_llm_plan_naming_another_runs_device_is_refused(jira_url: str, sim: Any, tmp_path: Path) -> None:
    plan = ptt_plan()
    plan["steps"].insert(
        0,
        {"id": "X1", "driver": 1, "action": "tool", "args": {"name": "mobile_launch_app",
         "args": {"device": OTHER_RUNS_DEVICE, "packageName": "com.example.ptt"}}},
    )  # fmt: skip
    outcome = await _run_plan(plan, jira_url, sim, tmp_path)
    actions = await sim.actions()
    assert outcome.verdict.result == "blocked"
    assert "step X1 " in outcome.verdict.justification
    assert "devices are assigned by the agent; remove the device argument" in outcome.verdict.justification
    assert [a for a in actions if a["device"] == OTHER_RUNS_DEVICE] == []


async def test_plan_launching_another_package_is_refused_until_allowed(jira_url: str, sim: Any, tmp_path: Path) -> None:
    plan = ptt_plan()
    plan["steps"].insert(0, {"id": "X1", "driver": 1, "action": "launch_app", "args": {"package": "com.example.call"}})
    plan["steps"].insert(
        1,
        {"id": "X2", "driver": 2, "action": "tool",
         "args": {"name": "mobile_launch_app", "args": {"packageName": "com.example.login"}}},
    )  # fmt: skip
    refused = await _run_plan(plan, jira_url, sim, tmp_path / "refused")
    assert refused.verdict.result == "blocked"
    text = refused.verdict.justification
    assert "package 'com.example.call'" in text and "package 'com.example.login'" in text
    assert "add it to QA_ALLOWED_PACKAGES" in text
    assert [p for _, p in _launches(await sim.actions()) if p != "com.example.ptt"] == []

    await sim.reset()
    allowed = await _run_plan(
        plan, jira_url, sim, tmp_path / "allowed", allowed_packages=["com.example.call", "com.example.login"]
    )
    launched = {p for _, p in _launches(await sim.actions())}
    assert {"com.example.call", "com.example.login"} <= launched, allowed.verdict.justification


async def test_execution_keeps_a_step_on_its_lanes_device(tmp_path: Path) -> None:
    """A plan that skipped validation (stored, tampered) still cannot reach another device."""
    async with simulator_process(devices=2, apps_dir=APPS) as two, http_session(two.url) as session:
        schemas = tool_schemas((await session.list_tools()).tools)

        async def get_session() -> Any:
            return session

        async def reconnect() -> None:
            return None

        driver = LaneDriver(
            ctx=load_context(report_root=tmp_path / "runs"), driver=1, device="emulator-5554",
            package="com.example.ptt", schemas=schemas, get_session=get_session, reconnect=reconnect,
            evidence_dir=tmp_path / "runs" / "r" / "evidence",
        )  # fmt: skip
        for device_key in ("device", "deviceId"):
            args = {device_key: "emulator-5556", "packageName": "com.example.ptt"}
            step = Step(id="S1", driver=1, action="tool", args={"name": "mobile_launch_app", "args": args})
            result = await run_step(driver, step, segment=0, attempt=0)
            assert result.status == "passed", result.message
        actions = await two.actions()
    assert _launches(actions) == [("emulator-5554", "com.example.ptt")] * 2


async def test_a_plan_cannot_write_a_screenshot_where_it_likes(jira_url: str, sim: Any, tmp_path: Path) -> None:
    """mobile_save_screenshot writes wherever `saveTo` says; evidence is the agent's to place."""
    target = tmp_path / "not-the-report-folder.png"
    plan = ptt_plan()
    plan["steps"].insert(
        1, {"id": "X1", "driver": 1, "action": "tool", "args": {"name": "mobile_save_screenshot",
            "args": {"saveTo": str(target)}}},
    )  # fmt: skip
    outcome = await _run_plan(plan, jira_url, sim, tmp_path)
    assert outcome.verdict.result == "blocked"
    assert "mobile_save_screenshot" in outcome.verdict.justification
    assert not target.exists()
    assert [a for a in await sim.actions() if a["tool"] == "mobile_save_screenshot"] == []
