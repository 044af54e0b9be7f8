"""Jira wiki markup <-> Markdown conversion (the subset that tickets and agent comments use).

``wiki_to_markdown`` is applied to descriptions and comment bodies returned by
``jira_get_issue`` (as mcp-atlassian does on Jira Server/DC); ``markdown_to_wiki`` turns
the Markdown an agent posts with ``jira_add_comment`` into the wiki markup stored in the
ticket file, the way the real server converts before ``POST .../comment``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_PLACEHOLDER = "\x00{}\x00"
_PLACEHOLDER_RE = re.compile("\x00(\\d+)\x00")

# Inline wiki markup. Markers must hug their text (no inner space next to the marker) and
# must not sit inside a word, so "2*3*4" or "well-known-word" are left alone.
_WIKI_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])")
_WIKI_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])")
_WIKI_STRIKE = re.compile(r"(?<![\w-])-(?=[^\s-])([^-\n]*?[^\s-])-(?![\w-])")
_WIKI_MONO = re.compile(r"\{\{(.+?)\}\}")
_WIKI_LINK = re.compile(r"\[([^\[\]|\n]+)\|([^\[\]\n]+)\]")
_WIKI_BARE_LINK = re.compile(r"\[((?:https?|mailto|file):[^\[\]|\s]+)\]")
_WIKI_MENTION = re.compile(r"\[~([^\[\]\n]+)\]")
_WIKI_IMAGE = re.compile(r"!([^!\s|]+\.(?:png|jpe?g|gif|svg|webp|bmp))(?:\|[^!\n]*)?!", re.IGNORECASE)
_WIKI_COLOR = re.compile(r"\{color(?::[^}]*)?\}")

_WIKI_HEADING = re.compile(r"^h([1-6])\.\s*(.*)$")
_WIKI_LIST = re.compile(r"^([*#-]+)\s+(.*)$")
_WIKI_QUOTE = re.compile(r"^bq\.\s*(.*)$")
_WIKI_CODE_OPEN = re.compile(r"^\{(code|noformat)(?::([^}]*))?\}(.*)$")

_MD_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_MD_ITALIC = re.compile(r"(?<![\w*])([*_])(?=\S)([^*_\n]+?)(?<=\S)\1(?![\w*])")
_MD_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_MD_CODE = re.compile(r"`([^`\n]+)`")
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
_MD_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
_MD_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_MD_INTRAWORD_UNDERSCORE = re.compile(r"(?<=[^\W_])_+(?=[^\W_])")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_MD_BULLET = re.compile(r"^(\s*)[-*+]\s+(.*)$")
_MD_NUMBERED = re.compile(r"^(\s*)\d+[.)]\s+(.*)$")
_MD_QUOTE = re.compile(r"^>\s?(.*)$")
_MD_FENCE = re.compile(r"^\s*```\s*([\w+-]*)\s*$")


class _Stash:
    """Keeps already-converted fragments (code spans, links) away from later rules."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def put(self, text: str) -> str:
        self.items.append(text)
        return _PLACEHOLDER.format(len(self.items) - 1)

    def sub(self, pattern: re.Pattern[str], make: Callable[[re.Match[str]], str], text: str) -> str:
        return pattern.sub(lambda m: self.put(make(m)), text)

    def restore(self, text: str) -> str:
        while _PLACEHOLDER_RE.search(text):
            text = _PLACEHOLDER_RE.sub(lambda m: self.items[int(m.group(1))], text)
        return text


def _wiki_inline(text: str) -> str:
    stash = _Stash()
    text = stash.sub(_WIKI_MONO, lambda m: f"`{m.group(1)}`", text)
    text = stash.sub(_WIKI_MENTION, lambda m: f"@{m.group(1)}", text)
    text = stash.sub(_WIKI_LINK, lambda m: f"[{m.group(1)}]({m.group(2).strip()})", text)
    text = stash.sub(_WIKI_BARE_LINK, lambda m: f"<{m.group(1)}>", text)
    text = stash.sub(_WIKI_IMAGE, lambda m: f"![]({m.group(1)})", text)
    text = _WIKI_COLOR.sub("", text)
    text = stash.sub(_WIKI_BOLD, lambda m: f"**{m.group(1)}**", text)
    text = stash.sub(_WIKI_ITALIC, lambda m: f"*{m.group(1)}*", text)
    text = stash.sub(_WIKI_STRIKE, lambda m: f"~~{m.group(1)}~~", text)
    return stash.restore(text)


def _wiki_table_row(line: str) -> list[str]:
    header = line.startswith("||")
    cells = [cell.strip() for cell in re.split(r"\|\|?", line.strip().strip("|"))]
    out = ["| " + " | ".join(_wiki_inline(cell) for cell in cells) + " |"]
    if header:
        out.append("|" + "|".join(" --- " for _ in cells) + "|")
    return out


def wiki_to_markdown(text: str) -> str:
    """Convert Jira wiki markup to Markdown."""
    out: list[str] = []
    in_code: str | None = None
    in_quote = False
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.rstrip()
        if in_code is not None:
            if line.strip() == "{" + in_code + "}":
                out.append("```")
                in_code = None
            elif line.rstrip().endswith("{" + in_code + "}"):
                out.append(line[: line.rindex("{" + in_code + "}")])
                out.append("```")
                in_code = None
            else:
                out.append(raw)
            continue
        code = _WIKI_CODE_OPEN.match(line.strip())
        if code:
            kind, lang, rest = code.group(1), (code.group(2) or "").split("|")[0], code.group(3)
            out.append("```" + ("" if kind == "noformat" else lang.strip()))
            closing = "{" + kind + "}"
            if rest.endswith(closing):
                out.extend([rest[: -len(closing)], "```"])
            else:
                if rest:
                    out.append(rest)
                in_code = kind
            continue
        if line.strip() == "{quote}":
            in_quote = not in_quote
            continue
        prefix = "> " if in_quote else ""
        heading = _WIKI_HEADING.match(line)
        listing = _WIKI_LIST.match(line)
        quote = _WIKI_QUOTE.match(line)
        if heading:
            out.append(prefix + "#" * int(heading.group(1)) + " " + _wiki_inline(heading.group(2)))
        elif quote:
            out.append("> " + _wiki_inline(quote.group(1)))
        elif line.strip() == "----":
            out.append(prefix + "---")
        elif listing and not (set(listing.group(1)) == {"-"} and len(listing.group(1)) > 1):
            markers = listing.group(1)
            indent = "   " * (len(markers) - 1)
            bullet = "1." if markers[-1] == "#" else "-"
            out.append(prefix + indent + bullet + " " + _wiki_inline(listing.group(2)))
        elif line.startswith("|"):
            out.extend(prefix + row for row in _wiki_table_row(line))
        else:
            out.append(prefix + _wiki_inline(line) if line else (">" if in_quote else ""))
    if in_code is not None:
        out.append("```")
    return "\n".join(out).strip("\n")


def _md_inline(text: str) -> str:
    stash = _Stash()
    text = stash.sub(_MD_CODE, lambda m: "{{" + m.group(1) + "}}", text)
    text = stash.sub(_MD_IMAGE, lambda m: f"!{m.group(1)}!", text)
    text = stash.sub(_MD_LINK, lambda m: f"[{m.group(1)}|{m.group(2)}]", text)
    text = stash.sub(_MD_AUTOLINK, lambda m: f"[{m.group(1)}]", text)
    # As upstream: an underscore inside a word (customfield_10201) is escaped, or Jira would italicise.
    text = _MD_INTRAWORD_UNDERSCORE.sub(lambda m: "\\_" * len(m.group(0)), text)
    text = stash.sub(_MD_BOLD, lambda m: f"*{m.group(2)}*", text)
    text = stash.sub(_MD_ITALIC, lambda m: f"_{m.group(2)}_", text)
    text = stash.sub(_MD_STRIKE, lambda m: f"-{m.group(1)}-", text)
    return stash.restore(text)


def _list_depth(indent: str) -> int:
    return 1 + len(indent.replace("\t", "    ")) // 2


_MD_TABLE_ROW = re.compile(r"^\|.*\|$")
_MD_TABLE_RULE = re.compile(r"^\|[-\s|:]+\|$")


def _md_table_cells(line: str) -> str:
    # As mcp-atlassian splits them: on every "|", cells stripped.
    return "|".join(_md_inline(cell.strip()) for cell in line.split("|")[1:-1])


def markdown_to_wiki(text: str) -> str:
    """Convert Markdown (as an agent writes it) to Jira wiki markup."""
    out: list[str] = []
    in_code = False
    in_table = False
    lines = text.replace("\r\n", "\n").split("\n")
    for index, raw in enumerate(lines):
        if not in_code and _MD_TABLE_ROW.match(raw):
            following = lines[index + 1] if index + 1 < len(lines) else ""
            if not in_table and _MD_TABLE_RULE.match(following):
                out.append("||" + _md_table_cells(raw).replace("|", "||") + "||")  # the header row
                in_table = True
                continue
            if in_table and _MD_TABLE_RULE.match(raw) and out[-1].startswith("||"):
                continue  # the |---|---| line under the header
            if in_table:
                out.append("|" + _md_table_cells(raw) + "|")
                continue
        in_table = False
        fence = _MD_FENCE.match(raw)
        if fence:
            if in_code:
                out.append("{code}")
            else:
                out.append("{code:" + fence.group(1) + "}" if fence.group(1) else "{code}")
            in_code = not in_code
            continue
        if in_code:
            out.append(raw)
            continue
        line = raw.rstrip()
        heading = _MD_HEADING.match(line)
        bullet = _MD_BULLET.match(line)
        numbered = _MD_NUMBERED.match(line)
        quote = _MD_QUOTE.match(line)
        if heading:
            out.append(f"h{len(heading.group(1))}. " + _md_inline(heading.group(2)))
        elif re.fullmatch(r"\s*([-*_])(\s*\1){2,}\s*", line):
            out.append("----")
        elif bullet:
            out.append("*" * _list_depth(bullet.group(1)) + " " + _md_inline(bullet.group(2)))
        elif numbered:
            out.append("#" * _list_depth(numbered.group(1)) + " " + _md_inline(numbered.group(2)))
        elif quote:
            out.append("bq. " + _md_inline(quote.group(1)))
        else:
            out.append(_md_inline(line))
    if in_code:
        out.append("{code}")
    return "\n".join(out).strip("\n")
