"""``python -m qa_agent.world.scripted_llm --script FILE ...``"""

from __future__ import annotations

import sys

from qa_agent.world.scripted_llm.cli import main

if __name__ == "__main__":
    sys.exit(main())
