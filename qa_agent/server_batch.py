"""`qa-agent batch --server URL`: each ticket a run on a LangGraph server, one junit.xml and index.html.

The server's workers take the devices through the PostgreSQL leases (QA_CHECKPOINT_DSN in the
server's environment), shared with any other agent of the lab. Its answers are outside input:
a verdict that does not validate becomes a `blocked` verdict naming the problem.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from typing import Any

from langgraph_sdk import get_client
from pydantic import ValidationError

from graph.context import Context
from graph.state import DriverAssignment, StepResult, Verdict
from qa_agent.batch import BatchOutcome, write_batch_reports
from qa_agent.reports.paths import inside
from qa_agent.runner import RunOutcome
from qa_agent.verdicts import blocked

GRAPH = "qa"  # langgraph.json
DEFAULT_CONCURRENCY = 8


def _outcome(key: str, thread_id: str, status: str, values: dict[str, Any]) -> RunOutcome:
    state: dict[str, Any] = dict(values) | {"ticket_key": values.get("ticket_key") or key}
    try:
        state["drivers"] = [DriverAssignment.model_validate(d) for d in values.get("drivers") or []]
        state["results"] = [StepResult.model_validate(r) for r in values.get("results") or []]
        raw = values.get("verdict")
        if raw is None:
            verdict = blocked(f"the server run ended {status} without a verdict (thread {thread_id})")
        else:
            verdict = Verdict.model_validate(raw)
    except ValidationError as exc:
        state["drivers"], state["results"] = [], []
        verdict = blocked(f"the server's answer for {key} is not a run state: {exc.errors()[0]['msg']}")
    return RunOutcome(str(values.get("run_id") or thread_id), verdict, None, state)


async def run_server_batch(
    ctx: Context, server_url: str, keys: list[str], concurrency: int | None = None
) -> BatchOutcome:
    token = os.environ.get("QA_SERVER_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else None
    client = get_client(url=server_url, api_key=None, headers=headers)
    batch_id = f"batch-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
    folder = inside(ctx.report_root, batch_id)
    limit = asyncio.Semaphore(max(1, concurrency or DEFAULT_CONCURRENCY))

    async def one(key: str) -> RunOutcome:
        async with limit:
            try:
                thread = await client.threads.create(metadata={"qa_batch": batch_id})
                run = await client.runs.create(thread["thread_id"], GRAPH, input={"ticket_key": key})
                await client.runs.join(thread["thread_id"], run["run_id"])
                status = (await client.runs.get(thread["thread_id"], run["run_id"]))["status"]
                values = (await client.threads.get_state(thread["thread_id"]))["values"]
            except Exception as exc:  # one failed submission must not lose the others' verdicts
                return RunOutcome(
                    f"{batch_id}-{key}", blocked(f"the server run failed: {exc!r}"), None, {"ticket_key": key}
                )
            return _outcome(key, thread["thread_id"], str(status), values if isinstance(values, dict) else {})

    outcomes = list(await asyncio.gather(*(one(k) for k in keys)))
    await asyncio.to_thread(write_batch_reports, folder, batch_id, outcomes)
    devices = sorted({d.device for o in outcomes for d in o.state.get("drivers") or []})
    return BatchOutcome(batch_id, outcomes, folder, devices)
