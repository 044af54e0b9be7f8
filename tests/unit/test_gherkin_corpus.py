"""The phrasing corpus: every line compiles offline to the agreed actions, or is known to need the model."""

from __future__ import annotations

from typing import Any

import pytest

from tests.corpus import compile_line, entries

ENTRIES = entries()


def test_the_corpus_is_large_and_mostly_offline() -> None:
    assert len(ENTRIES) >= 200
    offline = [e for e in ENTRIES if isinstance(e["expect"], list)]
    assert len(offline) / len(ENTRIES) >= 0.9
    assert all(e.get("style") for e in ENTRIES)


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["line"][:60] for e in ENTRIES])
def test_each_line_compiles_to_the_agreed_actions(entry: dict[str, Any]) -> None:
    kind, steps = compile_line(entry)
    expected = entry["expect"]
    if isinstance(expected, list):
        assert (kind, steps) == ("offline", expected)
    else:
        assert kind == expected
