"""``python -m qa_agent.world.sim serve ...`` (same as ``qa-agent sim serve ...``)."""

from __future__ import annotations

import sys

from qa_agent.world.sim.cli import main

if __name__ == "__main__":
    sys.exit(main())
