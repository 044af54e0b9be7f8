"""Who acts in a step line, and the line's wording normalised for the step library.

Cucumber Expressions have no notion of an actor, and writing every step for `user1`, `I`, `the
user`, `he`, role names and plural subjects would multiply the library; so the subject is read
here, by hand, and the expressions only see what the subject does. The same goes for wording
that does not change the action (modal verbs, contractions, curly quotes, `within N seconds`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBERED = r"(?:user|driver|device|phone)\s*\d+"
_PRONOUN = r"(?:the user|i|he|she|they|we|l'utilisateur|je|il|elle)"
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")
_CURLY = str.maketrans({"“": '"', "”": '"', "«": '"', "»": '"', "‘": "'", "’": "'", "\u00a0": " "})
_SINGLE_QUOTED = re.compile(r"(?<!\w)'([^'\"]*)'(?!\w)")
_CONTRACTIONS = [
    (re.compile(r"\b(?:doesn't|don't|do not|won't|shouldn't|mustn't|can't|cannot|can not)\b", re.I), "does not"),
    (re.compile(r"\b(?:isn't|aren't)\b", re.I), "is not"),
    (re.compile(r"\b(?:should|must|shall|will|can|may) not\b", re.I), "does not"),
    (re.compile(r"\b(?:should|must|shall|will|can)(?: be able to)? ", re.I), ""),
    (re.compile(r"\bdoes not be\b", re.I), "is not"),
    (re.compile(r"(?<!\bto )\b(?:be|am|are)\b", re.I), "is"),
    (re.compile(r"\s+on (?:the |his |her |their )?(?:screen|display)$", re.I), ""),
]
_WITHIN = re.compile(
    r"\s+(?:within|in less than|in under|in|after at most|before|en moins de|sous)\s+"
    r"(?P<s>\d+(?:\.\d+)?)\s*(?:s|sec|secs|seconds?|secondes?)$"
)
_ROLE = re.compile(
    r"^(?:user|driver|device|phone)\s*(?P<n>\d+)\s+(?:is|est|plays|joue)\s+(?:called\s+|named\s+|played by\s+|the\s+)?"
    r"(?:\"(?P<q>[^\"]+)\"|(?P<name>[A-Z][\w-]*))$"
)
_WHILE_FIRST = re.compile(r"^(?:while|during|as long as|pendant que)\s+(?P<held>.+?),\s*(?P<rest>.+)$", re.I)
_WHILE_LAST = re.compile(r"^(?P<rest>.+?),?\s+(?:while|during|as long as|pendant que)\s+(?P<held>.+)$", re.I)


def mask_quotes(text: str) -> str:
    """The text with every quoted part replaced by `_` of the same length (to search outside quotes)."""
    return _QUOTED.sub(lambda m: '"' + "_" * (len(m.group()) - 2) + '"', text)


def normalise(text: str) -> str:
    """Same action, one wording: straight quotes, no modal verbs or contractions, no final period.

    Only the text outside quotes changes; quoted text is what the app shows and stays as written."""
    text = _SINGLE_QUOTED.sub(r'"\1"', text.translate(_CURLY).strip()).rstrip(".:;! ")
    parts = re.split(r"(\"[^\"]*\")", text)
    for i in range(0, len(parts), 2):
        segment = " ".join(parts[i].split())
        segment = (
            (" " if parts[i][:1].isspace() and i else "")
            + segment
            + (" " if parts[i][-1:].isspace() and i + 1 < len(parts) else "")
        )
        segment = segment if i else segment[:1].lower() + segment[1:]
        for pattern, replacement in _CONTRACTIONS:
            segment = pattern.sub(replacement, segment)
        parts[i] = segment
    out = "".join(parts)
    return re.sub(r"^it\s+", "", out).strip()


def split_within(phrase: str) -> tuple[str, float | None]:
    """`sees "X" within 5 seconds` -> (`sees "X"`, 5.0)."""
    m = _WITHIN.search(mask_quotes(phrase))
    if not m:
        return phrase, None
    return phrase[: m.start()], float(m.group("s"))


def split_while(phrase: str) -> tuple[str, str] | None:
    """(held clause, concurrent clause) of `while A, B` / `B while A`, or None."""
    masked = mask_quotes(phrase)
    for pattern in (_WHILE_FIRST, _WHILE_LAST):
        m = pattern.match(masked)
        if m:
            return phrase[m.start("held") : m.end("held")].strip(), phrase[m.start("rest") : m.end("rest")].strip()
    return None


def split_and(phrase: str) -> list[str]:
    """`types "a" into "B" and taps "C"` -> its parts (quoted text is never split)."""
    masked = mask_quotes(phrase)
    cuts = [m.span() for m in re.finditer(r",?\s+(?:and|then|et|puis)\s+|,\s+", masked)]
    parts, start = [], 0
    for a, b in cuts:
        parts.append(phrase[start:a].strip())
        start = b
    parts.append(phrase[start:].strip())
    return [p for p in parts if p]


def role_of(text: str) -> tuple[int, str] | None:
    """`user1 is Alice` -> (1, "Alice")."""
    m = _ROLE.match(" ".join(text.translate(_CURLY).split()).rstrip(". "))
    if not m:
        return None
    return int(m.group("n")), m.group("q") or m.group("name")


@dataclass
class Subjects:
    """The scenario's people: numbered users, roles by name, and who "the user" currently is."""

    roles: dict[int, str]
    current: int = 1

    def split(self, phrase: str) -> tuple[list[int] | None, str]:
        """(drivers named at the start of the phrase or None, the rest)."""
        names = "|".join(re.escape(r) for r in sorted(self.roles.values(), key=len, reverse=True))
        one = rf"(?:{_NUMBERED}|{_PRONOUN}" + (rf"|{names}" if names else "") + ")"
        pattern = re.compile(rf"^(?P<all>{one}(?:\s*(?:,|and|et)\s*{one})*)(?:'s)?\s+(?P<rest>.+)$", re.I)
        m = pattern.match(phrase)
        if not m or phrase[:1] in "\"'":
            return None, phrase
        drivers: list[int] = []
        by_name = {name.lower(): n for n, name in self.roles.items()}
        for part in re.split(r"\s*(?:,|\band\b|\bet\b)\s*", m.group("all"), flags=re.I):
            number = re.search(r"\d+", part)
            if number and re.match(_NUMBERED, part, re.I):
                drivers.append(int(number.group()))
            elif part.lower() in by_name:
                drivers.append(by_name[part.lower()])
            else:
                drivers.append(self.current)
        if len(drivers) == 1:
            self.current = drivers[0]
        return list(dict.fromkeys(drivers)), m.group("rest")
