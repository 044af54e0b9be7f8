"""A small JQL implementation: tokenizer, recursive-descent parser and evaluator.

Grammar (keywords are case-insensitive)::

    query    := [or_expr] [ORDER BY sort ("," sort)*] EOF
    or_expr  := and_expr (OR and_expr)*
    and_expr := not_expr (AND not_expr)*
    not_expr := NOT not_expr | "(" or_expr ")" | clause
    clause   := field ( ("=" | "!=" | "~" | "!~" | ">" | ">=" | "<" | "<=") value
                      | [NOT] IN "(" value ("," value)* ")"
                      | IS [NOT] (EMPTY | NULL) )
    value    := word | "quoted string" | 'quoted string' | function "(" ")"
    sort     := field [ASC | DESC]

Positions in error messages are 1-based character offsets into the query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from qa_agent.world.jira_server.models import Ticket, parse_jira_time


class JQLError(ValueError):
    """The query is malformed or refers to something that does not exist."""

    def __init__(self, message: str) -> None:
        super().__init__(f"Error in the JQL Query: {message}")


# --------------------------------------------------------------------------- tokenizer


class Tok(Enum):
    WORD = "word"
    STRING = "string"
    OP = "operator"
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    EOF = "end of query"


@dataclass(frozen=True)
class Token:
    kind: Tok
    text: str
    pos: int  # 1-based

    def describe(self) -> str:
        if self.kind is Tok.EOF:
            return "the end of the query"
        if self.kind is Tok.STRING:
            return f"'\"{self.text}\"'"
        return f"'{self.text}'"

    def is_keyword(self, *words: str) -> bool:
        return self.kind is Tok.WORD and self.text.upper() in words


_OPERATORS = ("!=", "!~", ">=", "<=", "=", "~", ">", "<")
_WORD_STOP = set(" \t\r\n()=!~<>,\"'")


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    n = len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "(),":
            kind = {"(": Tok.LPAREN, ")": Tok.RPAREN, ",": Tok.COMMA}[ch]
            tokens.append(Token(kind, ch, i + 1))
            i += 1
            continue
        if ch in "\"'":
            start = i
            i += 1
            chars: list[str] = []
            while i < n and query[i] != ch:
                if query[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(query[i])
                i += 1
            if i >= n:
                raise JQLError(f"Unterminated quoted string starting at position {start + 1}.")
            tokens.append(Token(Tok.STRING, "".join(chars), start + 1))
            i += 1
            continue
        op = next((o for o in _OPERATORS if query.startswith(o, i)), None)
        if op is not None:
            tokens.append(Token(Tok.OP, op, i + 1))
            i += len(op)
            continue
        if ch == "!":
            raise JQLError(f"Unexpected character '!' at position {i + 1}.")
        start = i
        while i < n and query[i] not in _WORD_STOP:
            i += 1
        tokens.append(Token(Tok.WORD, query[start:i], start + 1))
    tokens.append(Token(Tok.EOF, "", n + 1))
    return tokens


# --------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class Value:
    text: str
    pos: int
    function: bool = False


@dataclass(frozen=True)
class Clause:
    field: str  # canonical field id
    label: str  # as written, for messages
    op: str  # "=", "!=", "~", "!~", ">", ">=", "<", "<=", "in", "not in", "is", "is not"
    values: tuple[Value, ...]


@dataclass(frozen=True)
class And:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    part: Node


Node = Clause | And | Or | Not


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool


@dataclass(frozen=True)
class Query:
    where: Node | None
    order_by: tuple[SortKey, ...] = field(default=())


# --------------------------------------------------------------------------- field catalogue

_EQ = {"=", "!=", "in", "not in"}
_IS = {"is", "is not"}
_TEXT = {"~", "!~"}
_CMP = {">", ">=", "<", "<="}

# canonical id -> supported operators
_FIELDS: dict[str, set[str]] = {
    "project": _EQ | _IS,
    "key": _EQ | _CMP,
    "labels": _EQ | _IS,
    "status": _EQ | _IS,
    "issuetype": _EQ | _IS,
    "priority": _EQ | _IS | _CMP,
    "component": _EQ | _IS,
    "assignee": _EQ | _IS,
    "reporter": _EQ | _IS,
    "text": _TEXT,
    "summary": _TEXT | _IS,
    "description": _TEXT | _IS,
    "comment": _TEXT | _IS,
    "created": _CMP | {"=", "!="} | _IS,
    "updated": _CMP | {"=", "!="} | _IS,
}
_ALIASES = {
    "issuekey": "key",
    "id": "key",
    "type": "issuetype",
    "label": "labels",
    "components": "component",
    "createddate": "created",
    "updateddate": "updated",
}
_CUSTOM_OPS = _TEXT | _IS | {"=", "!="}
_SORTABLE = {"key", "created", "updated", "priority", "summary", "status", "issuetype", "project"}
PRIORITY_RANK = {"highest": 5, "high": 4, "medium": 3, "low": 2, "lowest": 1}
_FUNCTIONS = {"currentuser", "now", "startofday", "endofday"}


@dataclass
class Catalog:
    """What exists in the ticket set, used to resolve names and reject unknown values."""

    custom_fields: dict[str, str]  # customfield id -> display name
    projects: set[str]
    keys: set[str]
    statuses: set[str]
    issue_types: set[str]
    priorities: set[str]
    current_user: str = "qa-agent"

    def resolve_field(self, name: str, *, quoted: bool) -> str | None:
        low = name.lower()
        if not quoted:
            if low in _FIELDS:
                return low
            if low in _ALIASES:
                return _ALIASES[low]
            m = re.fullmatch(r"cf\[(\d+)\]", low)
            if m and f"customfield_{m.group(1)}" in self.custom_fields:
                return f"customfield_{m.group(1)}"
            if low in self.custom_fields:
                return low
        for field_id, display in self.custom_fields.items():
            if display.lower() == low:
                return field_id
        return None


# --------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, query: str, catalog: Catalog) -> None:
        self.tokens = tokenize(query)
        self.i = 0
        self.catalog = catalog

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind is not Tok.EOF:
            self.i += 1
        return tok

    def fail(self, expecting: str, tok: Token | None = None) -> JQLError:
        tok = tok or self.tok
        where = f"at position {tok.pos}" if tok.kind is not Tok.EOF else f"(position {tok.pos})"
        return JQLError(f"Expecting {expecting} but got {tok.describe()} {where}.")

    def parse(self) -> Query:
        where: Node | None = None
        if self.tok.kind is not Tok.EOF and not self.tok.is_keyword("ORDER"):
            where = self.or_expr()
        order: tuple[SortKey, ...] = ()
        if self.tok.is_keyword("ORDER"):
            self.advance()
            if not self.tok.is_keyword("BY"):
                raise self.fail("'BY'")
            self.advance()
            order = self.order_by()
        if self.tok.kind is not Tok.EOF:
            expecting = "'AND', 'OR' or 'ORDER BY'" if not order else "',' or the end of the query"
            raise self.fail(expecting)
        return Query(where, order)

    def or_expr(self) -> Node:
        parts = [self.and_expr()]
        while self.tok.is_keyword("OR"):
            self.advance()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_expr(self) -> Node:
        parts = [self.not_expr()]
        while self.tok.is_keyword("AND"):
            self.advance()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def not_expr(self) -> Node:
        if self.tok.is_keyword("NOT"):
            self.advance()
            return Not(self.not_expr())
        if self.tok.kind is Tok.LPAREN:
            self.advance()
            inner = self.or_expr()
            if self.tok.kind is not Tok.RPAREN:
                raise self.fail("')'")
            self.advance()
            return inner
        return self.clause()

    def field_name(self) -> tuple[str, str]:
        tok = self.tok
        reserved = tok.is_keyword("AND", "OR", "NOT", "IN", "IS", "ORDER", "BY", "EMPTY", "NULL")
        if tok.kind not in (Tok.WORD, Tok.STRING) or reserved:
            raise self.fail("a field name")
        self.advance()
        field_id = self.catalog.resolve_field(tok.text, quoted=tok.kind is Tok.STRING)
        if field_id is None:
            raise JQLError(
                f"Field '{tok.text}' does not exist or you do not have permission to view it (position {tok.pos})."
            )
        return field_id, tok.text

    def clause(self) -> Clause:
        field_id, label = self.field_name()
        tok = self.tok
        if tok.kind is Tok.OP:
            self.advance()
            op = tok.text
            values: tuple[Value, ...] = (self.value(),)
        elif tok.is_keyword("IN"):
            self.advance()
            op, values = "in", self.value_list()
        elif tok.is_keyword("NOT"):
            self.advance()
            if not self.tok.is_keyword("IN"):
                raise self.fail("'IN'")
            self.advance()
            op, values = "not in", self.value_list()
        elif tok.is_keyword("IS"):
            self.advance()
            op = "is"
            if self.tok.is_keyword("NOT"):
                self.advance()
                op = "is not"
            if not self.tok.is_keyword("EMPTY", "NULL"):
                raise self.fail("'EMPTY' or 'NULL'")
            self.advance()
            values = ()
        else:
            raise self.fail("an operator (=, !=, ~, !~, >, >=, <, <=, IN, NOT IN, IS, IS NOT)")
        allowed = _FIELDS.get(field_id, _CUSTOM_OPS)
        if op not in allowed:
            raise JQLError(
                f"The operator '{op.upper()}' is not supported by the '{label}' field "
                f"(position {tok.pos}). Supported: {', '.join(sorted(o.upper() for o in allowed))}."
            )
        clause = Clause(field_id, label, op, values)
        self.check_values(clause)
        return clause

    def value(self) -> Value:
        tok = self.tok
        if tok.kind is Tok.STRING:
            self.advance()
            return Value(tok.text, tok.pos)
        reserved = tok.is_keyword("AND", "OR", "NOT", "IN", "IS", "ORDER")
        if tok.kind is not Tok.WORD or reserved:
            raise self.fail("either a value, list or function")
        self.advance()
        if self.tok.kind is Tok.LPAREN:
            if tok.text.lower() not in _FUNCTIONS:
                raise JQLError(f"Unable to find JQL function '{tok.text}()' (position {tok.pos}).")
            self.advance()
            if self.tok.kind is not Tok.RPAREN:
                raise self.fail("')'")
            self.advance()
            return Value(tok.text.lower(), tok.pos, function=True)
        return Value(tok.text, tok.pos)

    def value_list(self) -> tuple[Value, ...]:
        if self.tok.kind is not Tok.LPAREN:
            raise self.fail("'(' to start a list of values")
        self.advance()
        values = [self.value()]
        while self.tok.kind is Tok.COMMA:
            self.advance()
            values.append(self.value())
        if self.tok.kind is not Tok.RPAREN:
            raise self.fail("',' or ')'")
        self.advance()
        return tuple(values)

    def check_values(self, clause: Clause) -> None:
        known: dict[str, set[str]] = {
            "project": self.catalog.projects,
            "key": self.catalog.keys,
            "status": self.catalog.statuses,
            "issuetype": self.catalog.issue_types,
            "priority": self.catalog.priorities,
        }
        if clause.field not in known or clause.op in _CMP:
            return
        lowered = {v.lower() for v in known[clause.field]}
        for value in clause.values:
            if not value.function and value.text.lower() not in lowered:
                if clause.field == "key":
                    raise JQLError(
                        f"An issue with key '{value.text}' does not exist for field '{clause.label}' "
                        f"(position {value.pos})."
                    )
                raise JQLError(
                    f"The value '{value.text}' does not exist for the field '{clause.label}' "
                    f"(position {value.pos}). Known values: {', '.join(sorted(known[clause.field]))}."
                )

    def order_by(self) -> tuple[SortKey, ...]:
        keys: list[SortKey] = []
        while True:
            tok = self.tok
            field_id, label = self.field_name()
            if field_id not in _SORTABLE:
                raise JQLError(
                    f"Not able to sort using field '{label}' (position {tok.pos}). "
                    f"Sortable fields: {', '.join(sorted(_SORTABLE))}."
                )
            descending = False
            if self.tok.is_keyword("ASC", "DESC"):
                descending = self.advance().text.upper() == "DESC"
            keys.append(SortKey(field_id, descending))
            if self.tok.kind is not Tok.COMMA:
                return tuple(keys)
            self.advance()


def parse(query: str, catalog: Catalog) -> Query:
    parser = _Parser(query, catalog)
    result = parser.parse()
    _validate_dates(result.where)
    return result


def _validate_dates(node: Node | None) -> None:
    if isinstance(node, Clause):
        if node.field in ("created", "updated"):
            for value in node.values:
                _parse_date_value(value)
    elif isinstance(node, And | Or):
        for part in node.parts:
            _validate_dates(part)
    elif isinstance(node, Not):
        _validate_dates(node.part)


# --------------------------------------------------------------------------- evaluation

_RELATIVE = re.compile(r"^([+-]?)(\d+)([wdhm])$", re.IGNORECASE)
_DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")


def _parse_date_value(value: Value, now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    if value.function:
        if value.text == "startofday":
            return now.replace(hour=0, minute=0, second=0, microsecond=0)
        if value.text == "endofday":
            return now.replace(hour=23, minute=59, second=59, microsecond=999999)
        return now
    rel = _RELATIVE.match(value.text.strip())
    if rel:
        unit = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}[rel.group(3).lower()]
        delta = timedelta(**{unit: int(rel.group(2))})
        return now - delta if rel.group(1) == "-" else now + delta
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value.text.strip(), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise JQLError(
        f"Date value '{value.text}' is invalid (position {value.pos}). Valid formats include "
        "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd', or a period such as '-7d', '-4w', '-2h'."
    )


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def text_matches(haystack: str, needle: str) -> bool:
    """Jira-like '~': every word of the needle occurs (case-insensitively) in the haystack."""
    words = _words(needle.replace("*", " ").replace("?", " "))
    low = haystack.lower()
    return bool(words) and all(word in low for word in words)


def _custom_text(ticket: Ticket, field_id: str) -> str | None:
    custom = ticket.custom_fields.get(field_id)
    if custom is None or custom.value is None:
        return None
    value = custom.value
    if isinstance(value, list):
        return "\n".join(str(item) for item in value)
    return str(value)


def _values(ticket: Ticket, field_id: str, catalog: Catalog) -> list[str]:
    if field_id == "project":
        return [ticket.project_key]
    if field_id == "key":
        return [ticket.key]
    if field_id == "labels":
        return list(ticket.labels)
    if field_id == "component":
        return list(ticket.components)
    if field_id == "status":
        return [ticket.status]
    if field_id == "issuetype":
        return [ticket.issue_type]
    if field_id == "priority":
        return [ticket.priority]
    if field_id in ("assignee", "reporter"):
        person = ticket.assignee if field_id == "assignee" else ticket.reporter
        if person is None:
            return []
        return [v for v in (person.name, person.display_name, person.email) if v]
    if field_id == "summary":
        return [ticket.summary] if ticket.summary else []
    if field_id == "description":
        return [ticket.description_wiki] if ticket.description_wiki.strip() else []
    if field_id == "comment":
        return [c.body for c in ticket.comments]
    if field_id in ("created", "updated"):
        return [getattr(ticket, field_id)]
    if field_id == "text":
        texts = [ticket.summary, ticket.description_wiki, *(c.body for c in ticket.comments)]
        texts += [t for t in (_custom_text(ticket, f) for f in ticket.custom_fields) if t]
        return texts
    text = _custom_text(ticket, field_id)
    return [text] if text else []


def _compare(left: Any, op: str, right: Any) -> bool:
    if op == ">":
        return bool(left > right)
    if op == ">=":
        return bool(left >= right)
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == "=":
        return bool(left == right)
    return bool(left != right)


def _key_order(key: str) -> tuple[str, int]:
    project, _, number = key.partition("-")
    return project, int(number.split("-")[0]) if number.split("-")[0].isdigit() else 0


def _eval_clause(clause: Clause, ticket: Ticket, catalog: Catalog) -> bool:
    present = _values(ticket, clause.field, catalog)
    if clause.op == "is":
        return not present
    if clause.op == "is not":
        return bool(present)
    if clause.op in _TEXT:
        hit = any(text_matches(text, clause.values[0].text) for text in present)
        return hit if clause.op == "~" else not hit
    if clause.field in ("created", "updated"):
        stamp = parse_jira_time(present[0])
        target = _parse_date_value(clause.values[0])
        if clause.op in ("=", "!=") and not clause.values[0].function and ":" not in clause.values[0].text:
            same_day = stamp.astimezone(UTC).date() == target.date()
            return same_day if clause.op == "=" else not same_day
        return _compare(stamp, clause.op, target)
    if clause.op in _CMP:
        if clause.field == "priority":
            rank = PRIORITY_RANK.get(present[0].lower(), 0) if present else 0
            return _compare(rank, clause.op, PRIORITY_RANK.get(clause.values[0].text.lower(), 0))
        if clause.field == "key":
            return _compare(_key_order(ticket.key), clause.op, _key_order(clause.values[0].text.upper()))
    wanted = set()
    for value in clause.values:
        if value.function and value.text == "currentuser":
            wanted.add(catalog.current_user.lower())
        else:
            wanted.add(value.text.lower())
    hit = any(v.lower() in wanted for v in present)
    if clause.op in ("=", "in"):
        return hit
    # Like Jira, negative operators do not match issues where the field is empty.
    return bool(present) and not hit


def matches(node: Node | None, ticket: Ticket, catalog: Catalog) -> bool:
    if node is None:
        return True
    if isinstance(node, Clause):
        return _eval_clause(node, ticket, catalog)
    if isinstance(node, And):
        return all(matches(part, ticket, catalog) for part in node.parts)
    if isinstance(node, Or):
        return any(matches(part, ticket, catalog) for part in node.parts)
    return not matches(node.part, ticket, catalog)


def _sort_value(ticket: Ticket, field_id: str) -> Any:
    if field_id == "key":
        return _key_order(ticket.key)
    if field_id in ("created", "updated"):
        return parse_jira_time(getattr(ticket, field_id))
    if field_id == "priority":
        return PRIORITY_RANK.get(ticket.priority.lower(), 0)
    if field_id == "summary":
        return ticket.summary.lower()
    if field_id == "status":
        return ticket.status.lower()
    if field_id == "issuetype":
        return ticket.issue_type.lower()
    return ticket.project_key


def order(tickets: Iterable[Ticket], keys: Sequence[SortKey]) -> list[Ticket]:
    """Stable multi-key sort; the issue key (ascending) is the final tie-breaker."""
    result = sorted(tickets, key=lambda t: _key_order(t.key))
    for sort_key in reversed(keys):
        field_id = sort_key.field
        result.sort(key=lambda t: _sort_value(t, field_id), reverse=sort_key.descending)
    return result


def search(query: str, tickets: Sequence[Ticket], catalog: Catalog) -> list[Ticket]:
    parsed = parse(query, catalog)
    hits = [t for t in tickets if matches(parsed.where, t, catalog)]
    return order(hits, parsed.order_by)
