"""index.html of a batch: every ticket's verdict, duration and devices, failures first, a filter by verdict."""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Any

_ORDER = {"failure": 0, "blocked": 1, "success": 2}
_STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#1d2330;background:#f6f7f9}
h1{font-size:20px} table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #d9dde3;padding:8px;text-align:left;font-size:13px;vertical-align:top}
th{background:#eef0f4} tr.success td.v{color:#2f7d40} tr.failure td.v{color:#b3261e} tr.blocked td.v{color:#9a6a00}
td.v{font-weight:bold;text-transform:uppercase} .filter a{margin-right:12px} .why{color:#39404d}
"""
# The filter is the URL's fragment (#failure), so a filtered view can be linked and reloaded.
_SCRIPT = """
function applyFilter() {
  var want = location.hash.replace('#', ''), shown = 0;
  document.querySelectorAll('tr.run').forEach(function (row) {
    var show = !want || want === 'all' || row.classList.contains(want);
    row.style.display = show ? '' : 'none'; if (show) { shown++; }
  });
  document.body.setAttribute('data-shown', String(shown));
}
window.addEventListener('load', applyFilter); window.addEventListener('hashchange', applyFilter);
"""


def _row(data: dict[str, Any], run_folder: Path, batch_folder: Path) -> tuple[int, str, str]:
    verdict = data.get("verdict") or {}
    result = str(verdict.get("result", "blocked"))
    key = str(data.get("ticket_key") or "?")
    title = (data.get("summary") or {}).get("title", "")
    devices = sorted({str(r["device"]) for r in data.get("results") or [] if r.get("device")})
    seconds = float((data.get("stats") or {}).get("wall_time_s", 0))
    report = run_folder / "report.html"
    link = (
        f'<a href="{escape(os.path.relpath(report, batch_folder))}">{escape(key)}</a>'
        if report.is_file()
        else escape(key)
    )
    html = (
        f'<tr class="run {escape(result)}"><td class="v">{escape(result)}</td><td>{link}</td>'
        f"<td>{escape(title)}</td><td>{seconds:.1f}s</td><td>{escape(', '.join(devices) or '-')}</td>"
        f'<td class="why">{escape(str(verdict.get("justification", ""))[:400])}</td></tr>'
    )
    return _ORDER.get(result, 1), key, html


def render_batch_index(batch_id: str, runs: list[tuple[dict[str, Any], Path]], batch_folder: Path) -> str:
    rows = sorted(_row(data, folder, batch_folder) for data, folder in runs)
    counts = {r: sum(1 for data, _ in runs if (data.get("verdict") or {}).get("result") == r) for r in _ORDER}
    filters = (
        " ".join(f'<a href="#{r}">{r} ({counts[r]})</a>' for r in ("failure", "blocked", "success"))
        + f' <a href="#all">all ({len(runs)})</a>'
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(batch_id)}</title><style>{_STYLE}</style><script>{_SCRIPT}</script></head><body>"
        f'<h1>Batch {escape(batch_id)}</h1><p class="filter">{filters} · <a href="junit.xml">junit.xml</a></p>'
        "<table><tr><th>verdict</th><th>ticket</th><th>title</th><th>duration</th><th>devices</th><th>why</th></tr>"
        + "".join(html for _, _, html in rows)
        + "</table></body></html>\n"
    )
