"""Installers and launchers for the real published MCP servers (mobile-mcp, mcp-atlassian).

See ``qa_agent/world/realservers/README.md``.
"""

from qa_agent.world.realservers.install import (
    MCP_ATLASSIAN_VERSION,
    MOBILE_MCP_VERSION,
    InstallError,
    cache_dir,
    ensure_installed,
)

__all__ = ["MCP_ATLASSIAN_VERSION", "MOBILE_MCP_VERSION", "InstallError", "cache_dir", "ensure_installed"]
