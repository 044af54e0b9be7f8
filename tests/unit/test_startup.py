"""`qa-agent --help` and usage errors answer without loading LangGraph or the graph (bench/startup.py times them)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

_PROBE = """
import json, sys
from qa_agent.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("langgraph", "langchain_core", "graph", "nodes"))
print(json.dumps({"code": code, "heavy": heavy}))
"""


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["--help"], 0),
        (["run", "ptt-1"], 3),  # did you mean PTT-1?
        (["batch", "PTT-1", "--concurrency", "0"], 3),
        (["approve"], 3),  # no run id
        (["nonsense"], 3),
    ],
)
def test_help_and_usage_errors_do_not_load_the_graph(argv: list[str], code: int) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, timeout=120, check=False
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == code, done.stdout + done.stderr
    assert result["heavy"] == [], result["heavy"][:10]
