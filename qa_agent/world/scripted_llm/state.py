"""Mutable server state: the rules and which were used, the request log, the shutdown signal."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from qa_agent.world.scripted_llm.protocol import RequestInfo, rule_matches
from qa_agent.world.scripted_llm.script import Rule, Script, as_rule

REDACTED_HEADERS = frozenset({"authorization", "proxy-authorization", "api-key", "x-api-key"})


class RecordedRequest(BaseModel):
    """One request as the server saw it (secrets redacted) and how it was answered."""

    number: int | None = None  # 1-based chat-completions request number, None for other endpoints
    method: str
    path: str
    headers: dict[str, str]
    body: Any = None
    time: float
    status: int
    kind: str | None = None
    schema_name: str | None = None
    last_role: str | None = None
    stream: bool = False
    prompt_chars: int = 0
    rule_index: int | None = None
    rule_name: str | None = None


def redact_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        if key in REDACTED_HEADERS:
            value = "Bearer ***" if value.lower().startswith("bearer ") else "***"
        out[key] = value
    return out


class ScriptState:
    """Rules in order; a non-repeat rule answers once. Thread-safe; delays end early on shutdown."""

    def __init__(self, script: Script) -> None:
        self.models = list(script.models)
        self._rules: list[Rule] = list(script.rules)
        self._uses: list[int] = [0] * len(self._rules)
        self._records: list[RecordedRequest] = []
        self._count = 0
        self._lock = threading.Lock()
        self._closing = asyncio.Event()

    # --- rules
    def add_rules(self, rules: Iterable[Rule | Mapping[str, Any]]) -> None:
        parsed = [as_rule(rule) for rule in rules]
        with self._lock:
            self._rules.extend(parsed)
            self._uses.extend([0] * len(parsed))

    @property
    def rules(self) -> list[Rule]:
        with self._lock:
            return list(self._rules)

    def unused_rules(self) -> list[Rule]:
        with self._lock:
            return [rule for rule, uses in zip(self._rules, self._uses, strict=True) if uses == 0]

    def claim(self, info: RequestInfo) -> tuple[int, int | None, Rule | None]:
        """Number the request and take the first available matching rule: (number, index, rule)."""
        with self._lock:
            self._count += 1
            for index, rule in enumerate(self._rules):
                if (rule.repeat or self._uses[index] == 0) and rule_matches(rule, info):
                    self._uses[index] += 1
                    return self._count, index, rule
            return self._count, None, None

    # --- records
    def record(self, entry: RecordedRequest) -> None:
        with self._lock:
            self._records.append(entry)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._records)

    @staticmethod
    def now() -> float:
        return time.time()

    # --- shutdown
    def reopen(self) -> None:
        self._closing = asyncio.Event()

    def close(self) -> None:
        self._closing.set()

    async def sleep(self, seconds: float) -> None:
        """Sleep, but return at once when the server shuts down (so no request holds it open)."""
        if seconds <= 0 or self._closing.is_set():
            return
        try:
            await asyncio.wait_for(self._closing.wait(), timeout=seconds)
        except TimeoutError:
            pass
