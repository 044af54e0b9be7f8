"""Benchmark: a device lab (issue 18). Throughput and device utilisation of N tickets over
4 simulated hosts x 8 devices, run by one `qa-agent batch` process (in-process leases) and by
2 agent processes sharing the lab through PostgreSQL leases (each takes half the tickets).

The tickets are bench/scale.py's copies of the example tickets (own package per copy), with
their role lines kept, so the mix and the expected verdicts are the same as there. Each mode gets fresh
simulators; the single process keeps SQLite checkpoints and in-process leases (as before), the
agents share a throwaway PostgreSQL cluster (checkpoints and leases).
Device utilisation: device-seconds of the simulators' tool calls (their action logs), and
device-seconds leased to runs' steps (first to last step of each run on each device), over
devices x wall time. Prints a markdown table; `--json FILE` also writes the raw numbers.

    .venv/bin/python bench/lab.py [--tickets 100] [--hosts 4] [--devices-per-host 8]
                                  [--agents 2] [--latency-ms 100] [--json bench/out/lab.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scale
from common import ROOT, clean_environ, lane_actions, machine
from scale import schedule, write_fixtures

# Keep the copies' role lines and user names ("Alice is talking" needs user1 to be Alice; checks
# match exactly): every host signs in the same accounts, so a role can be served on any host.
scale.USER_NAMED = {}
scale.without_roles = lambda details: details

sys.path.insert(0, str(ROOT))


def _reports(reports: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(reports.glob("agent*/**/report.json"))]


async def _agents(
    groups: list[list[str]], env: dict[str, str], reports: Path
) -> tuple[float, list[int], list[dict[str, Any]]]:
    """Run one `qa-agent batch` per group at once; wall time, exit codes, every run's report.json."""
    t0 = time.time()
    procs = [
        await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "qa_agent.cli", "batch", *keys),
            env=env | {"QA_REPORT_DIR": str(reports / f"agent{i}"), "COLUMNS": "200"},
            cwd=reports,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        for i, keys in enumerate(groups, start=1)
    ]
    errors = await asyncio.gather(*(p.communicate() for p in procs))
    wall = time.time() - t0
    codes = [p.returncode or 0 for p in procs]
    for code, (_, err) in zip(codes, errors, strict=True):
        if code not in (0, 1, 2):
            print(f"an agent exited {code}: {err.decode()[-2000:]}", file=sys.stderr)
    runs = await asyncio.to_thread(_reports, reports)
    return wall, codes, runs


async def one_mode(
    name: str, agents: int, args: argparse.Namespace, tickets: Path, apps: Path, dsn: str | None
) -> dict[str, Any]:
    from qa_agent.world.jira_server.process import jira_server_process
    from qa_agent.world.sim.process import simulator_process

    plan = schedule(args.tickets)
    expected = {key: verdict for key, _template, verdict, _devices in plan}
    keys = [key for key, *_ in plan]
    groups = [keys[i::agents] for i in range(agents)]
    devices = args.hosts * args.devices_per_host
    async with AsyncExitStack() as stack:
        jira = await stack.enter_async_context(jira_server_process(tickets))
        sims = [
            await stack.enter_async_context(
                simulator_process(devices=args.devices_per_host, apps_dir=apps, latency_ms=args.latency_ms, seed=i)
            )
            for i in range(args.hosts)
        ]
        env = clean_environ() | {"JIRA_MCP_URL": jira.url, "MOBILE_MCP_URLS": ",".join(s.url for s in sims)}
        env |= {"QA_CHECKPOINT_DSN": dsn} if dsn else {}
        with tempfile.TemporaryDirectory(prefix=f"bench-lab-{name}-") as tmp:
            wall, codes, runs = await _agents(groups, env, Path(tmp))
        logs = [lane_actions(await s.actions()) for s in sims]
    calls_s = sum(a["end"] - a["start"] for log in logs for a in log if a["device"] and a["end"] is not None)
    leased_s = 0.0
    for run in runs:
        results = run.get("results") or []
        for device in {r["device"] for r in results}:
            mine = [r for r in results if r["device"] == device]
            leased_s += max(r["ended_at"] for r in mine) - min(r["started_at"] for r in mine)
    verdicts = {r["ticket_key"]: r["verdict"]["result"] for r in runs}
    for r in runs:
        if verdicts[r["ticket_key"]] != expected.get(r["ticket_key"]):
            print(
                f"{name}: {r['ticket_key']} {r['verdict']['result']}: {r['verdict']['justification'][:300]}",
                file=sys.stderr,
            )
    return {
        "mode": name,
        "agents": agents,
        "tickets": args.tickets,
        "devices": devices,
        "wall_s": wall,
        "tickets_per_min": args.tickets / wall * 60,
        "device_busy_calls": calls_s / (devices * wall),
        "device_busy_runs": leased_s / (devices * wall),
        "correct": sum(verdicts.get(k) == v for k, v in expected.items()),
        "exit_codes": codes,
    }


async def main(args: argparse.Namespace) -> list[dict[str, Any]]:
    from tests.conftest import throwaway_postgres

    with tempfile.TemporaryDirectory(prefix="bench-lab-") as tmp:
        tickets, apps = write_fixtures(Path(tmp), args.tickets, verbatim=False)
        async with throwaway_postgres() as dsn:
            # The single-process batch as before: SQLite checkpoints, leases in its own memory.
            single = await one_mode("single process", 1, args, tickets, apps, None)
            lab = await one_mode(f"{args.agents} agents, Postgres leases", args.agents, args, tickets, apps, dsn)
    return [single, lab]


def table(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        f"{args.tickets} tickets, {args.hosts} simulated hosts x {args.devices_per_host} devices, "
        f"simulator latency {args.latency_ms:g} ms; {machine()}",
        "",
        "| mode | wall (s) | tickets/min | devices busy in calls | devices held by steps | right verdicts |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['mode']} | {r['wall_s']:.1f} | {r['tickets_per_min']:.1f} | {r['device_busy_calls']:.0%} | "
            f"{r['device_busy_runs']:.0%} | {r['correct']}/{r['tickets']} |"
        )
    return "\n".join(lines)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tickets", type=int, default=100, help="tickets per mode (fewer for a quick run)")
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--devices-per-host", type=int, default=8)
    parser.add_argument("--agents", type=int, default=2)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--json", type=Path)
    return parser.parse_args()


if __name__ == "__main__":
    options = parse()
    results = asyncio.run(main(options))
    print(table(results, options))
    if options.json:
        options.json.parent.mkdir(parents=True, exist_ok=True)
        options.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
