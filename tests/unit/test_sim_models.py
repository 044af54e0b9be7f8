"""App-model DSL: loading, extends, validation errors, expressions."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_agent.world.sim.expr import evaluate, render
from qa_agent.world.sim.loader import AppModelError, load_apps, load_models


def test_example_apps_load_with_extends() -> None:
    apps = load_apps()
    assert {"com.example.ptt", "com.example.ptt.rc", "com.example.login", "com.example.call"} <= set(apps)
    rc = apps["com.example.ptt.rc"]
    assert rc.name == "Talkie RC" and rc.version == "42"
    talk = next(e for e in rc.screens["channel"].elements if e.key == "talk")
    assert talk.identifier == "com.example.ptt:id/talk"  # inherited
    assert not any(eff.if_ for eff in talk.on.hold_end)  # the defect: the talker is never cleared


def test_errors_name_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("package: com.x\nname: X\nstart: main\nscreens:\n  main:\n    elements:\n      - text: hi\n")
    with pytest.raises(AppModelError, match=r"bad\.yaml: screens\.main\.elements\.0\.bounds: Field required"):
        load_models([bad])
    bad.write_text("package: com.x\nname: X\nstart: nope\nscreens: {main: {}}\n")
    with pytest.raises(AppModelError, match="start screen 'nope'"):
        load_models([bad])
    bad.write_text(
        "package: com.x\nname: X\nstart: main\nscreens:\n  main:\n    elements:\n"
        "      - {text: hi, bounds: [0, 0, 1, 1], visible: 'import os'}\n"
    )
    with pytest.raises(AppModelError, match="invalid expression"):
        load_models([bad])
    child = tmp_path / "child.yaml"
    child.write_text("package: com.y\nextends: com.missing\nname: Y\n")
    with pytest.raises(AppModelError, match=r"extends: unknown app package 'com\.missing'"):
        load_models([child])


def test_expressions() -> None:
    ctx = {"me": "Bob", "shared": {"talker": "Alice", "n": 3}, "state": {}}
    assert evaluate("shared.talker and shared.talker != me", ctx) is True
    assert evaluate("state.missing", ctx) is None
    assert render("{shared.n} participant{'' if shared.n == 1 else 's'}", ctx) == "3 participants"
    assert render("{{literal}} {state.x}", ctx) == "{literal} "


def test_screen_feature_errors_name_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "lists.yaml"
    head = "package: com.x\nname: X\nstart: main\nscreens:\n  main:\n    elements:\n"
    bad.write_text(head + "      - {key: l, items: 'state.rows', bounds: [0, 0, 10, 10]}\n")
    with pytest.raises(
        AppModelError, match=r"lists\.yaml: screens\.main\.elements\.0: .*'items' and 'item' go together"
    ):
        load_models([bad])
    bad.write_text(head + "      - {text: hi, bounds: [0, 0, 1, 1], enabled: 'open(\"x\")'}\n")
    with pytest.raises(AppModelError, match=r"enabled: .*only calls of"):
        load_models([bad])
    bad.write_text(
        head
        + "      - key: box\n        bounds: [0, 0, 9, 9]\n"
        + "        children: [{text: x, bounds: [0, 0, 1, 1], on: {tap: [{go: nope}]}}]\n"
    )
    with pytest.raises(AppModelError, match="'go: nope' names an unknown screen"):
        load_models([bad])
