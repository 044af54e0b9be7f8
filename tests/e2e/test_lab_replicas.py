"""Two `langgraph dev` processes stand for two replicas of the server (`langgraph up` needs Docker and
a license): one `qa-agent batch` spreads its tickets over both, and they share a lab of two simulator
hosts through the PostgreSQL leases."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path

import pytest

from tests.conftest import APPS
from tests.e2e.test_lab_agents import EXPECTED
from tests.lab import junit_verdicts, no_device_driven_twice, runs_in

pytestmark = pytest.mark.slow


async def test_one_batch_over_two_replicas_sharing_the_lab(postgres_dsn: str, jira_url: str, tmp_path: Path) -> None:
    from qa_agent.world.sim.process import simulator_process
    from tests.langgraph_dev import LANGGRAPH, langgraph_dev, server_env

    if not LANGGRAPH.is_file():
        pytest.skip(f"no {LANGGRAPH}: install the dev extras (langgraph-cli[inmem])")
    token = "replica-test-token-7c21"
    async with (
        simulator_process(devices=4, apps_dir=APPS) as a,
        simulator_process(devices=4, apps_dir=APPS) as b,
        contextlib.AsyncExitStack() as replicas,
    ):
        lab = {"MOBILE_MCP_URL": "", "MOBILE_MCP_URLS": f"{a.url},{b.url}", "QA_CHECKPOINT_DSN": postgres_dsn}
        urls = []
        for name in ("replica1", "replica2"):
            env = server_env(jira_url, a.url, tmp_path / name) | lab | {"QA_SERVER_TOKEN": token}
            server = langgraph_dev(env, tmp_path / f"{name}.log", state_dir=tmp_path / f"{name}-state")
            urls.append(await replicas.enter_async_context(server))
        servers = [arg for url in urls for arg in ("--server", url)]
        agent_env = {**os.environ, "QA_SERVER_TOKEN": token, "QA_REPORT_DIR": str(tmp_path / "batch")}
        agent = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "qa_agent.cli", "batch", *EXPECTED, *servers,
            env=agent_env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out = (await asyncio.wait_for(agent.communicate(), 600))[0].decode()
        logs = {"host1": await a.actions(), "host2": await b.actions()}
    assert agent.returncode == 1, out  # PTT-2 fails, as it should

    (suite,) = (tmp_path / "batch").glob("batch-*/junit.xml")
    verdicts = junit_verdicts(suite)
    assert verdicts == EXPECTED, out
    served = {name: {r["ticket_key"] for r in runs_in(tmp_path / name)} for name in ("replica1", "replica2")}
    assert all(served.values()), served  # both replicas ran tickets of the batch
    assert served["replica1"] | served["replica2"] == set(EXPECTED) and not served["replica1"] & served["replica2"]
    for host, actions in logs.items():
        no_device_driven_twice(host, actions, used=False)
