"""Embedded, file-backed Jira MCP server compatible with mcp-atlassian 0.23.1.

Public entry points live in :mod:`qa_agent.world.jira_server.process` (``jira_server_process``,
``stdio_server_params``, ``DEFAULT_TICKETS_DIR``) and :mod:`qa_agent.world.jira_server.cli`
(``qa-agent jira serve``). See README.md in this folder.
"""
