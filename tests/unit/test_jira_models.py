"""Ticket file schema, loading errors, dumping and the mtime-aware store."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from qa_agent.world.jira_server.models import TicketFileError, dump_ticket, load_ticket
from qa_agent.world.jira_server.process import DEFAULT_TICKETS_DIR
from qa_agent.world.jira_server.store import IssueNotFound, TicketStore


@pytest.fixture
def tickets_dir(tmp_path: Path) -> Path:
    target = tmp_path / "tickets"
    shutil.copytree(DEFAULT_TICKETS_DIR, target)
    return target


def test_all_example_tickets_load() -> None:
    loaded = TicketStore(DEFAULT_TICKETS_DIR).snapshot()
    assert [s.ticket.key for s in loaded] == ["CALL-1", "LOGIN-1", "PTT-1", "PTT-2", "PTT-3", "PTT-4"]
    assert [s.issue_id for s in loaded] == ["10000", "10001", "10002", "10003", "10004", "10005"]
    ptt1 = loaded[2].ticket
    assert ptt1.custom_fields["customfield_11504"].name == "Test Details"
    assert ptt1.attachments[0].filename == "banner-expected.png"


def test_dump_round_trips(tickets_dir: Path) -> None:
    for path in sorted(tickets_dir.glob("*.yaml")):
        ticket = load_ticket(path)
        path.write_text(dump_ticket(ticket), encoding="utf-8")
        assert load_ticket(path) == ticket


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda t: t.replace("key: PTT-1", "key: ptt-1"), "key: 'ptt-1' is not a Jira issue key"),
        (lambda t: t.replace('created: "2026-11-20T09:00:00.000+0000"', 'created: "20 Nov"'), "created:"),
        (lambda t: t.replace("summary:", "summry:"), "summry: Extra inputs are not permitted"),
        (lambda t: t.replace("reporter: {", "reporter: {bogus: 1, "), "reporter.bogus"),
        (lambda t: t.replace("customfield_11504:", "test_details:"), "must look like 'customfield_11504'"),
        (lambda t: t.replace("size: 48213", "size: -1"), "attachments.0.size"),
        (lambda t: t + "\n  - [unclosed\n", "is not valid YAML"),
        (lambda t: "- just a list\n", "must contain a YAML mapping"),
    ],
)
def test_validation_errors_name_the_file(tickets_dir: Path, mutate: Callable[[str], str], fragment: str) -> None:
    path = tickets_dir / "PTT-1.yaml"
    path.write_text(mutate(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(TicketFileError) as info:
        load_ticket(path)
    assert str(path) in str(info.value)
    assert fragment in str(info.value)


def test_store_rereads_changed_files(tickets_dir: Path) -> None:
    store = TicketStore(tickets_dir)
    assert not store.get("PTT-3").ticket.summary.startswith("EDITED")
    path = tickets_dir / "PTT-3.yaml"
    text = re.sub(r"(?m)^summary: .*$", 'summary: "EDITED: new summary"', path.read_text(encoding="utf-8"))
    path.write_text(text, encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert store.get("PTT-3").ticket.summary.startswith("EDITED")


def test_store_errors(tickets_dir: Path) -> None:
    store = TicketStore(tickets_dir)
    with pytest.raises(IssueNotFound, match=r"Issue NOPE-1 not found\. Verify the issue key and project access\."):
        store.get("NOPE-1")
    shutil.copy(tickets_dir / "PTT-1.yaml", tickets_dir / "copy.yaml")
    with pytest.raises(TicketFileError, match="Issue key PTT-1 is defined twice"):
        store.snapshot()
    with pytest.raises(TicketFileError, match="does not exist"):
        TicketStore(tickets_dir / "missing").snapshot()


async def test_concurrent_comments_in_process(tickets_dir: Path) -> None:
    import asyncio

    from qa_agent.world.jira_server.models import Person

    store = TicketStore(tickets_dir)
    author = Person(display_name="QA Agent", name="qa-agent")
    made = await asyncio.gather(*(store.add_comment("PTT-2", f"c{i}", author) for i in range(10)))
    assert len({c.id for c in made}) == 10
    reloaded = load_ticket(tickets_dir / "PTT-2.yaml")
    assert sorted(c.body for c in reloaded.comments) == sorted(f"c{i}" for i in range(10))
    assert not [p for p in os.listdir(tickets_dir) if p.startswith(".")]  # no temp files left
