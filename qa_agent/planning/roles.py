"""Who is who: the account each user of a ticket must be signed in as.

Test details may name them explicitly, one role per line: `user1: Alice`, `user2 = Bob`, or as
Gherkin `Given user1 is Alice` / `And user2 is signed in as Bob` (a single-word account at the
end of the line, so `Given user1 is on the home screen` stays a step). Names the steps use
("Alice is talking") are not guessed from: a ticket that needs a particular person says so.
"""

from __future__ import annotations

import re

_ROLE = re.compile(
    r"^\s*(?:(?:given|and|\*)\s+)?user(?P<n>\d{1,3})\s*(?::|=|\bis\s+(?:signed\s+in\s+as\s+|logged\s+in\s+as\s+)?)"
    r"\s*(?P<name>[A-Za-z][\w.@+-]{0,63})\s*$",
    re.IGNORECASE,
)


def parse_roles(text: str) -> dict[int, str]:
    """{driver: account} from the role lines of the test details."""
    roles: dict[int, str] = {}
    for line in text.splitlines():
        match = _ROLE.match(line)
        if match:
            roles[int(match.group("n"))] = match.group("name")
    return roles


def without_roles(text: str) -> str:
    """The test details with their role lines blanked (they are not steps); line numbers stay those
    of the ticket, so a problem is reported on the line its author sees."""
    return "\n".join("" if _ROLE.match(line) else line for line in text.splitlines())
