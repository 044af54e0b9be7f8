"""Role lines name the account each user must be; steps that merely start like one are not roles."""

import re

import pytest

from qa_agent.planning.roles import RoleError, parse_roles, without_roles

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


def test_doc_strings_and_checks_are_not_roles() -> None:
    details = "\n".join(
        [
            "Scenario: s",
            "  Given user1 is Alice",
            '  When user1 types into "Message":',
            '    """',
            "    user2: Bob",
            '    """',
            '  Then user2 sees "Hi"',
            "  And user2 is offline",
        ]
    )
    assert parse_roles(details) == {1: "Alice"}
    rest = without_roles(details)
    assert "    user2: Bob" in rest and "And user2 is offline" in rest


@pytest.mark.parametrize(
    ("details", "message"),
    [
        ("user1: Alice\nuser1: Bob\n", "user1 is both Alice (line 1) and Bob (line 2)"),
        ("user1: Alice\nuser2: alice\n", "user1 and user2 are both alice (line 2)"),
    ],
)
def test_conflicting_roles_are_refused(details: str, message: str) -> None:
    with pytest.raises(RoleError, match=re.escape(message)):
        parse_roles(details)
