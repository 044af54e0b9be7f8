"""A small Jira Server REST stand-in over the YAML tickets (for running the real mcp-atlassian offline)."""
