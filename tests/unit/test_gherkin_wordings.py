"""Gherkin as QA engineers write it (issue 16): every wording the issue lists compiles offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qa_agent.planning.gherkin import GherkinError, compile_gherkin
from qa_agent.planning.steps import load_library
from qa_agent.planning.subjects import Subjects, normalise, split_within

APPS = {"Talkie": "com.example.ptt"}


def actions(text: str, **kwargs: Any) -> list[tuple[int, str, dict[str, Any]]]:
    return [(s.driver, s.action, s.args) for s in compile_gherkin(text, apps=APPS, **kwargs).steps]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('And taps the "Sign in" button', [(1, "tap_text", {"target": "Sign in"})]),
        (
            'When user1 enters "qa@example.com" in the "Email" field',
            [(1, "type_into", {"text": "qa@example.com", "target": "Email"})],
        ),
        ('When fills in "Email" with "qa@b.c"', [(1, "type_into", {"target": "Email", "text": "qa@b.c"})]),
        ('Then "Welcome, Alice" is displayed', [(1, "assert_visible", {"text": "Welcome, Alice"})]),
        ("Given the app is open", [(1, "launch_app", {})]),
        ("When user1 taps 'Sign in'", [(1, "tap_text", {"target": "Sign in"})]),
        ("Given user1 and user2 open the app", [(1, "launch_app", {}), (2, "launch_app", {})]),
        ("Given user2 opens Talkie", [(2, "launch_app", {"package": "com.example.ptt"})]),
        (
            'When user1 types "Salut" into "Message" and taps "Send"',
            [(1, "type_into", {"text": "Salut", "target": "Message"}), (1, "tap_text", {"target": "Send"})],
        ),
        ('Then she no longer sees "Typing"', [(1, "assert_not_visible", {"text": "Typing"})]),
        ('Then the "Saved" toast disappears', [(1, "assert_not_visible", {"text": "Saved"})]),
        ('Then user1 should receive "New message"', [(1, "assert_visible", {"text": "New message"})]),
        ('Then user1 sees text containing "Welc"', [(1, "assert_visible", {"text": "Welc", "match": "contains"})]),
        ('Then user1 sees text matching "#\\d+"', [(1, "assert_visible", {"text": "#\\d+", "match": "regex"})]),
        ('When the user double taps the "Photo" image', [(1, "double_tap_text", {"target": "Photo"})]),
        ("Then 'Bonjour' is shown within 3 seconds", [(1, "assert_visible", {"text": "Bonjour", "timeout_s": 3.0})]),
    ],
)
def test_the_wordings_of_the_issue_compile(line: str, expected: list[tuple[int, str, dict[str, Any]]]) -> None:
    assert actions(line) == expected


def test_while_the_button_is_held_checks_during_the_previous_hold() -> None:
    plan = compile_gherkin(
        'Given user1 and user2 open the app\nWhen user1 holds "Talk" for 4 seconds\n'
        'Then user2 sees "Alice is talking" while the button is held\n'
    )
    hold, check = plan.steps[2], plan.steps[3]
    assert (hold.action, check.action) == ("long_press_text", "assert_visible")
    assert check.args == {"text": "Alice is talking", "during": hold.id, "timeout_s": 4.0}
    assert any(hold in seg and check in seg for seg in plan.segments())


def test_a_concurrent_clause_gets_the_held_step_and_its_duration() -> None:
    plan = compile_gherkin('Then user2 sees "X" within 2 seconds as long as user1 holds "Talk" for 5 seconds')
    hold, check = plan.steps
    assert check.args == {"text": "X", "timeout_s": 2.0, "during": hold.id}


def test_roles_by_name() -> None:
    plan = compile_gherkin(
        'Background:\n  Given user1 is Alice\n  And user2 is "Bob"\nScenario: call\n  When Alice taps "Call"\n'
        '  Then Bob sees "Incoming call from Alice"\n'
    )
    assert plan.roles == {1: "Alice", 2: "Bob"}
    assert [(s.driver, s.action) for s in plan.steps] == [(1, "tap_text"), (2, "assert_visible")]


def test_a_role_is_only_a_given_a_then_like_it_is_a_check_that_must_not_vanish() -> None:
    with pytest.raises(GherkinError, match="line 2: cannot compile step 'is Online'"):
        compile_gherkin("Given user1 is Alice\nThen user1 is Online\n")


def test_a_scenario_outline_runs_one_case_per_example_row() -> None:
    plan = compile_gherkin(
        "Feature: f\n  Scenario Outline: login as <who>\n    Given the user opens the app\n"
        '    When the user types "<email>" into "Email"\n    Then the user sees "Hi <who>"\n'
        "    Examples:\n      | who | email |\n      | Ann | a@x.io |\n      | Bo | b@x.io |\n"
    )
    typed = [s.args["text"] for s in plan.steps if s.action == "type_into"]
    assert typed == ["a@x.io", "b@x.io"]
    assert plan.verifications == ['[login as Ann] the user sees "Hi Ann"', '[login as Bo] the user sees "Hi Bo"']
    assert len(plan.segments()) == 2  # one case after the other
    assert [s.args.get("cold_start") for s in plan.steps if s.action == "launch_app"] == [True, True]


def test_french_keywords() -> None:
    plan = compile_gherkin(
        "# language: fr\nFonctionnalité: Connexion\n  Scénario: s\n    Étant donné que user1 ouvre l'application\n"
        '    Quand user1 appuie sur "Connexion"\n    Alors user1 voit "Bienvenue"\n'
    )
    assert [s.action for s in plan.steps] == ["launch_app", "tap_text", "assert_visible"]
    assert plan.verifications == ['user1 voit "Bienvenue"']


def test_a_preamble_before_the_feature_is_not_a_parse_error_but_a_step_there_is_refused() -> None:
    plan = compile_gherkin('Preconditions: a signed-in user\nFeature: f\n  Scenario: s\n    Then user1 sees "Home"\n')
    assert [s.action for s in plan.steps] == ["assert_visible"]
    with pytest.raises(GherkinError, match=r"line 1, column 1: .*got 'Then user1 sees \"Inbox\"'"):
        compile_gherkin('Then user1 sees "Inbox"\nFeature: f\n  Scenario: s\n    Then user1 sees "Home"\n')


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("Given user0 opens the app", "users are numbered from 1"),
        ("When user1 waits -5 seconds", "a duration must be more than 0 seconds"),
        ('Then user1 sees "X" within 0 seconds', "a duration must be more than 0 seconds"),
    ],
)
def test_impossible_numbers_are_refused_with_the_reason(line: str, why: str) -> None:
    with pytest.raises(GherkinError, match=f"line 1: .*{why}") as caught:
        compile_gherkin(line)
    assert caught.value.unmatched == []  # a step matched: the model must not guess another meaning


def test_parse_errors_name_line_and_column() -> None:
    with pytest.raises(GherkinError, match=r"line 5, column 7: inconsistent cell count within the table"):
        compile_gherkin("Feature: f\n  Scenario: s\n    Given user1 opens the app\n      | a |\n      | b | c |\n")


def test_state_checks_scrolling_and_the_keyboard_compile_to_their_actions() -> None:
    plan = compile_gherkin(
        'Scenario: s\n  When user1 scrolls down to "Privacy"\n  And I hide the keyboard\n'
        '  Then the "Sounds" switch is off\n  And "Log in" is disabled within 3 seconds\n'
    )
    assert [(s.action, s.args) for s in plan.steps] == [
        ("scroll_to", {"target": "Privacy", "direction": "down"}),
        ("hide_keyboard", {}),
        ("assert_state", {"target": "Sounds", "state": "checked", "value": False}),
        ("assert_state", {"target": "Log in", "state": "enabled", "value": False, "timeout_s": 3.0}),
    ]


def test_every_unmatched_line_is_listed_with_the_nearest_phrasing() -> None:
    with pytest.raises(GherkinError) as caught:
        compile_gherkin('Scenario: s\n  Given user1 opens the app\n  When user1 tapz "Go"\n  Then user1 seees "Hi"\n')
    message = str(caught.value)
    assert "line 3: cannot compile step 'tapz \"Go\"' for user1; nearest known phrasing:" in message
    assert "line 4: cannot compile step 'seees \"Hi\"'" in message
    assert [u.line for u in caught.value.unmatched] == [3, 4]


def test_a_team_steps_file_adds_steps_naming_the_user(tmp_path: Path) -> None:
    steps = tmp_path / "steps.yaml"
    steps.write_text(
        "steps:\n"
        "  - expression: 'user{int} is logged in as {string}'\n"
        "    example: 'user1 is logged in as \"alice\"'\n"
        "    driver: $1\n"
        "    actions:\n"
        "      - {action: launch_app}\n"
        "      - {action: type_into, args: {target: Email, text: $2}}\n"
        "      - {action: tap_text, args: {target: Log in}}\n"
        "      - {action: assert_visible, args: {text: Home}}\n"
    )
    plan = compile_gherkin('Given user2 is logged in as "bob"\nThen he sees "Inbox"\n', steps_file=steps)
    assert [(s.driver, s.action) for s in plan.steps] == [
        (2, "launch_app"),
        (2, "type_into"),
        (2, "tap_text"),
        (2, "assert_visible"),
        (2, "assert_visible"),
    ]
    assert plan.steps[1].args == {"target": "Email", "text": "bob"}


def test_the_example_team_steps_file_compiles() -> None:
    team = Path(__file__).resolve().parents[2] / "examples" / "steps" / "team.yaml"
    plan = compile_gherkin('Given user2 is signed in as "bob@example.com" with password "pw"\n', steps_file=team)
    assert [(s.driver, s.action) for s in plan.steps][:3] == [(2, "launch_app"), (2, "type_into"), (2, "type_into")]
    assert plan.steps[2].args == {"target": "Password", "text": "pw"}


def test_a_broken_team_steps_file_is_a_clear_error(tmp_path: Path) -> None:
    steps = tmp_path / "steps.yaml"
    steps.write_text("steps:\n  - expression: 'taps {nothing}'\n    example: x\n    actions: [{action: tap_text}]\n")
    with pytest.raises(GherkinError, match=r"steps.yaml: step 'taps \{nothing\}'"):
        compile_gherkin('When user1 taps "A"', steps_file=steps)


def test_every_library_example_compiles_to_its_own_step() -> None:
    library = load_library()
    for definition in library.definitions:
        table = [[c.strip() for c in definition.table.strip("|").split("|")]] if definition.table else None
        _, phrase = Subjects(roles={}).split(normalise(definition.example))
        found = library.match(split_within(phrase)[0], table=table, doc=definition.doc)
        assert found is not None and found.definition is definition, definition.example
