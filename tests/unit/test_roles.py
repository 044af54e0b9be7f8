"""Role lines name the account each user must be; steps that merely start like one are not roles."""

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
