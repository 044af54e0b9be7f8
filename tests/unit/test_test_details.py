"""Where the test steps come from in an issue as a Jira MCP server returns it (no sockets)."""

from __future__ import annotations

from typing import Any

from qa_agent.tickets import offline_summary, ticket_from_jira

GHERKIN = 'Given user1 opens the app\nThen user1 sees "Talk" within 5 seconds'


def _issue(**fields: Any) -> dict[str, Any]:
    return {"key": "QA-1", "summary": "s", "description": "", **fields}


def test_configured_field_by_id_or_name_wins() -> None:
    issue = _issue(
        customfield_10057={"value": "not these", "name": "Test Details"},
        customfield_10999={"value": GHERKIN, "name": "QA Scenario"},
    )
    for setting in ("customfield_10999", "qa scenario"):
        ticket = ticket_from_jira(issue, test_field=setting)
        assert (ticket.test_details, ticket.test_details_source) == (GHERKIN, "QA Scenario (customfield_10999)")
    assert ticket_from_jira(issue).test_details_source == "Test Details (customfield_10057)"


def test_names_from_the_fields_list_when_the_issue_has_none() -> None:
    issue = _issue(customfield_10301={"value": GHERKIN})
    assert ticket_from_jira(issue).test_details == ""
    ticket = ticket_from_jira(issue, field_names={"customfield_10301": "Cucumber Scenario"})
    assert ticket.test_details_source == "Cucumber Scenario (customfield_10301)"


def test_display_name_keys_options_lists_and_adf() -> None:
    adf = {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "Given user1 opens the app"}]},
            {"type": "paragraph", "content": [{"type": "text", "text": 'Then user1 sees "Talk" within 5 seconds'}]},
        ],
    }
    assert ticket_from_jira(_issue(**{"Test Steps": {"value": adf}})).test_details == GHERKIN
    listed = ticket_from_jira(
        _issue(customfield_1={"name": "Test Steps", "value": [{"value": line} for line in GHERKIN.split("\n")]})
    )
    assert listed.test_details == GHERKIN
    # An Xray "Cucumber Test Type" option is not where the steps are.
    ticket = ticket_from_jira(_issue(customfield_2={"name": "Cucumber Test Type", "value": {"value": "Scenario"}}))
    assert ticket.test_details == ""


def test_description_section_under_a_heading() -> None:
    for description in (
        f"## Context\nTwo phones.\n\n## Test steps\n```gherkin\n{GHERKIN}\n```\n\n## Notes\nnone",
        f"h2. Context\nTwo phones.\nh3. Steps:\n{{code}}\n{GHERKIN}\n{{code}}\nh2. Notes\nnone",
        f"Two phones.\n\n**Test scenario**\n{GHERKIN}",
        f"## Test steps\n```\n# the happy path\n{GHERKIN}\n```\n## Notes\nnone",
    ):
        ticket = ticket_from_jira(_issue(description=description))
        assert ticket.test_details.removeprefix("# the happy path\n") == GHERKIN, description
        summary = offline_summary(ticket)
        assert summary.is_gherkin and summary.test_details_source.startswith("description, section")


def test_no_steps_anywhere_says_description() -> None:
    summary = offline_summary(ticket_from_jira(_issue(description="Check the banner.")))
    assert (summary.test_details, summary.test_details_source) == ("Check the banner.", "description")


def test_a_configured_field_that_is_missing_is_said() -> None:
    ticket = ticket_from_jira(_issue(customfield_7={"name": "Test Details", "value": GHERKIN}), test_field="QA Steps")
    assert (
        ticket.test_details_source
        == "Test Details (customfield_7) (JIRA_TEST_DETAILS_FIELD 'QA Steps' is missing or empty)"
    )
