"""Who is who: the account each user of a ticket must be signed in as.

Test details may name them explicitly, one role per line: `user1: Alice`, `user2 = Bob`, or as
Gherkin `Given user1 is Alice` / `And user2 is signed in as Bob` (a single-word account at the
end of the line, so `Given user1 is on the home screen` stays a step). Names the steps use
("Alice is talking") are not guessed from: a ticket that needs a particular person says so.
"""

from __future__ import annotations

import re

_ROLE = re.compile(
    r"^\s*(?:(?P<kw>given|and|but|\*)\s+)?user(?P<n>\d{1,3})\s*(?::|=|\bis\s+(?:signed\s+in\s+as\s+|logged\s+in\s+as\s+)?)"
    r"\s*(?P<name>[A-Za-z][\w.@+-]{0,63})\s*$",
    re.IGNORECASE,
)
_KEYWORD = re.compile(r"^\s*(?P<kw>given|when|then)\b", re.IGNORECASE)


class RoleError(ValueError):
    """The test details give one user two accounts, or two users one account."""


def _role_lines(text: str) -> list[tuple[int, re.Match[str]]]:
    """(line index, match) of the lines that name a role: never inside a doc string, and a Gherkin
    `And userN is X` only in a Given block (after `Then`, `And user2 is offline` is a check)."""
    found: list[tuple[int, re.Match[str]]] = []
    in_doc = False
    block = ""
    for index, line in enumerate(text.splitlines()):
        if line.strip().startswith(('"""', "```")):
            in_doc = not in_doc
            continue
        if in_doc:
            continue
        keyword = _KEYWORD.match(line)
        if keyword:
            block = keyword.group("kw").lower()
        match = _ROLE.match(line)
        if match is None:
            continue
        kw = (match.group("kw") or "").lower()
        if kw in ("and", "but", "*") and block not in ("", "given"):
            continue
        found.append((index, match))
    return found


def parse_roles(text: str) -> dict[int, str]:
    """{driver: account} from the role lines of the test details. Raises RoleError on a conflict."""
    roles: dict[int, str] = {}
    where: dict[int, int] = {}
    for index, match in _role_lines(text):
        n, name = int(match.group("n")), match.group("name")
        if roles.get(n, name).casefold() != name.casefold():
            raise RoleError(
                f"user{n} is both {roles[n]} (line {where[n] + 1}) and {name} (line {index + 1}): "
                "a ticket gives each user one account"
            )
        other = next((m for m, a in roles.items() if m != n and a.casefold() == name.casefold()), None)
        if other is not None:
            raise RoleError(
                f"user{other} and user{n} are both {name} (line {index + 1}): one device cannot be two users"
            )
        roles[n], where[n] = name, index
    return roles


def without_roles(text: str) -> str:
    """The test details with their role lines blanked (they are not steps); line numbers stay those
    of the ticket, so a problem is reported on the line its author sees."""
    lines = text.splitlines()
    for index, _ in _role_lines(text):
        lines[index] = ""
    return "\n".join(lines)
