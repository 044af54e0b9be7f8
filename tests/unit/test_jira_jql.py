"""JQL subset: tokenizer, parser errors and evaluation against the example tickets."""

from __future__ import annotations

import pytest

from qa_agent.world.jira_server import jql
from qa_agent.world.jira_server.models import Ticket
from qa_agent.world.jira_server.process import DEFAULT_TICKETS_DIR
from qa_agent.world.jira_server.store import TicketStore


@pytest.fixture(scope="module")
def tickets() -> list[Ticket]:
    return [s.ticket for s in TicketStore(DEFAULT_TICKETS_DIR).snapshot()]


@pytest.fixture(scope="module")
def catalog(tickets: list[Ticket]) -> jql.Catalog:
    custom = {fid: f.name for t in tickets for fid, f in t.custom_fields.items()}
    return jql.Catalog(
        custom_fields=custom,
        projects={t.project_key for t in tickets},
        keys={t.key for t in tickets},
        statuses={"To Do", "In Progress", "Done"},
        issue_types={"Test", "Bug", "Task"},
        priorities={"Highest", "High", "Medium", "Low", "Lowest"},
    )


def keys(query: str, tickets: list[Ticket], catalog: jql.Catalog) -> list[str]:
    return [t.key for t in jql.search(query, tickets, catalog)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["CALL-1", "LOGIN-1", "PTT-1", "PTT-2", "PTT-3", "PTT-4"]),
        ("project = PTT", ["PTT-1", "PTT-2", "PTT-3", "PTT-4"]),
        ("PROJECT = ptt", ["PTT-1", "PTT-2", "PTT-3", "PTT-4"]),
        ("project in (CALL, LOGIN)", ["CALL-1", "LOGIN-1"]),
        ("project not in (PTT)", ["CALL-1", "LOGIN-1"]),
        ("key = PTT-2", ["PTT-2"]),
        ("issuekey in (PTT-1, CALL-1)", ["CALL-1", "PTT-1"]),
        ("labels = multi-device", ["CALL-1", "PTT-1", "PTT-2"]),
        ("labels in (smoke, terrain)", ["LOGIN-1", "PTT-4"]),
        ("labels != ptt", ["CALL-1", "LOGIN-1"]),
        ('status = "In Progress"', ["LOGIN-1"]),
        ("status = 'to do' AND project = CALL", ["CALL-1"]),
        ('status in ("In Progress", Done)', ["LOGIN-1"]),
        ("issuetype = Bug", ["PTT-4"]),
        ("type != Test", ["PTT-4"]),
        ("priority = High", ["CALL-1", "PTT-1", "PTT-4"]),
        ("priority >= High", ["CALL-1", "PTT-1", "PTT-2", "PTT-4"]),
        ("component = Accounts", ["LOGIN-1"]),
        ("component = android AND project = LOGIN", ["LOGIN-1"]),
        ('text ~ "talker banner"', ["PTT-1", "PTT-2"]),
        ('text ~ "Reproduit"', ["PTT-4"]),
        ('text ~ "field tester"', ["PTT-1"]),
        ('summary ~ "push-to-talk"', ["PTT-1", "PTT-2", "PTT-3"]),
        ('description ~ "com.example.login"', ["LOGIN-1"]),
        ('comment ~ "automate"', ["PTT-1"]),
        ('cf[11504] ~ "Scenario Outline"', []),
        ('"Test Details" ~ "@package"', ["CALL-1", "PTT-1", "PTT-2"]),
        ("customfield_11504 ~ Prérequis", ["PTT-4"]),
        ("project = PTT AND NOT labels = multi-device", ["PTT-3", "PTT-4"]),
        ("project = PTT AND (priority = Low OR issuetype = Bug)", ["PTT-3", "PTT-4"]),
        ("labels = call OR labels = login and priority = medium", ["CALL-1", "LOGIN-1"]),
        ("NOT (project = PTT OR project = CALL)", ["LOGIN-1"]),
        ("assignee is EMPTY AND project = CALL", ["CALL-1"]),
        ("reporter = jmoreau", ["PTT-4"]),
        ('reporter = "QA Bot" AND project = CALL', ["CALL-1"]),
        ("created >= 2026-11-23", ["PTT-3", "PTT-4"]),
        ('updated < "2026/11/19 10:00"', ["LOGIN-1"]),
        ("created = 2026-11-20", ["PTT-1"]),
        ("created > -36500d", ["CALL-1", "LOGIN-1", "PTT-1", "PTT-2", "PTT-3", "PTT-4"]),
        ("project = PTT ORDER BY key DESC", ["PTT-4", "PTT-3", "PTT-2", "PTT-1"]),
        ("project = PTT ORDER BY priority DESC", ["PTT-2", "PTT-1", "PTT-4", "PTT-3"]),
        ("project = PTT ORDER BY priority DESC, key DESC", ["PTT-2", "PTT-4", "PTT-1", "PTT-3"]),
        ("ORDER BY created DESC", ["PTT-4", "PTT-3", "PTT-2", "PTT-1", "CALL-1", "LOGIN-1"]),
        ("ORDER BY updated", ["LOGIN-1", "CALL-1", "PTT-1", "PTT-2", "PTT-3", "PTT-4"]),
    ],
)
def test_queries(query: str, expected: list[str], tickets: list[Ticket], catalog: jql.Catalog) -> None:
    assert keys(query, tickets, catalog) == expected


@pytest.mark.parametrize("direction", ["asc", "DESC"])
def test_order_by_summary(direction: str, tickets: list[Ticket], catalog: jql.Catalog) -> None:
    expected = [t.key for t in sorted(tickets, key=lambda t: t.summary.lower(), reverse=direction == "DESC")]
    assert keys(f"order by summary {direction}", tickets, catalog) == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("project = PTT AND )", "Expecting a field name but got ')' at position 19."),
        ("(project = PTT", "Expecting ')' but got the end of the query (position 15)."),
        (
            "project PTT",
            "Expecting an operator (=, !=, ~, !~, >, >=, <, <=, IN, NOT IN, IS, IS NOT) but got 'PTT'",
        ),
        ("project = ", "Expecting either a value, list or function but got the end of the query"),
        ("project in PTT", "Expecting '(' to start a list of values but got 'PTT' at position 12."),
        ("project in (PTT CALL)", "Expecting ',' or ')' but got 'CALL' at position 17."),
        ("project = PTT labels = x", "Expecting 'AND', 'OR' or 'ORDER BY' but got 'labels' at position 15."),
        ('summary ~ "open', "Unterminated quoted string starting at position 11."),
        ("foo = bar", "Field 'foo' does not exist or you do not have permission to view it (position 1)."),
        ("project ~ PTT", "The operator '~' is not supported by the 'project' field (position 9)."),
        ("text = x", "The operator '=' is not supported by the 'text' field"),
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project' (position 11)."),
        ("status = Blocked", "The value 'Blocked' does not exist for the field 'status'"),
        ("key = PTT-99", "An issue with key 'PTT-99' does not exist for field 'key' (position 7)."),
        ("ORDER BY labels", "Not able to sort using field 'labels' (position 10)."),
        ("project = PTT ORDER created", "Expecting 'BY' but got 'created' at position 21."),
        ("created > yesterday", "Date value 'yesterday' is invalid (position 11)."),
        ("assignee = foo()", "Unable to find JQL function 'foo()' (position 12)."),
        ("project = PTT AND", "Expecting a field name but got the end of the query (position 18)."),
        ("labels = a !! b", "Unexpected character '!' at position 12."),
    ],
)
def test_errors_name_position_and_token(query: str, message: str, catalog: jql.Catalog) -> None:
    with pytest.raises(jql.JQLError) as info:
        jql.parse(query, catalog)
    assert str(info.value).startswith("Error in the JQL Query: ")
    assert message in str(info.value)


def test_tokenizer_positions_are_one_based() -> None:
    tokens = jql.tokenize('status != "To Do"')
    assert [(t.kind, t.text, t.pos) for t in tokens] == [
        (jql.Tok.WORD, "status", 1),
        (jql.Tok.OP, "!=", 8),
        (jql.Tok.STRING, "To Do", 11),
        (jql.Tok.EOF, "", 18),
    ]


def test_parse_tree_precedence(catalog: jql.Catalog) -> None:
    tree = jql.parse("a ~ x OR labels = y AND NOT status = Done", _with_field(catalog, "a")).where
    assert isinstance(tree, jql.Or)
    assert isinstance(tree.parts[1], jql.And)
    assert isinstance(tree.parts[1].parts[1], jql.Not)


def _with_field(catalog: jql.Catalog, name: str) -> jql.Catalog:
    return jql.Catalog(
        custom_fields={**catalog.custom_fields, "customfield_1": name},
        projects=catalog.projects,
        keys=catalog.keys,
        statuses=catalog.statuses,
        issue_types=catalog.issue_types,
        priorities=catalog.priorities,
    )
