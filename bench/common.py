"""Helpers shared by the benchmark scripts (not tests): machine description, ticket files, env hygiene."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

APPS = ROOT / "examples" / "apps"
TICKETS = ROOT / "examples" / "tickets"

# Settings a developer shell or .env could leak into a run; the benchmarks set every one explicitly.
AMBIENT_PREFIXES = ("JIRA_", "MOBILE_MCP", "LLM_", "OPENAI_", "FORCE_DEVICE_DRIVER", "QA_", "MAX_REPLANS")
AMBIENT_NAMES = ("GLOBAL_PACKAGE", "TICKET_KEY", "PROXY_URL", "PROMPT_LANG")


def lane_actions(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A simulator's action log without the run's device log capture (reads on its own session, beside
    the lanes): the figures are the lanes' device work."""
    from qa_agent.devices.logcapture import LOG_READ_TOOLS  # once ROOT is on sys.path

    return [a for a in actions if a["tool"] not in LOG_READ_TOOLS]


def clean_environ() -> dict[str, str]:
    """os.environ without any setting of the agent or the reference script."""
    out = {}
    for name, value in os.environ.items():
        if name.startswith(AMBIENT_PREFIXES) or name in AMBIENT_NAMES:
            continue
        if name.startswith("DRIVER") and name.endswith("_PACKAGE"):
            continue
        out[name] = value
    return out


def scrub_environ() -> None:
    keep = clean_environ()
    for name in list(os.environ):
        if name not in keep:
            del os.environ[name]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        load = "unknown"
    return (
        f"{os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))}), {cpu}, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}; "
        f"load average when the figures were printed (1/5/15 min): {load}"
    )


def write_ticket(folder: Path, key: str, summary: str, gherkin: str, description: str = "") -> Path:
    """A ticket file in the embedded Jira server's YAML format (see examples/tickets)."""
    data: dict[str, Any] = {
        "key": key,
        "summary": summary,
        "issue_type": "Test",
        "status": "To Do",
        "priority": "Medium",
        "labels": ["bench"],
        "components": ["Android"],
        "reporter": {"display_name": "Bench", "name": "bench", "email": "bench@example.com"},
        "created": "2026-11-20T09:00:00.000+0000",
        "updated": "2026-11-20T09:00:00.000+0000",
        "description": description or summary,
        "custom_fields": {"customfield_11504": {"name": "Test Details", "value": gherkin}},
        "comments": [],
        "attachments": [],
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def median(values: list[float]) -> float:
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
