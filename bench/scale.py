"""Benchmark 3: scale (issue 8, part 3).

A batch of generated tickets (copies of the example tickets under keys SCALE-1..SCALE-N) runs through
``qa_agent.batch.run_batch`` (what ``qa-agent batch`` calls) over a simulator with 16 devices, once per
size (10, 20, ... 50 tickets). Each size runs in a fresh child process (its own Jira server, simulator
and agent), so the peak RSS of each process (VmHWM from /proc/<pid>/status) belongs to that size only.

Per size: batch wall time, tickets per minute, peak RSS of the agent, simulator and Jira server
processes, CPU time, how the devices' time was spent (leases instrumented in the child process only),
and whether every verdict is the expected one. Then a linear fit of wall time against the size.

Prints a markdown block (the figures) on stdout; ``--json FILE`` also writes the raw numbers.

    .venv/bin/python bench/scale.py [--sizes 10 20 30 40 50] [--devices 16] [--latency-ms 200]
                                    [--verbatim 0] [--json bench/out/scale.json]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import yaml
from common import APPS, TICKETS, lane_actions, machine, median, scrub_environ

from qa_agent.planning.roles import without_roles

# One block of 10 tickets, repeated: every size that is a multiple of 10 has the same mix.
# (template, expected verdict, devices it needs)
BLOCK: list[tuple[str, str, int]] = [
    ("PTT-1", "success", 2),
    ("LOGIN-1", "success", 1),
    ("CALL-1", "success", 3),
    ("PTT-2", "failure", 2),
    ("PTT-1", "success", 2),
    ("LOGIN-1", "success", 1),
    ("CALL-1", "success", 3),
    ("PTT-2", "failure", 2),
    ("LOGIN-1", "success", 1),
    ("PTT-3", "blocked", 0),
]
# What the justification must say for the verdict to be right for the right reason: the failure of PTT-2
# is its seeded defect (the banner is still there after release), PTT-3 is blocked for its missing package.
REASONS = {
    "PTT-1": "verified on the devices",
    "LOGIN-1": "verified on the devices",
    "CALL-1": "verified on the devices",
    "PTT-2": "does not see",
    "PTT-3": "missing package name",
}
# Apps with world-wide shared state (the channel's talker, the group call): each copy gets its own
# package (an app model that `extends` the example app), so concurrent copies do not share a channel.
SHARED_STATE_APPS = ("com.example.ptt.rc", "com.example.ptt", "com.example.call")
# The example tickets name the user of the first device ("Alice is talking", "Incoming call from
# Alice"); in a batch, driver 1 of a run is whichever device the lease gave it.
# Checks match whole texts, so the name-less part is asked for as a part.
USER_NAMED = {
    re.compile(r'\b(sees?|see) "Alice is talking"'): r'\1 text containing "is talking"',
    re.compile(r'\b(sees?|see) "Incoming call from Alice"'): r'\1 text containing "Incoming call from"',
}


def schedule(n: int) -> list[tuple[str, str, str, int]]:
    """(key, template, expected verdict, devices) for a batch of n tickets."""
    out = []
    for i in range(n):
        template, expected, devices = BLOCK[i % len(BLOCK)]
        out.append((f"SCALE-{i + 1}", template, expected, devices))
    return out


def write_fixtures(root: Path, n: int, verbatim: bool) -> tuple[Path, Path]:
    """Tickets folder and apps folder for a batch of n copies.

    verbatim: only `key:` changes (the copies share the example apps' channel and name Alice).
    Otherwise each copy that uses an app with shared state gets its own package (`<package>.s<i>`, an
    app model extending the example one) and its checks name no user."""
    tickets, apps = root / "tickets", root / "apps"
    tickets.mkdir(parents=True)
    apps.mkdir(parents=True)
    for src in APPS.glob("*.yaml"):
        (apps / src.name).write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    pattern = re.compile(r"com\.example\.(?:ptt\.rc|ptt|call)(?![\w.])")
    for key, template, _expected, _devices in schedule(n):
        data = yaml.safe_load((TICKETS / f"{template}.yaml").read_text(encoding="utf-8"))
        data["key"] = key
        data["summary"] = f"{data['summary']} (copy of {template})"
        if not verbatim:
            suffix = key.lower().replace("-", "")  # SCALE-7 -> scale7
            text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
            used = sorted(set(pattern.findall(text)))
            text = pattern.sub(r"\g<0>." + suffix, text)
            data = yaml.safe_load(text)
            details = data["custom_fields"]["customfield_11504"]
            for old, new in USER_NAMED.items():
                details["value"] = old.sub(new, details["value"])
            details["value"] = without_roles(details["value"])  # any two phones will do
            for package in used:
                app = {"package": f"{package}.{suffix}", "extends": package, "name": f"{package} {key}"}
                (apps / f"{package}.{suffix}.yaml").write_text(yaml.safe_dump(app), encoding="utf-8")
        (tickets / f"{key}.yaml").write_text(
            yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
    return tickets, apps


# ----------------------------------------------------------------------------- child: one batch


def proc_status_kb(pid: int | str, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def proc_cpu_s(pid: int | str) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def instrument(log: list[tuple[float, str, str, int]]) -> None:
    """Record every run start and end, lease request, grant and release (by wrapping `drive` and
    `DeviceLeaser.acquire`/`release` in this process only; the project's code is unchanged)."""
    import qa_agent.batch as batch
    from qa_agent.devices.leases import DeviceLeaser

    acquire, release, drive = DeviceLeaser.acquire, DeviceLeaser.release, batch.drive

    async def timed_acquire(self: DeviceLeaser, run_id: str, count: int, *args: Any, **kwargs: Any) -> list[str]:
        log.append((time.time(), "request", run_id, count))
        taken = await acquire(self, run_id, count, *args, **kwargs)
        log.append((time.time(), "grant", run_id, len(taken)))
        return taken

    async def timed_release(self: DeviceLeaser, run_id: str) -> None:
        held = len(self._held.get(run_id, []))
        await release(self, run_id)
        if held:
            log.append((time.time(), "release", run_id, held))

    async def timed_drive(graph: Any, payload: Any, ctx: Any, run_id: str, on_event: Any) -> Any:
        log.append((time.time(), "start", run_id, 0))
        try:
            return await drive(graph, payload, ctx, run_id, on_event)
        finally:
            log.append((time.time(), "end", run_id, 0))

    DeviceLeaser.acquire = timed_acquire  # type: ignore[method-assign]
    DeviceLeaser.release = timed_release  # type: ignore[method-assign]
    batch.drive = timed_drive


IDLE_KINDS = ("startup", "lease_wait", "slots_full", "tail")


def lease_figures(
    log: list[tuple[float, str, str, int]], t0: float, t1: float, devices: int, tickets: int, outcomes: list[Any]
) -> dict[str, Any]:
    """Device-seconds of the batch: held by a lease (split by phase of the run), and not leased, split by
    why: before the first lease (startup), while a run waited for devices (lease_wait), while tickets
    waited for a run slot (slots_full: the batch runs at most `concurrency` tickets at once), or after
    every ticket had started (tail)."""
    times: dict[str, dict[str, float]] = {}
    counts: dict[str, int] = {}
    for t, kind, run_id, count in log:
        times.setdefault(run_id, {}).setdefault(kind, t)
        if kind == "grant":
            counts[run_id] = count
    idle = dict.fromkeys(IDLE_KINDS, 0.0)
    free, waiting, started, granted, last = devices, 0, 0, False, t0
    for t, kind, _run, count in [*sorted(log), (t1, "stop", "", 0)]:
        dt = max(0.0, t - last) * free
        if not granted:
            idle["startup"] += dt
        elif waiting:
            idle["lease_wait"] += dt
        elif started < tickets:
            idle["slots_full"] += dt
        else:
            idle["tail"] += dt
        last = t
        if kind == "start":
            started += 1
        elif kind == "request":
            waiting += 1
        elif kind == "grant":
            waiting -= 1
            free -= count
            granted = True
        elif kind == "release":
            free += count
    phases = {"before_first_step": 0.0, "executing": 0.0, "after_last_step": 0.0}
    per_run: dict[str, dict[str, float]] = {}
    for o in outcomes:
        mine = times.get(o.run_id, {})
        info = per_run[o.run_id] = {
            "run_s": mine.get("end", t1) - mine.get("start", t0),
            "slot_wait_s": mine.get("start", t0) - t0,
        }
        if "grant" not in mine:
            continue
        g, count = mine["grant"], counts[o.run_id]
        r = mine.get("release", t1)
        info.update(lease_wait_s=g - mine["request"], leased_s=r - g)
        steps = o.state.get("results") or []
        if steps:
            first = min(s.started_at for s in steps)
            last_end = max(s.ended_at for s in steps)
            info["exec_s"] = last_end - first
            phases["before_first_step"] += count * (first - g)
            phases["executing"] += count * (last_end - first)
            phases["after_last_step"] += count * (r - last_end)
        else:
            phases["after_last_step"] += count * (r - g)
    return {
        "capacity_device_s": devices * (t1 - t0),
        "leased_device_s": sum(phases.values()),
        "phases_device_s": phases,
        "idle_device_s": idle,
        "per_run": per_run,
    }


async def child(args: argparse.Namespace) -> dict[str, Any]:
    scrub_environ()
    from graph.context import load_context
    from qa_agent.batch import run_batch
    from qa_agent.world.jira_server.process import jira_server_process
    from qa_agent.world.sim.process import simulator_process

    log: list[tuple[float, str, str, int]] = []
    instrument(log)
    plan = schedule(args.size)
    expected = {key: (template, verdict) for key, template, verdict, _d in plan}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        tickets, apps = write_fixtures(Path(tmp), args.size, args.verbatim)
        async with (
            jira_server_process(tickets) as jira,
            simulator_process(devices=args.devices, apps_dir=apps, latency_ms=args.latency_ms, seed=args.seed) as sim,
        ):
            ctx = load_context(
                tickets_dir=tickets,
                jira_mcp_url=jira.url,
                mobile_mcp_url=sim.url,
                mobile_mcp_command=None,
                llm_base_url=None,
                openai_api_key=None,
                force_devices={},
                driver_packages={},
                global_package=None,
                report_root=Path(tmp) / "runs",
            )
            rss_before = proc_status_kb("self", "VmRSS")
            cpu0, sim_cpu0, jira_cpu0 = time.process_time(), proc_cpu_s(sim.pid), proc_cpu_s(jira.pid)
            t0 = time.time()
            batch = await run_batch(ctx, [key for key, *_ in plan])
            t1 = time.time()
            cpu = time.process_time() - cpu0
            sim_cpu, jira_cpu = proc_cpu_s(sim.pid) - sim_cpu0, proc_cpu_s(jira.pid) - jira_cpu0
            sim_hwm, jira_hwm = proc_status_kb(sim.pid, "VmHWM"), proc_status_kb(jira.pid, "VmHWM")
            actions = lane_actions(await sim.actions())
        runs = []
        for o in batch.outcomes:
            key = str(o.state.get("ticket_key", ""))
            template, want = expected[key]
            runs.append(
                {
                    "run_id": o.run_id,
                    "key": key,
                    "template": template,
                    "expected": want,
                    "verdict": o.verdict.result,
                    "justification": o.verdict.justification,
                    "right_reason": o.verdict.result == want and REASONS[template] in o.verdict.justification,
                    "devices": [d.device for d in o.state.get("drivers") or []],
                    "steps": len(o.state.get("results") or []),
                }
            )
        busy = sum(a["end"] - a["start"] for a in actions if a["device"] is not None and a["end"] is not None)
        return {
            "size": args.size,
            "devices": len(batch.devices),
            "wall_s": t1 - t0,
            "tickets_per_min": args.size / (t1 - t0) * 60,
            "agent_rss_before_kb": rss_before,
            "agent_hwm_kb": proc_status_kb("self", "VmHWM"),
            "sim_hwm_kb": sim_hwm,
            "jira_hwm_kb": jira_hwm,
            "agent_cpu_s": cpu,
            "sim_cpu_s": sim_cpu,
            "jira_cpu_s": jira_cpu,
            "device_calls": sum(a["device"] is not None for a in actions),
            "device_busy_s": busy,
            "leases": lease_figures(log, t0, t1, len(batch.devices), args.size, batch.outcomes),
            "runs": runs,
            "correct": sum(r["verdict"] == r["expected"] for r in runs),
            "right_reason": sum(r["right_reason"] for r in runs),
        }


# ----------------------------------------------------------------------------- parent: sizes, report


def run_child(size: int, args: argparse.Namespace, verbatim: bool) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(prefix="bench-scale-", suffix=".json", delete=False) as f:
        out = Path(f.name)
    try:
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child-size",
            str(size),
            "--child-out",
            str(out),
            "--devices",
            str(args.devices),
            "--latency-ms",
            str(args.latency_ms),
            "--seed",
            str(args.seed),
        ]
        if verbatim:
            cmd.append("--child-verbatim")
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=sys.stderr)
        fig: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        fig["process_s"] = time.perf_counter() - t
        return fig
    finally:
        out.unlink(missing_ok=True)


def linear_fit(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least squares y = a + b x; returns a, b, R^2."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else 0.0
    a = my - b * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - a - b * x) ** 2 for x, y in zip(xs, ys, strict=True))
    return a, b, 1 - ss_res / ss_tot if ss_tot else 1.0


def mix_text(n: int) -> str:
    counts: dict[str, int] = {}
    for _key, template, _e, _d in schedule(n):
        counts[template] = counts.get(template, 0) + 1
    return ", ".join(f"{t} ×{c}" for t, c in counts.items())


def verdict_text(r: dict[str, Any]) -> str:
    text = f"{r['correct']}/{r['size']} ({r['right_reason']})"
    return text if r["right_reason"] == r["size"] else f"**{text}**"


def markdown(
    rows: list[dict[str, Any]], verbatim: dict[str, Any] | None, args: argparse.Namespace, command: str
) -> str:
    mb = 1024.0
    total_s = sum(r["process_s"] for r in rows) + (verbatim["process_s"] if verbatim else 0.0)
    n_max = max(args.sizes)
    out = [
        f"Command: `{command}`",
        "",
        f"Machine: {machine()}",
        "",
        f"Simulator: {args.devices} devices, latency {args.latency_ms:g} ms per device action (as in benchmark 1), "
        f"seed {args.seed}; offline path; embedded Jira server over HTTP; `run_batch` with its default "
        f"concurrency (two runs per device). Mix at {n_max} tickets: {mix_text(n_max)} (a block of 10, repeated). "
        f"Whole script: {total_s:.0f} s.",
        "",
        "| tickets | wall (s) | tickets / min | verdicts as expected (of which for the expected reason) "
        "| agent peak RSS (MB) "
        "| agent RSS before the batch (MB) | simulator peak RSS (MB) | Jira server peak RSS (MB) "
        "| agent / simulator CPU (s) | device calls |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['size']} | {r['wall_s']:.1f} | {r['tickets_per_min']:.1f} | {verdict_text(r)} "
            f"| {r['agent_hwm_kb'] / mb:.0f} | {r['agent_rss_before_kb'] / mb:.0f} | {r['sim_hwm_kb'] / mb:.0f} "
            f"| {r['jira_hwm_kb'] / mb:.0f} | {r['agent_cpu_s']:.1f} / {r['sim_cpu_s']:.1f} | {r['device_calls']} |"
        )
    xs = [float(r["size"]) for r in rows]
    ys = [r["wall_s"] for r in rows]
    if len(rows) >= 2:
        a, b, r2 = linear_fit(xs, ys)
        worst = max(abs(y - (a + b * x)) / y for x, y in zip(xs, ys, strict=True))
        marg = [
            (int(x1), int(x2), (y2 - y1) / (x2 - x1))
            for (x1, y1), (x2, y2) in itertools.pairwise(zip(xs, ys, strict=True))
        ]
        linear = r2 >= 0.99 and worst <= 0.10
        out += [
            "",
            f"Growth of wall time with the number of tickets: least-squares line wall = {a:.1f} s + {b:.2f} s × "
            f"tickets, R² = {r2:.4f}, largest distance of a size from the line {worst * 100:.1f}% of its wall "
            f"time; linear (R² ≥ 0.99 and every size within 10% of the line): **{'yes' if linear else 'no'}**. "
            "Extra seconds per extra ticket between consecutive sizes: "
            + ", ".join(f"{x1}→{x2}: {m:.2f}" for x1, x2, m in marg)
            + ".",
        ]
    out += [
        "",
        "Where the devices' time went (device-seconds, share of the capacity = devices × wall). Leased: from "
        "the lease's grant to its release, split at the run's first step start and last step end. Not leased, "
        "by what the batch was doing: before the first lease (device probe, graph, first tickets fetched and "
        "planned), a run waited for a lease (FIFO: a run waits until the one ahead of it got its devices), "
        "tickets waited for a run slot (at most two runs per device at once), every ticket had started (the "
        "tail). Runs and leases recorded by wrapping `drive` and `DeviceLeaser.acquire`/`release` in the "
        "benchmark process.",
        "",
        "| tickets | capacity | on the device (simulator action log) | leased: before the first step "
        "| leased: first → last step | leased: after the last step | not leased: start-up "
        "| not leased: a run waited for a lease | not leased: tickets waited for a run slot "
        "| not leased: tail |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lz = r["leases"]
        ph, idle = lz["phases_device_s"], lz["idle_device_s"]
        cap = lz["capacity_device_s"]

        def pct(v: float, cap: float = cap) -> str:
            return f"{v:.0f} ({v / cap * 100:.0f}%)"

        out.append(
            f"| {r['size']} | {cap:.0f} | {pct(r['device_busy_s'])} | {pct(ph['before_first_step'])} "
            f"| {pct(ph['executing'])} | {pct(ph['after_last_step'])} | {pct(idle['startup'])} "
            f"| {pct(idle['lease_wait'])} | {pct(idle['slots_full'])} | {pct(idle['tail'])} |"
        )
    sizes = [r["size"] for r in rows]
    out += [
        "",
        "Per ticket, by template (medians over the copies in each batch; one figure per size, "
        + " / ".join(str(n) for n in sizes)
        + " tickets): a run's time from its start to its verdict, the time its lease was held, the "
        "execution (first step start → last step end), and waits for a run slot and for the lease.",
        "",
        "| template | devices | expected | run (s) | lease held (s) | execution (s) | waited for a run slot (s) "
        "| waited for the lease (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    seen: dict[str, tuple[int, str]] = {}
    for template, expected, devices in BLOCK:
        seen.setdefault(template, (devices, expected))
    for template, (devices, expected) in seen.items():
        cells = []
        for field in ("run_s", "leased_s", "exec_s", "slot_wait_s", "lease_wait_s"):
            per_size = []
            for r in rows:
                values = [
                    r["leases"]["per_run"][x["run_id"]].get(field) for x in r["runs"] if x["template"] == template
                ]
                values = [v for v in values if v is not None]
                per_size.append(f"{median(values):.1f}" if values else "—")
            cells.append(" / ".join(per_size))
        out.append(f"| {template} | {devices} | {expected} | " + " | ".join(cells) + " |")
    wrong = [(r["size"], x) for r in rows for x in r["runs"] if not x["right_reason"]]
    reasons = "; ".join(f"{t}: “{phrase}”" for t, phrase in REASONS.items())
    out += [
        "",
        f"Verdicts that are wrong, or right for another reason, over all sizes: {len(wrong)} (0 means every verdict "
        f"was the expected one, and its justification says what it must: {reasons}).",
    ]
    for size, x in wrong[:10]:
        out.append(
            f"* {size} tickets, {x['key']} (copy of {x['template']}): expected {x['expected']}, got "
            f"{x['verdict']}: {x['justification'][:200]}"
        )
    if verbatim is not None:
        bad = [x for x in verbatim["runs"] if not x["right_reason"]]
        by_template: dict[str, list[int]] = {}
        for x in verbatim["runs"]:
            ok = by_template.setdefault(x["template"], [0, 0, 0])
            ok[0] += x["verdict"] == x["expected"]
            ok[1] += x["right_reason"]
            ok[2] += 1
        out += [
            "",
            f"Verbatim copies (only `key:` changed; every copy on the example apps' one shared channel and "
            f"naming Alice), {verbatim['size']} tickets, same settings: {verbatim['correct']}/{verbatim['size']} "
            f"verdicts as expected, {verbatim['right_reason']} of them for the expected reason, wall "
            f"{verbatim['wall_s']:.1f} s. Per template (as expected / for the expected reason / copies): "
            + ", ".join(f"{t} {c[0]}/{c[1]}/{c[2]}" for t, c in by_template.items())
            + ".",
        ]
        for x in bad[:4]:
            out.append(f"* {x['key']} (copy of {x['template']}): {x['verdict']}: {x['justification'][:320]}")
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[10, 20, 30, 40, 50])
    p.add_argument("--devices", type=int, default=16)
    p.add_argument("--latency-ms", type=float, default=200.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--verbatim", type=int, default=0, help="also run N verbatim copies (only the key changed), to show why not"
    )
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--child-size", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--child-out", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument("--child-verbatim", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child_size:
        args.size, args.verbatim = args.child_size, args.child_verbatim
        fig = asyncio.run(child(args))
        args.child_out.write_text(json.dumps(fig, default=str), encoding="utf-8")
        return 0
    rows = []
    for size in args.sizes:
        fig = run_child(size, args, verbatim=False)
        print(
            f"# {size} tickets: wall {fig['wall_s']:.1f}s, {fig['tickets_per_min']:.1f}/min, "
            f"{fig['correct']}/{size} verdicts as expected ({fig['right_reason']} for the reason), "
            f"process {fig['process_s']:.0f}s",
            file=sys.stderr,
        )
        rows.append(fig)
    verbatim = None
    if args.verbatim:
        verbatim = run_child(args.verbatim, args, verbatim=True)
        print(f"# verbatim {args.verbatim}: {verbatim['correct']}/{args.verbatim} as expected", file=sys.stderr)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"sizes": rows, "verbatim": verbatim}, indent=2, default=str), encoding="utf-8")
    command = " ".join(["bench/scale.py", *sys.argv[1:]])
    print(markdown(rows, verbatim, args, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
