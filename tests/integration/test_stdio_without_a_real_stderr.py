"""A stdio server starts even when the agent's stderr is not a file (Jupyter, a test runner's
capture): the child needs a file descriptor for its stderr, and the MCP SDK's default is the
`sys.stderr` object of the moment it was imported."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

PROGRAM = """
import asyncio, io, sys
sys.stderr = io.StringIO()  # as in a notebook: no file descriptor behind it
from qa_agent.devices.sessions import open_stdio_session

async def main():
    args = ["-m", "qa_agent.world.jira_server", "serve", "--transport", "stdio"]
    async with open_stdio_session(sys.executable, args) as session:
        tools = await session.list_tools()
    print("tools:", sorted(t.name for t in tools.tools)[:1])

asyncio.run(main())
"""


def test_a_stdio_server_starts_when_stderr_has_no_file_descriptor() -> None:
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "tools: ['jira_" in done.stdout
