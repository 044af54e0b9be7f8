"""`qa-agent steps` and `qa-agent check`: the library listed, a ticket compiled without a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.state import Plan
from qa_agent.cli import main

TICKETS = Path(__file__).resolve().parents[2] / "examples" / "tickets"


@pytest.fixture(autouse=True)
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")


def test_steps_lists_every_step_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["steps"]) == 0
    out = capsys.readouterr().out
    assert 'user1 enters "qa@example.com" in the "Email" field' in out
    assert "assert_state" in out and "(not supported yet)" not in out


def test_check_writes_a_plan_that_approve_edit_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "plan.json"
    assert main(["check", str(TICKETS / "PTT-1.yaml"), "--json", str(target)]) == 0
    plan = Plan.model_validate_json(target.read_text())
    assert plan.packages == {1: "com.example.ptt", 2: "com.example.ptt"}
    assert [s.action for s in plan.steps][:2] == ["launch_app", "launch_app"]
    assert "step group 3" in capsys.readouterr().out


def test_check_lists_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    feature = tmp_path / "login.feature"
    feature.write_text('Scenario: s\n  Given the user opens the app\n  When he tapz "Go"\n  Thne he sees "Hi"\n')
    assert main(["check", str(feature)]) == 2
    out = capsys.readouterr().out
    assert "line 4: not a step" in out


def test_check_reads_a_ticket_key_from_jira(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "LOGIN-1"]) == 0  # the embedded Jira server over the example tickets
    out = capsys.readouterr().out
    assert "type_into" in out and "driver 1: com.example.login" in out


def test_check_says_free_text_needs_the_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(TICKETS / "PTT-4.yaml")]) == 2
    assert "not Gherkin" in capsys.readouterr().out


def test_plan_is_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "plan.json"
    assert main(["plan", "LOGIN-1", "--json", str(target)]) == 0
    assert Plan.model_validate_json(target.read_text()).steps[0].action == "launch_app"
    assert f"qa-agent approve RUN_ID --edit {target}" in capsys.readouterr().out
