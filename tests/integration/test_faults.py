"""Faults the agent must survive: each run ends with the right verdict and exit code, never a hang.

Every test drives the real graph (`run_ticket`) against the device simulator and the embedded
Jira server; the simulator's action log proves what happened on the devices.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from graph.context import load_context
from qa_agent.devices.logcapture import LOG_READ_TOOLS
from qa_agent.runner import RunOutcome, run_ticket
from qa_agent.world.scripted_llm import ScriptedLLMServer
from qa_agent.world.sim.process import simulator_process, stdio_command
from tests.conftest import APPS

pytestmark = pytest.mark.slow
TRANSIENT = "simulated transient fault"
RUN_LIMIT_S = 90.0  # a run that takes longer than this is a hang


async def _run(key: str, jira_url: str, tmp_path: Path, on_event: Any = None, **overrides: Any) -> RunOutcome:
    ctx = load_context(jira_mcp_url=jira_url, report_root=tmp_path / "runs", **overrides)
    return await asyncio.wait_for(run_ticket(ctx, key, on_event=on_event), RUN_LIMIT_S)


def _children() -> dict[int, str]:
    """Direct child processes of this test process: pid -> command line."""
    out: dict[int, str] = {}
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == me:
                out[int(entry)] = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
    return out


def _device_actions(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lanes' device calls: not discovery, nor the run's log capture (its own session, beside them)."""
    return [a for a in actions if a["tool"] not in ("mobile_list_available_devices", *LOG_READ_TOOLS)]


# --- transient errors --------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "expected"), [("CALL-1", "success"), ("PTT-2", "failure")])
async def test_transient_errors_are_retried_and_the_verdict_holds(
    key: str, expected: str, jira_url: str, tmp_path: Path
) -> None:
    async with simulator_process(devices=4, apps_dir=APPS, seed=3, error_rate=0.15) as sim:
        outcome = await _run(key, jira_url, tmp_path, mobile_mcp_url=sim.url, step_backoff_base_s=0.05)
        actions = await sim.actions()
    assert outcome.verdict.result == expected, outcome.verdict.justification
    assert outcome.exit_code == {"success": 0, "failure": 1}[expected]
    faults = [a for a in actions if not a["ok"] and TRANSIENT in (a["error"] or "")]
    assert len(faults) >= 3, "the seed should inject several transient faults"
    # Every failed try was tried again: each fault is followed by the same tool on the same device.
    for fault in faults:
        later = [a for a in _device_actions(actions) if a["seq"] > fault["seq"] and a["device"] == fault["device"]]
        assert later and later[0]["tool"] == fault["tool"], f"no retry after {fault}"
    # Nothing learned is lost: the step results count every try, retries included.
    results = outcome.state["results"]
    assert sum(r.tool_calls for r in results) == len(_device_actions(actions))
    report = json.loads((Path(outcome.report_dir or "") / "report.json").read_text())
    assert report["stats"]["device_tool_calls"] == len(_device_actions(actions))


# --- hung calls ----------------------------------------------------------------------------------


async def test_hung_calls_time_out_and_the_run_completes(jira_url: str, tmp_path: Path) -> None:
    # Seed 3 hangs launches and element listings on several devices, and one tap.
    async with simulator_process(
        devices=4, apps_dir=APPS, seed=3, hang_rate=0.1, extra_args=["--hang-s", "1.5"]
    ) as sim:
        outcome = await _run(
            "CALL-1",
            jira_url,
            tmp_path,
            mobile_mcp_url=sim.url,
            step_default_timeout_s=1.0,
            step_backoff_base_s=0.3,
        )
        actions = await sim.actions()
    assert outcome.verdict.result == "success", outcome.verdict.justification
    assert outcome.exit_code == 0
    hung = [
        a for a in _device_actions(actions)
        if a["end"] - a["start"] >= 1.4 and a["tool"] != "mobile_long_press_on_screen_at_coordinates"
    ]  # fmt: skip
    assert len(hung) >= 2
    # A hung read-only call was tried again after its timeout.
    retried = [
        h for h in hung
        if any(a["seq"] > h["seq"] and a["device"] == h["device"] and a["tool"] == h["tool"] for a in actions)
    ]  # fmt: skip
    assert retried


def _seed_hanging_only(device: str, call_number: int, calls: int, rate: float) -> int:
    """A seed whose hang draws (see qa_agent/world/sim/README.md, Knobs) hit exactly that call of the device."""
    for seed in range(100_000):
        rng = random.Random(f"{seed}:{device}")
        draws = [(rng.random(), rng.random())[1] for _ in range(calls)]
        if [k for k, draw in enumerate(draws, start=1) if draw < rate] == [call_number]:
            return seed
    raise AssertionError("no such seed")


async def test_a_hung_typing_call_is_never_sent_twice(jira_url: str, tmp_path: Path) -> None:
    """The first typing call hangs 1.5 s, longer than the 1 s timeout; the server types the text anyway.

    Sending it again would type the e-mail twice and turn a correct login into "Invalid credentials"
    (a wrong failure verdict): the agent waits for the device to answer again instead.
    """
    async with simulator_process(devices=1, apps_dir=APPS) as clean:
        first = await _run("LOGIN-1", jira_url, tmp_path / "clean", mobile_mcp_url=clean.url)
        assert first.verdict.result == "success", first.verdict.justification
        calls = _device_actions(await clean.actions())
    typing_call = next(n for n, a in enumerate(calls, start=1) if a["tool"] == "mobile_type_keys")
    seed = _seed_hanging_only("emulator-5554", typing_call, len(calls) + 5, 0.1)
    async with simulator_process(
        devices=1, apps_dir=APPS, seed=seed, hang_rate=0.1, extra_args=["--hang-s", "1.5"]
    ) as sim:
        outcome = await _run(
            "LOGIN-1",
            jira_url,
            tmp_path / "hung",
            mobile_mcp_url=sim.url,
            step_default_timeout_s=1.0,
            step_backoff_base_s=0.3,
        )
        actions = await sim.actions()
    typing = [a for a in actions if a["tool"] == "mobile_type_keys"]
    assert typing[0]["end"] - typing[0]["start"] >= 1.4, f"seed {seed} should hang the first typing call"
    assert [a["arguments"]["text"] for a in typing] == ["alice@example.com", "secret"]
    assert outcome.verdict.result == "success", outcome.verdict.justification
    step = next(r for r in outcome.state["results"] if r.action == "type_into")
    assert step.status == "passed"


async def test_a_long_press_longer_than_the_step_timeout_is_not_a_timeout(jira_url: str, tmp_path: Path) -> None:
    """PTT-1 holds Talk for 4 s; the per-call timeout (1.5 s) bounds the answer after the hold."""
    async with simulator_process(devices=2, apps_dir=APPS) as sim:
        outcome = await _run("PTT-1", jira_url, tmp_path, mobile_mcp_url=sim.url, step_default_timeout_s=1.5)
        presses = [a for a in await sim.actions() if a["tool"] == "mobile_long_press_on_screen_at_coordinates"]
    assert outcome.verdict.result == "success", outcome.verdict.justification
    assert len(presses) == 1


# --- the device server dies ---------------------------------------------------------------------


async def test_http_device_server_killed_mid_run_is_blocked_naming_it(jira_url: str, tmp_path: Path) -> None:
    async with simulator_process(devices=2, apps_dir=APPS) as sim:
        killed: list[int] = []

        def on_event(event: dict[str, Any]) -> None:
            if event.get("event") == "step_start" and event.get("action") == "long_press_text" and not killed:
                sim.process.kill()  # SIGKILL: no goodbye on the wire
                killed.append(sim.pid)

        started = asyncio.get_running_loop().time()
        outcome = await _run(
            "PTT-1", jira_url, tmp_path, on_event=on_event, mobile_mcp_url=sim.url, step_default_timeout_s=5
        )
        elapsed = asyncio.get_running_loop().time() - started
    assert killed
    assert outcome.verdict.result == "blocked" and outcome.exit_code == 2
    assert "device server unreachable" in outcome.verdict.justification
    assert sim.url in outcome.verdict.justification
    assert elapsed < 30
    # What was proved before the crash is kept in the results and the report.
    passed = [r.step_id for r in outcome.state["results"] if r.status == "passed"]
    assert {"S1", "S2", "S3", "S4"} <= set(passed)
    report = json.loads((Path(outcome.report_dir or "") / "report.json").read_text())
    assert {"S1", "S2", "S3", "S4"} <= {r["step_id"] for r in report["results"] if r["status"] == "passed"}


@pytest.mark.parametrize("victim", [1, 2])
async def test_stdio_device_process_killed_mid_run_reconnects(victim: int, jira_url: str, tmp_path: Path) -> None:
    """One stdio process per driver; kill one while driver 1 holds Talk (driver 2 polls meanwhile)."""
    async with simulator_process(devices=2, apps_dir=APPS) as sim:
        command, args = stdio_command(sim.url)
        seen: set[int] = set()
        killed: list[int] = []

        def stdio_pids() -> list[int]:
            pids = sorted(pid for pid, cmd in _children().items() if "--attach" in cmd)
            seen.update(pids)
            return pids

        def on_event(event: dict[str, Any]) -> None:
            stdio_pids()
            if event.get("event") == "step_start" and event.get("action") == "long_press_text" and not killed:
                pids = stdio_pids()
                assert len(pids) == 2, pids
                # driver 1's process was spawned first (at discovery), so it has the lower pid
                os.kill(pids[victim - 1], signal.SIGKILL)
                killed.append(pids[victim - 1])

        outcome = await _run(
            "PTT-1",
            jira_url,
            tmp_path,
            on_event=on_event,
            mobile_mcp_command=command,
            mobile_mcp_args_json=json.dumps(args),
            device_accounts={"emulator-5554": "Alice", "emulator-5556": "Bob"},  # stdio: no /sim/world to ask
            step_default_timeout_s=8,
            device_logs="off",  # only the lanes' processes: a log capture would add one per device
        )
        stdio_pids()
        actions = await sim.actions()
    assert killed
    assert outcome.verdict.result in ("success", "blocked"), outcome.verdict.justification
    if outcome.verdict.result == "blocked":
        assert command in outcome.verdict.justification or "device server" in outcome.verdict.justification
    else:
        assert outcome.exit_code == 0
        assert len(seen) >= 3, "a new stdio process should have replaced the killed one"
    # Nothing finished was repeated: each phone launched the app once.
    assert Counter(a["tool"] for a in actions)["mobile_launch_app"] == 2
    leftover = [pid for pid, cmd in _children().items() if "--attach" in cmd]
    assert leftover == [], "stdio processes of the run outlived it"


# --- a device disappears --------------------------------------------------------------------------


async def test_vanishing_device_is_blocked_saying_it_is_gone(jira_url: str, tmp_path: Path) -> None:
    # emulator-5556 (driver 2) leaves after 3 calls: launch, the 'Ready' check, one poll.
    async with simulator_process(devices=2, apps_dir=APPS, extra_args=["--vanish", "emulator-5556:3"]) as sim:
        outcome = await _run("PTT-1", jira_url, tmp_path, mobile_mcp_url=sim.url)
        health = await sim.health()
    assert outcome.verdict.result == "blocked" and outcome.exit_code == 2
    assert "device emulator-5556 is gone" in outcome.verdict.justification
    assert health["devices"] == 1 or "emulator-5556" not in json.dumps(health.get("devices"))


async def test_device_vanishing_at_runtime_config(jira_url: str, tmp_path: Path) -> None:
    async with simulator_process(devices=3, apps_dir=APPS) as sim:
        await sim.configure(vanish={"emulator-5558": 2})
        outcome = await _run("CALL-1", jira_url, tmp_path, mobile_mcp_url=sim.url)
    assert outcome.verdict.result == "blocked" and outcome.exit_code == 2
    assert "device emulator-5558 is gone" in outcome.verdict.justification


# --- Jira and the LLM endpoint down ----------------------------------------------------------------


async def test_jira_down_at_start_is_blocked_with_the_url(tmp_path: Path) -> None:
    url = "http://127.0.0.1:9/mcp"  # discard port: nothing listens
    async with simulator_process(devices=1, apps_dir=APPS) as sim:
        outcome = await _run("LOGIN-1", url, tmp_path, mobile_mcp_url=sim.url)
        assert _device_actions(await sim.actions()) == []
    assert outcome.verdict.result == "blocked" and outcome.exit_code == 2
    assert f"Jira MCP server unreachable ({url})" in outcome.verdict.justification


async def test_jira_down_on_the_llm_path_is_blocked_with_the_url(tmp_path: Path) -> None:
    url = "http://127.0.0.1:9/mcp"
    async with ScriptedLLMServer([], api_key="k") as llm, simulator_process(devices=2, apps_dir=APPS) as sim:
        outcome = await _run("PTT-4", url, tmp_path, mobile_mcp_url=sim.url, llm_base_url=llm.base_url, llm_api_key="k")
        assert llm.requests == []
    assert outcome.verdict.result == "blocked" and outcome.exit_code == 2
    assert url in outcome.verdict.justification


@pytest.fixture
async def two_phones() -> AsyncIterator[Any]:
    async with simulator_process(devices=2, apps_dir=APPS) as handle:
        yield handle


async def test_llm_endpoint_that_never_answers_is_blocked_not_hung(
    jira_url: str, two_phones: Any, tmp_path: Path
) -> None:
    rules = [{"name": "stuck", "delay_s": 30, "repeat": True, "content": "too late"}]
    async with ScriptedLLMServer(rules, api_key="k") as llm:
        started = asyncio.get_running_loop().time()
        outcome = await _run(
            "PTT-4",
            jira_url,
            tmp_path,
            mobile_mcp_url=two_phones.url,
            llm_base_url=llm.base_url,
            llm_api_key="k",
            llm_timeout_s=1.0,
            llm_max_retries=0,
        )
        elapsed = asyncio.get_running_loop().time() - started
    assert outcome.verdict.result == "blocked" and outcome.exit_code == 2
    assert "LLM endpoint failed" in outcome.verdict.justification
    assert "timed out" in outcome.verdict.justification.lower()
    assert elapsed < 20


async def test_llm_endpoint_server_errors_are_blocked_with_the_status(
    jira_url: str, two_phones: Any, tmp_path: Path
) -> None:
    rules = [{"name": "down", "status": 503, "error": "upstream overloaded", "repeat": True}]
    async with ScriptedLLMServer(rules, api_key="k") as llm:
        outcome = await _run(
            "PTT-4",
            jira_url,
            tmp_path,
            mobile_mcp_url=two_phones.url,
            llm_base_url=llm.base_url,
            llm_api_key="k",
            llm_max_retries=1,
        )
        assert len(llm.requests) == 2  # one retry, then give up
    assert outcome.verdict.result == "blocked" and outcome.exit_code == 2
    assert "LLM endpoint failed" in outcome.verdict.justification and "503" in outcome.verdict.justification
