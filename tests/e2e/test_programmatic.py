"""`await graph.ainvoke(...)` as a library user calls it, with nothing but environment variables."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from graph.builder import graph

pytestmark = pytest.mark.slow


def _children() -> set[int]:
    me = str(os.getpid())
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == me:
                out.add(int(entry.name))
    return out


async def test_ainvoke_with_environment_only(jira_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    before = _children()
    monkeypatch.setenv("JIRA_MCP_URL", jira_url)
    monkeypatch.setenv("QA_REPORT_DIR", str(tmp_path / "runs"))
    # MOBILE_MCP_COMMAND unset: the run starts the embedded simulator and closes it at the end.
    result = await graph.ainvoke({"ticket_key": "LOGIN-1"})
    assert result["verdict"].result == "success", result["verdict"].justification
    report = Path(result["report_dir"])
    assert report.parent == tmp_path / "runs"
    assert (report / "report.json").is_file()
    assert _children() <= before, "the embedded simulator outlived the run"


async def test_context_object_overrides_environment(jira_url: str, tmp_path: Path) -> None:
    from graph.context import load_context

    ctx = load_context(jira_mcp_url=jira_url, report_root=tmp_path, global_package="com.example.ptt")
    result = await graph.ainvoke({"ticket_key": "PTT-3"}, context=ctx)
    assert result["verdict"].result == "success", result["verdict"].justification


async def test_a_crashing_node_ends_blocked_with_a_report_and_no_leak(
    jira_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import nodes.planner

    def broken(text: str, **options: object) -> None:
        raise RuntimeError("compiler bug")

    before = _children()
    monkeypatch.setattr(nodes.planner, "compile_gherkin", broken)
    monkeypatch.setenv("JIRA_MCP_URL", jira_url)
    monkeypatch.setenv("QA_REPORT_DIR", str(tmp_path / "runs"))
    # The embedded simulator was started by discovery: the crash must still close it.
    result = await graph.ainvoke({"ticket_key": "LOGIN-1"})
    assert result["verdict"].result == "blocked"
    assert result["verdict"].justification == "internal error in planner: RuntimeError: compiler bug"
    assert (Path(result["report_dir"]) / "report.json").is_file()
    assert _children() <= before, "the embedded simulator outlived the crashed run"
