"""Reach the Jira MCP server configured for the run (or the embedded one) and fetch issues."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from mcp import ClientSession

from graph.context import Context
from qa_agent.devices.owned import OwnedResource, describe
from qa_agent.devices.results import to_tool_text
from qa_agent.devices.sessions import open_http_session, open_stdio_session
from qa_agent.tickets import parse_issue_text

CONNECT_TIMEOUT_S = 30.0


class JiraError(Exception):
    """A Jira problem the run reports as `blocked` with this message."""


def without_credentials(url: str) -> str:
    """The URL as messages and reports may show it: a `user:password@` part is masked."""
    parts = urlsplit(url)
    if not (parts.username or parts.password):
        return url
    host = parts.hostname or ""
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _scrub(text: str, ctx: Context) -> str:
    """Exception texts may quote the URL (with its credentials) or the token."""
    if ctx.jira_mcp_url:
        text = text.replace(ctx.jira_mcp_url, jira_location(ctx))
        password = urlsplit(ctx.jira_mcp_url).password
        if password:
            text = text.replace(password, "***")
    if ctx.jira_mcp_token is not None and ctx.jira_mcp_token.get_secret_value():
        text = text.replace(ctx.jira_mcp_token.get_secret_value(), "***")
    return text


def jira_location(ctx: Context) -> str:
    return without_credentials(ctx.jira_mcp_url) if ctx.jira_mcp_url else f"embedded Jira server over {ctx.tickets_dir}"


@asynccontextmanager
async def jira_session(ctx: Context) -> AsyncIterator[ClientSession]:
    """One MCP session for the duration of a node (opened and closed in the same task)."""
    if ctx.jira_mcp_url:
        headers = {}
        if ctx.jira_mcp_token is not None:
            headers["Authorization"] = f"Token {ctx.jira_mcp_token.get_secret_value()}"
        opener = open_http_session(ctx.jira_mcp_url, headers=headers)
    else:
        args = [
            "-m",
            "qa_agent.world.jira_server",
            "serve",
            "--transport",
            "stdio",
            "--tickets",
            str(ctx.tickets_dir),
        ]
        opener = open_stdio_session(sys.executable, args)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            session = await opener.__aenter__()
    except BaseException as exc:
        why = _scrub(describe(exc), ctx)
        raise JiraError(f"Jira MCP server unreachable ({jira_location(ctx)}): {why}") from None
    try:
        yield session
    finally:
        try:
            await opener.__aexit__(None, None, None)
        except BaseException:  # closing a broken transport must not hide the real outcome
            pass


_RUN_SESSIONS: dict[str, OwnedResource[ClientSession]] = {}


async def run_jira_session(run_id: str, ctx: Context) -> ClientSession:
    """A Jira session that lives for the whole run (the agent and tool nodes share it)."""
    owned = _RUN_SESSIONS.get(run_id)
    if owned is not None and not owned.alive:
        await owned.aclose()
        owned = None
    if owned is None:
        owned = _RUN_SESSIONS[run_id] = OwnedResource(lambda: jira_session(ctx), name="Jira MCP session")
    try:
        return await owned.open(CONNECT_TIMEOUT_S + 5)
    except (ConnectionError, TimeoutError) as exc:
        _RUN_SESSIONS.pop(run_id, None)
        if isinstance(exc.__cause__, JiraError):
            raise exc.__cause__ from None
        raise JiraError(f"Jira MCP server unreachable ({jira_location(ctx)}): {exc}") from None


async def close_run_jira(run_id: str) -> None:
    owned = _RUN_SESSIONS.pop(run_id, None)
    if owned is not None:
        await owned.aclose()


async def call_jira(session: ClientSession, tool: str, args: dict[str, Any], timeout_s: float = 60.0) -> str:
    try:
        result = await asyncio.wait_for(session.call_tool(tool, args), timeout_s)
    except TimeoutError:
        raise JiraError(f"Jira tool {tool} did not answer within {timeout_s:g}s") from None
    except Exception as exc:
        raise JiraError(f"Jira tool {tool} failed: {describe(exc)}") from None
    text = to_tool_text(result)
    if text.is_error:
        raise JiraError(text.text.strip())
    return text.text


async def fetch_issue(ctx: Context, key: str) -> str:
    text, _ = await fetch_issue_and_field_names(ctx, key)
    return text


async def fetch_issue_and_field_names(ctx: Context, key: str) -> tuple[str, dict[str, str]]:
    """The issue (every field, with their names: `expand=names`) and, when the server did not name
    its custom fields, their names from `jira_search_fields` (an empty map if it has no such tool)."""
    args = {"issue_key": key, "fields": "*all", "expand": "names", "comment_limit": 10}
    async with jira_session(ctx) as session:
        text = await call_jira(session, "jira_get_issue", args)
        if not _unnamed_custom_fields(text):
            return text, {}
        try:
            listing = await call_jira(session, "jira_search_fields", {"keyword": "", "limit": 1000})
        except JiraError:
            return text, {}
    return text, parse_field_list(listing)


def _unnamed_custom_fields(text: str) -> bool:
    try:
        payload = parse_issue_text(text)
    except ValueError:  # JSONDecodeError too
        return False
    return any(k.startswith("customfield_") and not (isinstance(v, dict) and v.get("name")) for k, v in payload.items())


def parse_field_list(listing: str) -> dict[str, str]:
    try:
        fields = json.loads(listing)
    except json.JSONDecodeError:
        return {}
    if isinstance(fields, dict):
        fields = fields.get("result", fields.get("fields", []))
    if not isinstance(fields, list):
        return {}
    return {
        str(f["id"]): str(f["name"])
        for f in fields
        if isinstance(f, dict) and isinstance(f.get("id"), str) and isinstance(f.get("name"), str)
    }
