"""Ticket file schema (one YAML file per Jira issue) and its loader/dumper."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from qa_agent.adf import adf_to_wiki, is_adf

ISSUE_KEY_RE = re.compile(r"^[A-Z][A-Z0-9_]+-\d+(?:-\d+)*$")
CUSTOM_FIELD_RE = re.compile(r"^customfield_\d+$")
JIRA_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f%z"


class TicketFileError(ValueError):
    """A ticket file could not be read or does not follow the schema."""


def format_jira_time(value: datetime) -> str:
    """Render a datetime like Jira Server does: ``2026-11-20T09:00:00.000+0000``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}" + value.strftime("%z")


def parse_jira_time(value: str) -> datetime:
    return datetime.strptime(value, JIRA_TIME_FORMAT)


def _jira_time(value: Any) -> str:
    if isinstance(value, datetime):
        return format_jira_time(value)
    if not isinstance(value, str):
        raise ValueError("expected a Jira timestamp string like '2026-11-20T09:00:00.000+0000'")
    try:
        parse_jira_time(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a Jira timestamp; expected the form '2026-11-20T09:00:00.000+0000'"
        ) from None
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Person(_Strict):
    display_name: str
    name: str
    email: str | None = None


class Comment(_Strict):
    id: str
    author: Person
    created: str
    body: str
    updated: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_string(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @field_validator("created", "updated", mode="before")
    @classmethod
    def _times(cls, value: Any) -> Any:
        return None if value is None else _jira_time(value)


class Attachment(_Strict):
    filename: str
    size: int = Field(ge=0)
    content_type: str
    created: str
    author: Person

    @field_validator("created", mode="before")
    @classmethod
    def _times(cls, value: Any) -> str:
        return _jira_time(value)


class CustomField(_Strict):
    name: str
    value: Any = None


class Ticket(_Strict):
    key: str
    summary: str
    description: str | dict[str, Any] = Field(default="", description="Wiki markup, or an ADF document (Cloud)")
    status: str = "To Do"
    issue_type: str = "Task"
    priority: str = "Medium"
    labels: list[str] = Field(default_factory=list)
    components: list[str] = Field(default_factory=list)
    reporter: Person
    assignee: Person | None = None
    created: str
    updated: str
    custom_fields: dict[str, CustomField] = Field(default_factory=dict)
    comments: list[Comment] = Field(default_factory=list)
    attachments: list[Attachment] = Field(default_factory=list)

    @field_validator("key")
    @classmethod
    def _key_pattern(cls, value: str) -> str:
        if not ISSUE_KEY_RE.match(value):
            raise ValueError(f"{value!r} is not a Jira issue key like 'PTT-1' (pattern {ISSUE_KEY_RE.pattern})")
        return value

    @field_validator("created", "updated", mode="before")
    @classmethod
    def _times(cls, value: Any) -> str:
        return _jira_time(value)

    @field_validator("description", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value

    @field_validator("description")
    @classmethod
    def _adf_document(cls, value: str | dict[str, Any]) -> str | dict[str, Any]:
        if isinstance(value, dict) and not is_adf(value):
            raise ValueError("a description must be text (wiki markup) or an ADF document {type: doc, content: [...]}")
        return value

    @field_validator("labels", "components", "comments", "attachments", mode="before")
    @classmethod
    def _none_is_empty_list(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("custom_fields")
    @classmethod
    def _custom_ids(cls, value: dict[str, CustomField]) -> dict[str, CustomField]:
        for field_id in value:
            if not CUSTOM_FIELD_RE.match(field_id):
                raise ValueError(f"custom field id {field_id!r} must look like 'customfield_11504'")
        return value

    @property
    def description_wiki(self) -> str:
        """The description as wiki markup (what Jira's v2 API serves, also for an ADF description)."""
        return adf_to_wiki(self.description) if isinstance(self.description, dict) else self.description

    @property
    def project_key(self) -> str:
        return self.key.split("-", 1)[0]

    @property
    def number(self) -> int:
        return int(self.key.split("-")[1])


def _line_of(root: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The line (1-based) of the deepest part of `loc` found in the YAML document."""
    node, line = root, None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if found is None:
                break
            line, node = found[0].start_mark.line + 1, found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _describe(error: ValidationError, text: str) -> str:
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = str(item["msg"]).removeprefix("Value error, ")
        line = _line_of(root, tuple(item["loc"]))
        lines.append(f"  {f'line {line}, ' if line else ''}{where}: {message}")
    return "\n".join(lines)


def load_ticket(path: Path) -> Ticket:
    """Read and validate one ticket file; errors name the file and the offending fields."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TicketFileError(f"Cannot read ticket file {path}: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if mark is None:
            raise TicketFileError(f"Ticket file {path} is not valid YAML: {exc}") from exc
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and start is not None:
            problem = f"{problem} ({context} that starts at line {start.line + 1})"
        raise TicketFileError(
            f"Ticket file {path} is not valid YAML: line {mark.line + 1}, column {mark.column + 1}: {problem}"
        ) from exc
    if not isinstance(data, dict):
        raise TicketFileError(f"Ticket file {path} must contain a YAML mapping (key, summary, ...)")
    try:
        return Ticket.model_validate(data)
    except ValidationError as exc:
        raise TicketFileError(f"Ticket file {path} does not follow the ticket schema:\n{_describe(exc, text)}") from exc


class _TicketDumper(yaml.SafeDumper):
    pass


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        # Literal blocks cannot carry trailing spaces on a line; fall back to quoting then.
        style = None if any(line != line.rstrip() for line in value.split("\n")) else "|"
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_TicketDumper.add_representer(str, _represent_str)


def dump_ticket(ticket: Ticket) -> str:
    """Serialise a ticket in the same layout as the hand-written example files."""
    data = ticket.model_dump(mode="json", exclude_none=True)
    return yaml.dump(data, Dumper=_TicketDumper, sort_keys=False, allow_unicode=True, width=100)
