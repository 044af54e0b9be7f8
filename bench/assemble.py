"""Write BENCHMARKS.md: bench/BENCHMARKS.template.md with each {{name}} replaced by bench/out/name.md
(the markdown block the benchmark script printed). No figure is typed in: every number in the
result comes from a script's output."""

from __future__ import annotations

import re
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# The blocks `make bench` produces, one per benchmark script (bench/<name>.py -> bench/out/<name>.md).
BLOCKS = ("executor_efficiency", "reference_vs_agent", "scale", "gherkin_corpus", "startup", "lab", "real_servers")


def main() -> int:
    template = (BENCH / "BENCHMARKS.template.md").read_text(encoding="utf-8")
    missing: list[str] = []
    unused = [name for name in BLOCKS if f"{{{{{name}}}}}" not in template]
    if unused:
        print(f"assemble: the template has no place for: {', '.join(unused)}", file=sys.stderr)
        return 1

    def block(match: re.Match[str]) -> str:
        path = BENCH / "out" / f"{match.group(1)}.md"
        if not path.is_file() or not path.read_text(encoding="utf-8").strip():
            missing.append(str(path))
            return match.group(0)
        return path.read_text(encoding="utf-8").strip()

    text = re.sub(r"\{\{(\w+)\}\}", block, template)
    if missing:
        print(f"assemble: missing benchmark output: {', '.join(missing)}", file=sys.stderr)
        return 1
    (ROOT / "BENCHMARKS.md").write_text(text, encoding="utf-8")
    print(f"wrote {ROOT / 'BENCHMARKS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
