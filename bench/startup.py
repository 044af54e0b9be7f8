"""Benchmark: start-up of the `qa-agent` command (issue 17, part 5).

Each case is a whole new process, as a person or a CI script starts it: `--help` and usage errors
must answer in under 0.5 s, which they do by not importing LangGraph and the graph (`qa_agent.cli`
only parses; `qa_agent.commands` loads them when a run needs them). For scale, the interpreter
alone and the import of the graph a run needs.

Prints a markdown table (median, min and max wall time over the repetitions, the exit code);
``--json FILE`` also writes the raw numbers.

    .venv/bin/python bench/startup.py [--reps 7] [--json bench/out/startup.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, clean_environ, machine

BUDGET_S = 0.5


def _qa_agent() -> list[str]:
    script = Path(sys.executable).parent / "qa-agent"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "qa_agent.cli"]


def cases() -> list[tuple[str, list[str], bool]]:
    """(label, command, held to the budget)."""
    qa = _qa_agent()
    return [
        ("python -c pass (the interpreter alone)", [sys.executable, "-c", "pass"], False),
        ("qa-agent --help", [*qa, "--help"], True),
        ("qa-agent run --help", [*qa, "run", "--help"], True),
        ("qa-agent run ptt-1 (did you mean PTT-1?)", [*qa, "run", "ptt-1"], True),
        ("qa-agent batch PTT-1 --concurrency 0", [*qa, "batch", "PTT-1", "--concurrency", "0"], True),
        ("qa-agent nonsense (unknown command)", [*qa, "nonsense"], True),
        ("import graph.builder (what a run loads)", [sys.executable, "-c", "import graph.builder"], False),
    ]


def measure(command: list[str], reps: int) -> tuple[list[float], int]:
    times, code = [], 0
    for _ in range(reps):
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=clean_environ(), capture_output=True, check=False)
        times.append(time.perf_counter() - start)
        code = done.returncode
    return times, code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows, raw = [], []
    for label, command, budgeted in cases():
        measure(command, 1)  # warm the file cache: the first start of a cold disk is not the command's
        times, code = measure(command, args.reps)
        median = statistics.median(times)
        verdict = ("yes" if median < BUDGET_S else "**no**") if budgeted else "-"
        spread = f"{median * 1000:.0f} | {min(times) * 1000:.0f} | {max(times) * 1000:.0f}"
        rows.append(f"| {label} | {spread} | {code} | {verdict} |")
        raw.append({"case": label, "times_s": times, "exit": code})
    print(f"Start-up, whole processes, {args.reps} runs each (ms), on {machine()}:\n")
    print("| command | median | min | max | exit code | under 0.5 s |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(raw, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
