"""Write a run's folder: report.json, junit.xml, report.html (secrets redacted everywhere)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from qa_agent.reports.html_report import render_html
from qa_agent.reports.junit import render_junit
from qa_agent.reports.paths import atomic_write, sync_files


def to_jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


MIN_SECRET_LEN = 4  # shorter values cannot be told apart from ordinary text


def redact(value: Any, secrets: list[str]) -> Any:
    """Replace secrets inside every string of a JSON-like structure (keys and values)."""
    usable = [s for s in secrets if len(s) >= MIN_SECRET_LEN]
    if not usable:
        return value
    if isinstance(value, str):
        for secret in usable:
            value = value.replace(secret, "***")
        return value
    if isinstance(value, dict):
        return {redact(k, usable): redact(v, usable) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, usable) for v in value]
    return value


REPORT_KEYS = (
    "ticket_key", "run_id", "ticket", "summary", "summary_text", "devices", "device_info", "drivers", "plan", "results",
    "attempt", "history", "verdict", "usage", "plan_stored", "writeback", "device_logs",
)  # fmt: skip


def build_report(state: Mapping[str, Any]) -> dict[str, Any]:
    data = {k: to_jsonable(state.get(k)) for k in REPORT_KEYS if state.get(k) is not None}
    results = data.get("results") or []
    data["stats"] = {
        "steps": len(results),
        "device_tool_calls": sum(int(r.get("tool_calls", 0)) for r in results),
        "wall_time_s": round(
            max((r["ended_at"] for r in results), default=0) - min((r["started_at"] for r in results), default=0),
            3,
        ),
    }
    return data


def write_reports(folder: Path, state: Mapping[str, Any], secrets: list[str]) -> dict[str, Any]:
    """Blocking file IO: call through asyncio.to_thread from async code."""
    folder.mkdir(parents=True, exist_ok=True)
    data = redact(build_report(state), secrets)
    sync_files(folder / "evidence")  # written unsynced while the devices waited (LaneDriver.screenshot)
    atomic_write(folder / "report.json", json.dumps(data, ensure_ascii=False, indent=2))
    atomic_write(folder / "junit.xml", render_junit(data, folder))
    atomic_write(folder / "report.html", render_html(data, folder))
    return data
