"""Benchmark: the right verdicts through both published servers on realistic phones (issue 14, item 5).

PTT-1, PTT-2 and CALL-1, each run N times the way `tests/integration/test_real_servers_realistic.py`
runs them once: the agent reads the ticket through mcp-atlassian 0.23.1 (over the Jira REST stand-in)
and drives 3 simulated phones on the realistic latency profile through mobile-mcp 1.0.4 and the fake
adb; a fresh world per run (offline path, SQLite checkpoints). A run is right when its verdict is the
expected one and PTT-2 fails at its planted step (S7, an app defect).

Prints a markdown block (verdict per run, failing step, attempts, wall time, device calls: the agent's
mobile-mcp calls and the adb commands the fake adb logged) with its command; ``--json FILE`` also writes
the raw numbers.

    .venv/bin/python bench/real_servers.py [--reps 3] [--json bench/out/real_servers.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import APPS, ROOT, TICKETS, machine, median, scrub_environ

# key -> (verdict, failing step)
EXPECTED: dict[str, tuple[str, str | None]] = {
    "PTT-1": ("success", None),
    "PTT-2": ("failure", "S7"),
    "CALL-1": ("success", None),
}


async def one_run(key: str, work: Path) -> dict[str, Any]:
    from graph.context import load_context
    from qa_agent.runner import run_ticket
    from qa_agent.world.realservers.stack import real_servers_world

    tickets = work / "tickets"
    shutil.copytree(TICKETS, tickets)
    async with real_servers_world(tickets, apps_dir=APPS, devices=3, profile="realistic") as world:
        ctx = load_context(**world.settings(), report_root=work / "runs")
        t0 = time.perf_counter()
        outcome = await run_ticket(ctx, key)
        wall = time.perf_counter() - t0
        adb = [a for a in await world.sim.actions() if a["tool"] == "adb"]
    state = outcome.state
    attempts = [*state.get("history", [])]
    every = [r for a in attempts for r in a.results] if attempts else list(state.get("results", []))
    failed = [r.step_id for r in state.get("results", []) if r.status == "failed"]
    verdict = outcome.verdict
    want, want_step = EXPECTED[key]
    right = verdict.result == want and failed == ([want_step] if want_step else [])
    right = right and (verdict.failure_class == "app_defect" if want == "failure" else True)
    return {
        "ticket": key,
        "verdict": verdict.result,
        "failure_class": verdict.failure_class,
        "failing_step": failed[0] if failed else None,
        "attempts": max(1, len(attempts)),
        "right": right,
        "wall_s": wall,
        "mcp_calls": sum(r.tool_calls for r in every),
        "adb_commands": len(adb),
        "justification": verdict.justification,
        "steps": [
            f"a{r.attempt} {r.step_id} d{r.driver} {r.status} {r.ended_at - r.started_at:.1f}s: {r.message[:240]}"
            for r in every
        ],
    }


def markdown(runs: list[dict[str, Any]], command: str) -> str:
    out = [
        f"Command: `{command}`",
        "",
        f"{len(runs)} runs on {machine()}.",
        "",
        "| ticket | run | verdict | failing step | attempts | right | wall s | mobile-mcp calls | adb commands |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(runs):
        right = "yes" if r["right"] else "**no**"
        out.append(
            f"| {r['ticket']} | {i // len(EXPECTED) + 1} | {r['verdict']} | {r['failing_step'] or '-'} | "
            f"{r['attempts']} | {right} | {r['wall_s']:.1f} | {r['mcp_calls']} | {r['adb_commands']} |"
        )
    out += ["", "| ticket | expected | right | median wall s | median mobile-mcp calls |", "|---|---|---|---|---|"]
    for key, (verdict, step) in EXPECTED.items():
        mine = [r for r in runs if r["ticket"] == key]
        out.append(
            f"| {key} | {verdict}{f' at {step}' if step else ''} | {sum(r['right'] for r in mine)}/{len(mine)} | "
            f"{median([r['wall_s'] for r in mine]):.1f} | {median([float(r['mcp_calls']) for r in mine]):.0f} |"
        )
    wrong = [r for r in runs if not r["right"]]
    for r in wrong:
        out.append(f"\nWrong: {r['ticket']} run gave {r['verdict']}: {r['justification'][:400]}")
    return "\n".join(out)


async def main_async(args: argparse.Namespace) -> int:
    from qa_agent.world.realservers.testing import installed_or_skip_reason

    installed, reason = installed_or_skip_reason()
    if installed is None:
        print(f"real_servers: {reason}", file=sys.stderr)
        return 1
    runs = []
    with tempfile.TemporaryDirectory(prefix="qa-bench-real-") as tmp:
        for rep in range(args.reps):
            for key in EXPECTED:
                work = Path(tmp) / f"{key}-{rep}"
                run = await one_run(key, work)
                runs.append(run)
                print(f"[real_servers] {key} run {rep + 1}: {run['verdict']} ({run['wall_s']:.1f}s)", file=sys.stderr)
                if not run["right"] and args.keep:
                    shutil.copytree(work / "runs", args.keep / f"{key}-{rep}", dirs_exist_ok=True)
    command = ".venv/bin/python bench/real_servers.py " + shlex.join(sys.argv[1:])
    print(markdown(runs, command.strip()))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(runs, indent=2))
    return 0 if all(r["right"] for r in runs) else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--keep", type=Path, default=None, help="copy the run folders of wrong runs here")
    args = p.parse_args()
    scrub_environ()
    os.chdir(ROOT)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
