"""JUnit XML: one testcase per ticket (per test case when its plan has several), so CI and Xray imports
show the verdict."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any


def _steps_text(data: dict[str, Any]) -> str:
    logs = {
        (e["attempt"], e["step_id"], e["driver"]): e["file"] for e in (data.get("device_logs") or {}).get("steps") or []
    }
    lines = []
    for r in data.get("results") or []:
        shot = ((r.get("evidence") or {}).get("screenshot")) or ""
        log = logs.get((r.get("attempt", 0), r["step_id"], r["driver"]))
        lines.append(
            f"{r['step_id']:<5} driver {r['driver']} {r.get('device') or '-':<16} {r['action']:<18} "
            f"{r['status']:<8} {r['ended_at'] - r['started_at']:.2f}s {r.get('message', '')}"
            + (f" [evidence: {shot}]" if shot else "")
            + (f" [device log: {log}]" if log else "")
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


def case_outcomes(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(result, message) of each of the plan's test cases: a case is decided by its own steps; a case
    that did not run all its steps is blocked; without a failing step every case has the ticket's verdict."""
    plan = data.get("plan") or {}
    verdict = data.get("verdict") or {}
    overall = (str(verdict.get("result", "blocked")), str(verdict.get("justification", "")))
    case_of = {s["id"]: int(s.get("case", 0)) for s in plan.get("steps", [])}
    results = data.get("results") or []
    bad = [r for r in results if r["status"] in ("failed", "blocked")]
    if overall[0] == "success" or not bad:
        return [overall for _ in plan["cases"]]
    out = []
    for index in range(len(plan["cases"])):
        own = [r for r in results if case_of.get(r["step_id"]) == index]
        failed = next((r for r in own if r["status"] in ("failed", "blocked")), None)
        if failed is not None:
            kind = "failure" if failed["status"] == "failed" and overall[0] == "failure" else "blocked"
            out.append((kind, f"{failed['step_id']}: {failed.get('message', '')}"))
        elif len(own) < sum(1 for c in case_of.values() if c == index) or any(r["status"] != "passed" for r in own):
            out.append(("blocked", f"not run to the end: {overall[1]}"))
        else:
            out.append(("success", ""))
    return out


def _testcases(parent: ET.Element, data: dict[str, Any], folder: Path) -> list[str]:
    cases = (data.get("plan") or {}).get("cases") or []
    if len(cases) < 2:
        return [_testcase(parent, data, folder)]
    key = data.get("ticket_key") or "ticket"
    out = []
    for name, (result, message) in zip(cases, case_outcomes(data), strict=True):
        case = ET.SubElement(parent, "testcase", classname=f"mobile-qa.{key}", name=f"{key}: {name}", time="0")
        props = ET.SubElement(case, "properties")
        ET.SubElement(props, "property", name="test_key", value=str(key))
        ET.SubElement(props, "property", name="report", value=str(folder / "report.html"))
        if result == "failure":
            ET.SubElement(case, "failure", message=message, type="AppDefect")
        elif result == "blocked":
            ET.SubElement(case, "error", message=message, type="Blocked")
        ET.SubElement(case, "system-out").text = _steps_text(data)
        out.append(result)
    return out


def render_junit_suite(name: str, runs: list[tuple[dict[str, Any], Path]]) -> str:
    """One testsuite, one testcase per ticket or per test case (a run's report data and its folder)."""
    suites = ET.Element("testsuites", name="mobile-qa-agent")
    suite = ET.SubElement(suites, "testsuite", name=name, skipped="0")
    results = [result for data, folder in runs for result in _testcases(suite, data, folder)]
    suites.set("tests", str(len(results)))
    suite.set("tests", str(len(results)))
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
