"""`qa-agent batch --server URL [--server URL ...]`: each ticket a run on a LangGraph server, one
junit.xml and index.html.

Several servers (replicas, each with its own workers) share the tickets: each of the batch's
`concurrency` slots is tied to one server, in turn, and takes the next ticket when its run ends.
The servers' workers take the devices through the PostgreSQL leases (QA_CHECKPOINT_DSN in their
environment), shared with any other agent of the lab. Their answers are outside input: a verdict
that does not validate becomes a `blocked` verdict naming the problem.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from typing import Any

from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
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
    ctx: Context, server_urls: list[str], keys: list[str], concurrency: int | None = None
) -> BatchOutcome:
    token = os.environ.get("QA_SERVER_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else None
    clients = [get_client(url=url, api_key=None, headers=headers) for url in server_urls]
    batch_id = f"batch-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
    folder = inside(ctx.report_root, batch_id)
    outcomes: list[RunOutcome | None] = [None] * len(keys)
    pending = iter(enumerate(keys))

    async def one(client: LangGraphClient, key: str) -> RunOutcome:
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

    async def slot(client: LangGraphClient) -> None:
        for index, key in pending:
            outcomes[index] = await one(client, key)

    slots = max(1, concurrency or DEFAULT_CONCURRENCY)
    await asyncio.gather(*(slot(clients[n % len(clients)]) for n in range(slots)))
    done = [o for o in outcomes if o is not None]
    await asyncio.to_thread(write_batch_reports, folder, batch_id, done)
    devices = sorted({d.device for o in done for d in o.state.get("drivers") or []})
    return BatchOutcome(batch_id, done, folder, devices)
