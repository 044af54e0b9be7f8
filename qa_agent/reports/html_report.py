"""report.html: the verdict, then each driver's steps side by side per step group, screenshots inline,
and under a failed step its device log lines, folded.

Readers are QA people, not the graph's authors: a segment is a "step group", a barrier a "sync point",
and every screenshot opens full size from its thumbnail."""

from __future__ import annotations

import os
import re
import time
from html import escape
from pathlib import Path
from typing import Any

from qa_agent.reports.junit import case_outcomes

_STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#1d2330;background:#f6f7f9}
h1{font-size:20px;margin:0 0 4px} .sub{color:#5b6474;margin-bottom:16px}
.verdict{padding:14px 18px;border-radius:8px;margin:12px 0 20px;font-size:16px}
.verdict b{text-transform:uppercase;letter-spacing:.04em}
.success{background:#dff5e3;border:1px solid #49a35b}.failure{background:#fde2e1;border:1px solid #d0453f}
.blocked{background:#fff1d6;border:1px solid #d49a1f}
table{border-collapse:collapse;width:100%;background:#fff;margin-bottom:18px}
th,td{border:1px solid #d9dde3;padding:8px;vertical-align:top;text-align:left;font-size:13px}
th{background:#eef0f4} .seg{white-space:nowrap;color:#5b6474}
.step{margin:0 0 8px;padding:6px;border-radius:6px;border-left:4px solid #aaa;background:#fafbfc}
.step.passed{border-color:#49a35b}.step.failed{border-color:#d0453f}.step.blocked{border-color:#d49a1f}
.step.skipped{border-color:#aaa;opacity:.7} .msg{color:#39404d;white-space:pre-wrap;word-break:break-word}
img.shot{max-width:240px;border:1px solid #ccd;margin-top:6px;display:block}
.legend{color:#5b6474;font-size:13px;margin:-8px 0 14px}
.meta td{border:none;padding:2px 12px 2px 0} .meta{width:auto;background:none;margin-bottom:8px}
ul{margin:4px 0 12px 18px;padding:0} code{font-size:12px}
details.logs{margin-top:6px} details.logs pre{max-height:320px;overflow:auto;font-size:11px;background:#f0f1f4;
padding:6px;white-space:pre-wrap;word-break:break-all}
"""
# Flags evidence that failed to load, so a broken report is visible at a glance.
_SCRIPT = """
window.addEventListener('load', function () {
  var imgs = document.querySelectorAll('img.shot'), ok = 0;
  imgs.forEach(function (i) {
    if (i.complete && i.naturalWidth > 0) { ok++; } else { i.alt = 'missing screenshot'; }
  });
  document.body.setAttribute('data-images-loaded', String(ok));
  document.body.setAttribute('data-images-total', String(imgs.length));
  var full = document.querySelector('a.full img.shot');
  if (full) { document.body.setAttribute('data-full-width', String(full.naturalWidth));
              document.body.setAttribute('data-shown-width', String(full.width)); }
});
"""


def _rel(path: str | None, folder: Path) -> str | None:
    if not path:
        return None
    try:
        return os.path.relpath(Path(path).resolve(), folder.resolve())
    except ValueError:
        return path


def _relative_text(text: str, folder: Path) -> str:
    """Escaped text whose paths into the run folder are relative to the report and linked."""
    roots = sorted({str(folder.resolve()), str(folder), os.path.abspath(folder)}, key=len, reverse=True)
    pattern = re.compile("(?:" + "|".join(re.escape(r) for r in roots) + r")/([^\s\]\[\"'<>]+)")
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(escape(text[last : match.start()]))
        rel = escape(match.group(1))
        out.append(f'<a href="{rel}">{rel}</a>')
        last = match.end()
    out.append(escape(text[last:]))
    return "".join(out)


LogIndex = dict[tuple[int, str, int], dict[str, Any]]


def _log_index(data: dict[str, Any]) -> LogIndex:
    steps = (data.get("device_logs") or {}).get("steps") or []
    return {(e["attempt"], e["step_id"], e["driver"]): e for e in steps}


def _logs_html(entry: dict[str, Any] | None, folder: Path) -> str:
    """The device's log lines around the step, folded; every line is the device's text, escaped."""
    if not entry:
        return ""
    lines, crashes = entry.get("lines") or [], entry.get("crashes") or []
    what = f"device log: {len(lines)} lines around this step" + (f", {len(crashes)} crash(es)" if crashes else "")
    links = [f'<a href="{escape(r)}">{escape(r)}</a>' for r in [_rel(entry.get("file"), folder)] if r]
    links += [
        f'crash {escape(c["id"])}: <a href="{escape(r)}">{escape(r)}</a>'
        for c in crashes if (r := _rel(c.get("file"), folder))
    ]  # fmt: skip
    note = f"<div>{escape(entry['note'])}</div>" if entry.get("note") else ""
    return (
        f'<details class="logs"><summary>{escape(what)}</summary>{note}<pre>{escape(chr(10).join(lines))}</pre>'
        f"<div>{' · '.join(links)}</div></details>"
    )


def _step_html(result: dict[str, Any], step: dict[str, Any] | None, folder: Path, logs: LogIndex) -> str:
    what = escape(step.get("expect") or result["action"]) if step else escape(result["action"])
    if step and step.get("source") == "llm":
        what += " <em>(planned by the LLM)</em>"
    shot = _rel((result.get("evidence") or {}).get("screenshot"), folder)
    img = (
        f'<a class="full" href="{escape(shot)}" target="_blank" title="open full size">'
        f'<img class="shot" src="{escape(shot)}" alt="screenshot of {escape(result["step_id"])}"></a>'
        if shot
        else ""
    )
    duration = result["ended_at"] - result["started_at"]
    return (
        f'<div class="step {escape(result["status"])}"><b>{escape(result["step_id"])}</b> '
        f"<code>{escape(result['action'])}</code> · {escape(result['status'])} · {duration:.2f}s "
        f"· {int(result.get('tool_calls', 0))} calls<div>{what}</div>"
        f'<div class="msg">{_relative_text(result.get("message", ""), folder)}</div>{img}'
        f"{_logs_html(logs.get((result['attempt'], result['step_id'], result['driver'])), folder)}</div>"
    )


def _attempt_table(plan: dict[str, Any], results: list[dict[str, Any]], folder: Path, logs: LogIndex) -> str:
    steps = {s["id"]: s for s in plan.get("steps", [])}
    drivers = sorted({s["driver"] for s in plan.get("steps", [])} | {r["driver"] for r in results})
    devices = {r["driver"]: r.get("device") for r in results}
    head = "".join(f"<th>driver {d}<br><small>{escape(str(devices.get(d) or ''))}</small></th>" for d in drivers)
    rows = []
    for seg in sorted({r["segment"] for r in results}):
        cells = []
        for d in drivers:
            mine = [r for r in results if r["segment"] == seg and r["driver"] == d]
            cells.append("<td>" + "".join(_step_html(r, steps.get(r["step_id"]), folder, logs) for r in mine) + "</td>")
        rows.append(f'<tr><td class="seg">step group {seg + 1}</td>{"".join(cells)}</tr>')
    return f"<table><tr><th>step group</th>{head}</tr>{''.join(rows)}</table>"


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _browse_url(data: dict[str, Any]) -> str | None:
    """The ticket's page in Jira, as the server's issue JSON gives it; only a plain web address."""
    url = ((data.get("ticket") or {}).get("raw") or {}).get("browse_url")
    return url if isinstance(url, str) and re.fullmatch(r"https?://[^\s\"'<>]+", url) else None


def _devices(data: dict[str, Any]) -> str:
    """Per driver: the device as the device server describes it, and the app under test."""
    info = data.get("device_info") or {}
    rows = []
    for assignment in data.get("drivers") or []:
        device = info.get(assignment["device"]) or {}
        os_name = "Android" if device.get("platform", "android").lower() == "android" else device["platform"]
        version = f"{os_name} {device['os_version']}" if device.get("os_version") else "not reported"
        cells = (
            f"driver {assignment['driver']}",
            assignment["device"],
            " · ".join(v for v in (device.get("name"), device.get("model")) if v) or "not reported",
            version,
            assignment.get("package") or "none named",
            "not reported by the device server",
        )
        rows.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in cells) + "</tr>")
    if not rows:
        return ""
    head = "".join(f"<th>{h}</th>" for h in ("driver", "device", "name · model", "OS", "app package", "app version"))
    return f'<table class="devices"><tr>{head}</tr>{"".join(rows)}</table>'


def _meta(data: dict[str, Any]) -> str:
    """When the run happened, where the plan came from, and the other files of the run."""
    results = data.get("results") or [r for a in data.get("history") or [] for r in a.get("results", [])]
    rows: list[tuple[str, str]] = []
    key = escape(data.get("ticket_key", ""))
    url = _browse_url(data)
    rows.append(("ticket", f'<a class="ticket" href="{escape(url)}">{key}</a>' if url else key))
    if results:
        start = min(r["started_at"] for r in results)
        end = max(r["ended_at"] for r in results)
        rows.append(("steps ran", f"{escape(_when(start))} → {escape(_when(end))} ({end - start:.1f}s)"))
    steps_from = (data.get("summary") or {}).get("test_details_source")
    if steps_from:
        rows.append(("test steps from", escape(steps_from)))
    plan = data.get("plan") or {}
    if plan:
        source = {
            "gherkin": "Gherkin, compiled offline",
            "llm": "planned by the LLM",
            "replay": "replayed",
            "edited": "edited by the reviewer",
        }.get(plan.get("source", ""), plan.get("source", ""))
        notes = f" — {escape(plan['notes'])}" if plan.get("notes") else ""
        rows.append(("plan", escape(source) + notes))
        from_model = [st["id"] for st in plan.get("steps", []) if st.get("source") == "llm"]
        if plan.get("source") != "llm":
            rows.append(("steps from the model", escape(", ".join(from_model)) if from_model else "none"))
        if len(plan.get("cases") or []) > 1:
            outcomes = zip(plan["cases"], case_outcomes(data), strict=True)
            rows.append(("test cases", " · ".join(f"{escape(n)}: {escape(r)}" for n, (r, _) in outcomes)))
    rows.append(("files", '<a href="report.json">report.json</a> · <a href="junit.xml">junit.xml</a>'))
    return '<table class="meta">' + "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows) + "</table>"


def _attempt_heading(entry: dict[str, Any], previous: dict[str, Any] | None) -> str:
    label = f"Attempt {entry['attempt'] + 1}"
    if entry["verdict"].get("failure_class") == "interrupted":
        label += " (interrupted)"
    why = ""
    if previous is not None and previous["verdict"].get("failure_class") == "interrupted":
        why = "restarted on resume: " + previous["verdict"].get("justification", "")
    elif previous is not None and previous["verdict"].get("replan"):
        why = f"replanned after attempt {previous['attempt'] + 1}: " + previous["verdict"].get("justification", "")
    return f"<h2>{escape(label)}</h2>" + (f'<div class="legend">why: {escape(why[:600])}</div>' if why else "")


def render_html(data: dict[str, Any], folder: Path) -> str:
    verdict = data.get("verdict") or {}
    result = verdict.get("result", "blocked")
    summary = data.get("summary") or {}
    key = data.get("ticket_key", "")
    parts = [
        f"<h1>{escape(key)} · {escape(summary.get('title', ''))}</h1>",
        f'<div class="sub">run {escape(data.get("run_id", ""))} · {len(data.get("results") or [])} steps · '
        f"{data.get('stats', {}).get('device_tool_calls', 0)} device tool calls</div>",
        f'<div class="verdict {escape(result)}" id="verdict"><b>{escape(result)}</b> — '
        f"{_relative_text(verdict.get('justification', ''), folder)}</div>",
        _meta(data),
        _devices(data),
    ]
    if verdict.get("evidence"):
        items = "".join(f"<li>{_relative_text(e, folder)}</li>" for e in verdict["evidence"])
        parts.append(f"<h2>Evidence</h2><ul>{items}</ul>")
    expected = summary.get("expected_results") or []
    if expected:
        parts.append("<h2>Expected results</h2><ul>" + "".join(f"<li>{escape(e)}</li>" for e in expected) + "</ul>")
    history = data.get("history") or []
    logs = _log_index(data)
    capture_errors = (data.get("device_logs") or {}).get("capture_errors") or {}
    if capture_errors:
        items = "".join(f"<li>{escape(d)}: {escape(str(e))}</li>" for d, e in capture_errors.items())
        parts.append(f'<div class="legend">Device logs not captured:<ul>{items}</ul></div>')
    if history or data.get("results"):
        parts.append(
            '<div class="legend">Each row is a step group: the devices run their steps of a group side by side, '
            "and all of them meet at a sync point before the next group starts.</div>"
        )
    for index, entry in enumerate(history):
        parts.append(_attempt_heading(entry, history[index - 1] if index else None))
        parts.append(_attempt_table(entry["plan"], entry["results"], folder, logs))
    if not history and data.get("results") and data.get("plan"):
        parts.append(_attempt_table(data["plan"], data["results"], folder, logs))
    usage = data.get("usage") or {}
    if usage:
        rows = "".join(
            f"<tr><td>{escape(n)}</td><td>{u['calls']}</td><td>{u['input_tokens']}</td><td>{u['output_tokens']}</td></tr>"
            for n, u in usage.items()
        )
        parts.append(
            f"<h2>LLM usage</h2><table><tr><th>node</th><th>calls</th><th>in</th><th>out</th></tr>{rows}</table>"
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(key)} — {escape(result)}</title>"
        f"<style>{_STYLE}</style><script>{_SCRIPT}</script></head><body>{''.join(parts)}</body></html>\n"
    )
