"""A real OpenAI chat-completions HTTP server that replays scripted responses (tests, benchmarks).

Build a :class:`Script` of :class:`Rule` objects (or load one from JSON/YAML), then::

    async with ScriptedLLMServer(script, api_key="test-key") as server:
        llm = ChatOpenAI(base_url=server.base_url, api_key="test-key", model="gpt-4o-mini")

or run it as a process: ``python -m qa_agent.world.scripted_llm --script rules.yaml --port 0``.
"""

from __future__ import annotations

from qa_agent.world.scripted_llm.app import build_app
from qa_agent.world.scripted_llm.cli import READY_PREFIX
from qa_agent.world.scripted_llm.protocol import RequestInfo, count_tokens, inspect_request, prompt_chars
from qa_agent.world.scripted_llm.script import Kind, Rule, Script, ToolCallSpec, UsageOverride
from qa_agent.world.scripted_llm.server import NotLoopbackError, ScriptedLLMServer
from qa_agent.world.scripted_llm.state import RecordedRequest, ScriptState

__all__ = [
    "READY_PREFIX",
    "Kind",
    "NotLoopbackError",
    "RecordedRequest",
    "RequestInfo",
    "Rule",
    "Script",
    "ScriptState",
    "ScriptedLLMServer",
    "ToolCallSpec",
    "UsageOverride",
    "build_app",
    "count_tokens",
    "inspect_request",
    "prompt_chars",
]
