"""Prompt texts live in prompts/<lang>/<name>.md; `$name` placeholders are filled by `load`."""

from __future__ import annotations

from pathlib import Path
from string import Template

_DIR = Path(__file__).resolve().parent
LANGUAGES = ("en", "fr")


def load(name: str, lang: str = "en", **values: object) -> str:
    lang = lang if lang in LANGUAGES else "en"
    path = _DIR / lang / f"{name}.md"
    if not path.is_file():
        path = _DIR / "en" / f"{name}.md"
    return Template(path.read_text(encoding="utf-8")).safe_substitute({k: str(v) for k, v in values.items()})
