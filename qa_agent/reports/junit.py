"""JUnit XML: one testcase per ticket, so CI and Xray imports show the verdict."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any


def _steps_text(data: dict[str, Any]) -> str:
    lines = []
    for r in data.get("results") or []:
        shot = ((r.get("evidence") or {}).get("screenshot")) or ""
        lines.append(
            f"{r['step_id']:<5} driver {r['driver']} {r.get('device') or '-':<16} {r['action']:<18} "
            f"{r['status']:<8} {r['ended_at'] - r['started_at']:.2f}s {r.get('message', '')}"
            + (f" [evidence: {shot}]" if shot else "")
        )
    return "\n".join(lines)


def _testcase(parent: ET.Element, data: dict[str, Any], folder: Path) -> str:
    verdict = data.get("verdict") or {}
    key = data.get("ticket_key") or "ticket"
    title = (data.get("summary") or {}).get("title", "")
    elapsed = f"{data.get('stats', {}).get('wall_time_s', 0):.3f}"
    result = str(verdict.get("result", "blocked"))
    case = ET.SubElement(parent, "testcase", classname=f"mobile-qa.{key}", name=f"{key}: {title}".strip(), time=elapsed)
    props = ET.SubElement(case, "properties")
    ET.SubElement(props, "property", name="test_key", value=str(key))
    ET.SubElement(props, "property", name="report", value=str(folder / "report.html"))
    message = verdict.get("justification", "")
    evidence = "\n".join(verdict.get("evidence") or [])
    if result == "failure":
        ET.SubElement(case, "failure", message=message, type="AppDefect").text = evidence
    elif result == "blocked":
        ET.SubElement(case, "error", message=message, type="Blocked").text = evidence
    ET.SubElement(case, "system-out").text = _steps_text(data)
    return result


def render_junit_suite(name: str, runs: list[tuple[dict[str, Any], Path]]) -> str:
    """One testsuite, one testcase per ticket (a run's report data and its folder)."""
    suites = ET.Element("testsuites", name="mobile-qa-agent", tests=str(len(runs)))
    suite = ET.SubElement(suites, "testsuite", name=name, tests=str(len(runs)), skipped="0")
    results = [_testcase(suite, data, folder) for data, folder in runs]
    total = sum(float(data.get("stats", {}).get("wall_time_s", 0)) for data, _ in runs)
    suite.set("failures", str(results.count("failure")))
    suite.set("errors", str(results.count("blocked")))
    suite.set("time", f"{total:.3f}")
    for key in ("failures", "errors", "time"):
        suites.set(key, suite.get(key, ""))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def render_junit(data: dict[str, Any], folder: Path) -> str:
    return render_junit_suite(str(data.get("ticket_key") or "ticket"), [(data, folder)])
