"""Jira wiki markup <-> Markdown conversion used by the embedded Jira server."""

from __future__ import annotations

import pytest

from qa_agent.world.jira_server.wiki import markdown_to_wiki, wiki_to_markdown

# The exact pair observed with the real mcp-atlassian 0.23.1 (research notes, section 1.5).
UPSTREAM_WIKI = (
    "h2. Steps\n# Open the app\n# Tap *Login*\n# Enter {{user@example.com}}\n\n"
    "h2. Expected\nHome screen is shown. See [docs|https://example.com]"
)
UPSTREAM_MARKDOWN = (
    "## Steps\n1. Open the app\n1. Tap **Login**\n1. Enter `user@example.com`\n\n"
    "## Expected\nHome screen is shown. See [docs](https://example.com)"
)


def test_matches_upstream_observed_conversion() -> None:
    assert wiki_to_markdown(UPSTREAM_WIKI) == UPSTREAM_MARKDOWN


@pytest.mark.parametrize(
    ("wiki", "markdown"),
    [
        ("h1. Title", "# Title"),
        ("h3. Sub *bold*", "### Sub **bold**"),
        ("* one\n** two", "- one\n   - two"),
        ("# a\n## b", "1. a\n   1. b"),
        ("_it_ and -gone-", "*it* and ~~gone~~"),
        ("{{a*b*c}}", "`a*b*c`"),
        ("[https://x.org]", "<https://x.org>"),
        ("see [~jdoe]", "see @jdoe"),
        ("bq. quoted", "> quoted"),
        ("!shot.png|thumbnail!", "![](shot.png)"),
        ("{code:java}\nint *x* = 1;\n{code}", "```java\nint *x* = 1;\n```"),
        ("{noformat}raw *x*{noformat}", "```\nraw *x*\n```"),
        ("||h1||h2||\n|a|b|", "| h1 | h2 |\n| --- | --- |\n| a | b |"),
        ("{color:red}red{color}", "red"),
        ("----", "---"),
    ],
)
def test_wiki_to_markdown(wiki: str, markdown: str) -> None:
    assert wiki_to_markdown(wiki) == markdown


@pytest.mark.parametrize(
    "plain",
    [
        "a well-known thing - really",
        "2*3*4 = 24",
        "Seen on build 41 by a field tester; please automate.",
        "Remonté par un client terrain : l'autre téléphone",
    ],
)
def test_plain_text_is_left_alone(plain: str) -> None:
    assert wiki_to_markdown(plain) == plain
    assert markdown_to_wiki(plain) == plain


@pytest.mark.parametrize(
    ("markdown", "wiki"),
    [
        ("## Result", "h2. Result"),
        ("**PASS** on *Pixel*", "*PASS* on _Pixel_"),
        ("- a\n  - b", "* a\n** b"),
        ("1. a\n2. b", "# a\n# b"),
        ("`adb shell`", "{{adb shell}}"),
        ("[log](https://x/y)", "[log|https://x/y]"),
        ("![shot](s.png)", "!s.png!"),
        ("~~old~~", "-old-"),
        ("> note", "bq. note"),
        ("```kotlin\nval x = 1\n```", "{code:kotlin}\nval x = 1\n{code}"),
    ],
)
def test_markdown_to_wiki(markdown: str, wiki: str) -> None:
    assert markdown_to_wiki(markdown) == wiki


def test_agent_comment_round_trips() -> None:
    body = "## Verdict: PASS\n\n**Devices**: pixel8, galaxy\n\n1. step `open` ok\n2. step [log](https://x)"
    assert wiki_to_markdown(markdown_to_wiki(body)) == body.replace("2. step", "1. step")


def test_markdown_table_becomes_a_wiki_table_as_mcp_atlassian_stores_it() -> None:
    markdown = "Result:\n\n| step | detail |\n|---|:---:|\n| S1 | **ok** `x` |\n| S2 |  |\n\nafter | not a row"
    assert markdown_to_wiki(markdown) == "Result:\n\n||step||detail||\n|S1|*ok* {{x}}|\n|S2||\n\nafter | not a row"


def test_intraword_underscores_are_escaped_as_upstream_does() -> None:
    assert wiki_to_markdown("snake_case_name stays") == "snake_case_name stays"
    assert markdown_to_wiki("from customfield_10201, `a_b`, _it_") == "from customfield\\_10201, {{a_b}}, _it_"
