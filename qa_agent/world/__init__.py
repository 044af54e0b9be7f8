"""The embedded world the agent runs against when nothing real is configured.

- `sim`: the multi-device Android simulator (mobile-mcp's tool surface, app models, fake adb).
- `jira_server`: the embedded Jira MCP server (mcp-atlassian's tool surface).
- `jira_rest`: a Jira REST stand-in (Cloud or Data Center) for the real mcp-atlassian.
- `scripted_llm`: an OpenAI-compatible HTTP server that answers from a script.
- `realservers`: installers and launchers for the published mobile-mcp and mcp-atlassian.

Nothing in here is the agent itself; the agent reaches all of it only through the same
environment variables and transports a real deployment uses.
"""
