"""Role lines name the account each user must be; steps that merely start like one are not roles."""

import pytest

from qa_agent.planning.roles import parse_roles, without_roles

DETAILS = """@package:com.example.ptt
user1: Alice
user2 = Bob
Feature: x
  Background:
    Given user3 is Carol
    And user4 is signed in as Dave
  Scenario: y
    Given user1 is on the home screen
    When user1 opens the app
"""


def test_role_lines_are_parsed_and_removed_from_the_steps() -> None:
    assert parse_roles(DETAILS) == {1: "Alice", 2: "Bob", 3: "Carol", 4: "Dave"}
    rest = without_roles(DETAILS)
    assert "Alice" not in rest and "Dave" not in rest
    assert "Given user1 is on the home screen" in rest and "When user1 opens the app" in rest


def test_role_lines_are_blanked_so_problems_keep_the_tickets_line_numbers() -> None:
    from qa_agent.planning.gherkin import GherkinError, compile_gherkin
    from qa_agent.planning.roles import without_roles

    text = (
        'user1: Alice\nuser2: Bob\nFeature: f\n  Scenario: s\n    Given user1 opens the app\n    Thne user1 sees "X"\n'
    )
    with pytest.raises(GherkinError, match="line 6: not a step"):
        compile_gherkin(without_roles(text))
