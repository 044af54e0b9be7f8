"""Share of the Gherkin phrasing corpus (tests/data/gherkin_corpus.yaml) the step library compiles
offline, and the share that needs the model; prints a markdown block (`make bench`).

    .venv/bin/python bench/gherkin_corpus.py [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.corpus import compile_line, entries  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()
    lines = entries()
    kinds: Counter[str] = Counter()
    agreed = 0
    by_style: dict[str, Counter[str]] = {}
    for entry in lines:
        kind, steps = compile_line(entry)
        kinds[kind] += 1
        by_style.setdefault(entry["style"], Counter())[kind] += 1
        expected = entry["expect"]
        agreed += (kind, steps) == ("offline", expected) if isinstance(expected, list) else kind == expected
    total = len(lines)
    figures = {
        "lines": total,
        "offline": kinds["offline"],
        "llm": kinds["llm"],
        "unsupported": kinds["unsupported"],
        "errors": kinds["error"],
        "agreed": agreed,
    }
    print(f"Gherkin phrasing corpus: {total} step lines in {len(by_style)} styles\n")
    print("| | lines | share |\n|---|---:|---:|")
    for label, key in (
        ("compiled offline by the step library", "offline"),
        ("need the model (no step matches)", "llm"),
        ("known phrasing, action not supported yet", "unsupported"),
    ):
        print(f"| {label} | {figures[key]} | {figures[key] / total:.1%} |")
    print(f"\n{agreed} of {total} lines compile to the agreed actions.\n")
    print("| style | offline | model | not supported |\n|---|---:|---:|---:|")
    for style, counts in by_style.items():
        print(f"| {style} | {counts['offline']} | {counts['llm']} | {counts['unsupported']} |")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0 if agreed == total else 1


if __name__ == "__main__":
    sys.exit(main())
