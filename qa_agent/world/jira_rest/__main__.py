"""``python -m qa_agent.world.jira_rest --tickets DIR [--host 127.0.0.1] [--port 0]``."""

from __future__ import annotations

import sys

from qa_agent.world.jira_rest.cli import main

if __name__ == "__main__":
    sys.exit(main())
