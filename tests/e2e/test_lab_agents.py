"""Two agent processes run batches at once over one lab of two simulator hosts, sharing leases in PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from qa_agent.devices.logcapture import LOG_READ_TOOLS
from tests.conftest import APPS

pytestmark = pytest.mark.slow
EXPECTED = {"PTT-1": "success", "PTT-2": "failure", "LOGIN-1": "success", "CALL-1": "success", "PTT-3": "blocked"}


def _runs(report_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(report_dir.glob("**/report.json"))]


def _no_device_driven_twice(host: str, actions: list[dict[str, Any]]) -> None:
    """From a simulator's action log: the host was used, and on no device did two calls overlap
    (a run's device log stream only reads, beside its own lane: it is not driving)."""
    per_device: dict[str, list[tuple[float, float]]] = {}
    for action in actions:
        if action["device"] and action["tool"] not in LOG_READ_TOOLS:
            per_device.setdefault(action["device"], []).append((action["start"], action["end"] or action["start"]))
    assert per_device, f"{host} was never used"
    for device, calls in per_device.items():
        for (_s1, e1), (s2, _e2) in itertools.pairwise(sorted(calls)):
            assert e1 <= s2, f"{host}/{device}: two calls at once"


async def test_two_agents_share_the_lab_without_driving_a_device_twice(
    postgres_dsn: str, jira_url: str, tmp_path: Path
) -> None:
    from qa_agent.world.sim.process import simulator_process

    async with simulator_process(devices=4, apps_dir=APPS) as a, simulator_process(devices=4, apps_dir=APPS) as b:
        agents = []
        for name in ("agent1", "agent2"):
            env = {
                **os.environ, "JIRA_MCP_URL": jira_url, "MOBILE_MCP_URLS": f"{a.url},{b.url}",
                "QA_CHECKPOINT_DSN": postgres_dsn, "QA_REPORT_DIR": str(tmp_path / name), "COLUMNS": "200",
            }  # fmt: skip
            agent = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "qa_agent.cli", "batch", *EXPECTED,
                env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            agents.append(agent)
        outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in agents)), 600)
        logs = {"host1": await a.actions(), "host2": await b.actions()}
    for agent, (out, _) in zip(agents, outputs, strict=True):
        assert agent.returncode == 1, out.decode()  # PTT-2 fails, as it should

    windows: dict[str, list[tuple[float, float, str]]] = {}
    for name in ("agent1", "agent2"):
        runs = _runs(tmp_path / name)
        verdicts = {r["ticket_key"]: r["verdict"]["result"] for r in runs}
        assert verdicts == EXPECTED, (name, [o.decode()[-3000:] for o, _ in outputs])
        for run in runs:
            results = run.get("results") or []
            for device in {r["device"] for r in results if r.get("device")}:
                mine = [r for r in results if r["device"] == device]
                span = (min(r["started_at"] for r in mine), max(r["ended_at"] for r in mine), run["run_id"])
                windows.setdefault(device, []).append(span)
    assert sum(len(w) for w in windows.values()) >= 16  # (2+2+1+3 drivers) x 2 agents
    assert any("/" in d for d in windows)  # both hosts list emulator-5554..: the lab qualified the ids
    for device, spans in windows.items():
        for (_s1, e1, r1), (s2, _e2, r2) in itertools.combinations(sorted(spans), 2):
            assert e1 <= s2, f"{device} served {r1} and {r2} at the same time"

    # The simulators saw it too.
    for host, actions in logs.items():
        _no_device_driven_twice(host, actions)


async def test_a_langgraph_server_and_a_cli_agent_share_the_lab(
    postgres_dsn: str, jira_url: str, tmp_path: Path
) -> None:
    from qa_agent.world.sim.process import simulator_process
    from tests.langgraph_dev import LANGGRAPH, langgraph_dev, server_env

    if not LANGGRAPH.is_file():
        pytest.skip(f"no {LANGGRAPH}: install the dev extras (langgraph-cli[inmem])")
    token = "lab-test-token-3f9a"
    async with simulator_process(devices=4, apps_dir=APPS) as a, simulator_process(devices=4, apps_dir=APPS) as b:
        lab = {"MOBILE_MCP_URL": "", "MOBILE_MCP_URLS": f"{a.url},{b.url}", "QA_CHECKPOINT_DSN": postgres_dsn}
        env = server_env(jira_url, a.url, tmp_path / "server-runs") | lab | {"QA_SERVER_TOKEN": token}
        jobs = ("--n-jobs-per-worker", "4")  # the server runs up to 4 tickets at once
        async with langgraph_dev(env, tmp_path / "server.log", extra_args=jobs) as url:
            agents = []
            for name, server in (("via-server", ["--server", url]), ("cli", [])):
                agent_env = {
                    **os.environ, "JIRA_MCP_URL": jira_url, **lab, "QA_SERVER_TOKEN": token,
                    "QA_REPORT_DIR": str(tmp_path / name), "COLUMNS": "200",
                }  # fmt: skip
                agent = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "qa_agent.cli", "batch", *EXPECTED, *server,
                    env=agent_env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
                )  # fmt: skip
                agents.append(agent)
            outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in agents)), 600)
        logs = [await a.actions(), await b.actions()]
    for agent, (out, _) in zip(agents, outputs, strict=True):
        assert agent.returncode == 1, out.decode()

    suites = list((tmp_path / "via-server").glob("batch-*/junit.xml"))
    assert len(suites) == 1 and (suites[0].parent / "index.html").is_file()
    cases = ET.parse(suites[0]).getroot().findall(".//testcase")
    verdicts = {
        c.find("properties/property[@name='test_key']").get("value"): (  # type: ignore[union-attr]
            "failure" if c.find("failure") is not None else "blocked" if c.find("error") is not None else "success"
        )
        for c in cases
    }
    assert verdicts == EXPECTED
    cli = {r["ticket_key"]: r["verdict"]["result"] for r in _runs(tmp_path / "cli")}
    assert cli == EXPECTED
    for host, actions in zip(("host1", "host2"), logs, strict=True):
        _no_device_driven_twice(host, actions)


async def test_a_killed_agents_devices_return_to_the_pool(postgres_dsn: str, jira_url: str, tmp_path: Path) -> None:
    from qa_agent.world.sim.process import simulator_process

    async with simulator_process(devices=2, apps_dir=APPS) as sim:
        env = {
            **os.environ, "JIRA_MCP_URL": jira_url, "MOBILE_MCP_URLS": sim.url, "QA_CHECKPOINT_DSN": postgres_dsn,
            "QA_LEASE_TTL_S": "3", "COLUMNS": "200",
        }  # fmt: skip

        def agent(name: str, key: str) -> Any:
            return asyncio.create_subprocess_exec(
                sys.executable, "-m", "qa_agent.cli", "batch", key,
                env=env | {"QA_REPORT_DIR": str(tmp_path / name)}, cwd=tmp_path,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip

        async def actions_until(done: Any) -> None:
            while True:  # the simulator's log is the event we wait on
                if done(await sim.actions()):
                    return
                await asyncio.sleep(0.1)

        def listings(actions: list[dict[str, Any]]) -> int:
            return sum(a["tool"] == "mobile_list_available_devices" for a in actions)

        killed = await agent("killed", "PTT-1")  # holds both phones
        await asyncio.wait_for(actions_until(lambda log: any(a["device"] for a in log)), 120)
        waiting = await agent("waiting", "LOGIN-1")
        # Its batch probe and its run's discovery: it is about to ask for a phone the other agent holds.
        await asyncio.wait_for(actions_until(lambda log: listings(log) >= 4), 120)
        killed.kill()  # SIGKILL: no release, only the leases' expiry gives the phones back
        await killed.wait()
        killed_at = time.time()
        out = (await asyncio.wait_for(waiting.communicate(), 300))[0].decode()
    assert waiting.returncode == 0, out
    (run,) = _runs(tmp_path / "waiting")
    assert run["verdict"]["result"] == "success", run["verdict"]["justification"]
    assert min(r["started_at"] for r in run["results"]) > killed_at  # it waited for the dead agent's lease
