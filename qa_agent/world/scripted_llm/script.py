"""The script: an ordered list of rules, each a matcher plus a scripted answer."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

Kind = Literal["structured", "tools", "chat"]

DEFAULT_MODELS: tuple[str, ...] = ("gpt-4o-mini",)


class ToolCallSpec(BaseModel):
    """One assistant tool call; ``arguments`` is JSON-encoded unless it already is a (raw) string."""

    model_config = ConfigDict(extra="forbid")

    name: str
    arguments: dict[str, Any] | str = Field(default_factory=dict)

    def arguments_text(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, ensure_ascii=False)


class UsageOverride(BaseModel):
    """Token counts to report instead of the computed ones; missing fields stay computed."""

    model_config = ConfigDict(extra="forbid")

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


class Rule(BaseModel):
    """A matcher (all set fields must fit) and the answer to send when it does."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    # --- matchers (ANDed, all optional)
    kind: Kind | None = None
    schema_name: str | None = None
    contains: str | list[str] | None = None
    last_role: str | None = None
    repeat: bool = False
    # --- response
    content: JsonValue = None
    tool_calls: list[ToolCallSpec] | None = None
    raw_content: str | None = None
    status: int = 200
    error: str | None = None
    delay_s: float = Field(default=0.0, ge=0.0)
    usage: UsageOverride | None = None
    finish_reason: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Rule:
        if self.content is not None and self.raw_content is not None:
            raise ValueError("a rule takes either 'content' or 'raw_content', not both")
        if self.error is not None and self.status < 400:
            self.status = 500
        if not 100 <= self.status <= 599:
            raise ValueError(f"status {self.status} is not an HTTP status")
        return self

    @property
    def is_error(self) -> bool:
        return self.status >= 400

    def label(self, index: int) -> str:
        return self.name or f"rule[{index}]"


class Script(BaseModel):
    """What the server answers: ``rules`` in order, and the names ``GET /v1/models`` lists."""

    model_config = ConfigDict(extra="forbid")

    rules: list[Rule] = Field(default_factory=list)
    models: list[str] = Field(default_factory=lambda: list(DEFAULT_MODELS))

    @classmethod
    def load(cls, path: str | Path) -> Script:
        """Read a JSON or YAML file: either ``{rules: [...], models: [...]}`` or a bare list of rules."""
        file = Path(path)
        text = file.read_text(encoding="utf-8")
        data: Any = json.loads(text) if file.suffix.lower() == ".json" else yaml.safe_load(text)
        return cls.from_data(data)

    @classmethod
    def from_data(cls, data: Any) -> Script:
        if data is None:
            return cls()
        if isinstance(data, list):
            return cls(rules=[Rule.model_validate(item) for item in data])
        return cls.model_validate(data)

    @classmethod
    def of(cls, rules: Sequence[Rule | Mapping[str, Any]]) -> Script:
        return cls(rules=[as_rule(rule) for rule in rules])


def as_rule(rule: Rule | Mapping[str, Any]) -> Rule:
    return rule if isinstance(rule, Rule) else Rule.model_validate(dict(rule))
