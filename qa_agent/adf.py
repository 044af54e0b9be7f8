"""Atlassian Document Format (Jira Cloud's rich text): to plain text, to and from wiki markup, validation.

The agent reads ADF values as text (`adf_to_text`: headings keep a Markdown `#` so a "Test steps"
section can still be found). The REST stand-in serves Cloud's v3 bodies as ADF (`wiki_to_adf`),
stores posted ADF comments as wiki markup (`adf_to_wiki`) and refuses ADF that Jira Cloud would not
render (`adf_errors`).
"""

from __future__ import annotations

import re
from typing import Any

BLOCKS = {
    "paragraph", "heading", "bulletList", "orderedList", "codeBlock", "blockquote", "rule", "table",
    "panel", "mediaSingle", "mediaGroup", "expand", "nestedExpand", "taskList", "decisionList",
}  # fmt: skip
INLINES = {"text", "hardBreak", "mention", "emoji", "inlineCard", "date", "status", "placeholder", "mediaInline"}
INNER = {"listItem", "tableRow", "tableHeader", "tableCell", "media", "taskItem", "decisionItem"}
MARKS = {"strong", "em", "code", "strike", "underline", "link", "subsup", "textColor", "backgroundColor"}


def is_adf(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "doc" and isinstance(value.get("content"), list)


def _children(node: dict[str, Any]) -> list[dict[str, Any]]:
    content = node.get("content")
    return [c for c in content if isinstance(c, dict)] if isinstance(content, list) else []


def _attrs(node: dict[str, Any]) -> dict[str, Any]:
    attrs = node.get("attrs")
    return attrs if isinstance(attrs, dict) else {}


def _level(node: dict[str, Any]) -> int:
    level = _attrs(node).get("level")
    return max(1, min(6, level)) if isinstance(level, int) else 2


def _inline_text(node: dict[str, Any]) -> str:
    kind = node.get("type")
    attrs = _attrs(node)
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    if kind in ("mention", "emoji", "status", "placeholder"):
        return str(attrs.get("text") or attrs.get("shortName") or "")
    if kind == "inlineCard":
        return str(attrs.get("url", ""))
    if kind == "date":
        return str(attrs.get("timestamp", ""))
    return "".join(_inline_text(c) for c in _children(node))


def _text_blocks(node: dict[str, Any], depth: int = 0) -> list[str]:
    kind = node.get("type")
    kids = _children(node)
    if kind in ("paragraph", "heading"):
        text = "".join(_inline_text(c) for c in kids)
        if kind == "heading":
            text = "#" * _level(node) + " " + text
        return [text]
    if kind == "codeBlock":
        return ["".join(_inline_text(c) for c in kids)]
    if kind in ("bulletList", "orderedList"):
        out: list[str] = []
        for index, item in enumerate(kids, start=1):
            marker = f"{index}." if kind == "orderedList" else "-"
            lines = [line for block in _children(item) for line in _text_blocks(block, depth + 1)]
            if lines:
                out.append("  " * depth + f"{marker} {lines[0].lstrip()}")
                out.extend(lines[1:])
        return out
    if kind == "table":
        rows = []
        for row in kids:
            cells = [" ".join(" ".join(_text_blocks(cell, depth)).split()) for cell in _children(row)]
            rows.append("| " + " | ".join(cells) + " |")
        return rows
    if kind == "rule":
        return ["---"]
    if kind in INLINES:
        return [_inline_text(node)]
    return [line for child in kids for line in _text_blocks(child, depth)]


def adf_to_text(doc: dict[str, Any]) -> str:
    """Readable text of an ADF document: one line per block, `#` headings, `-`/`1.` list items."""
    return "\n".join(line for child in _children(doc) for line in _text_blocks(child)).strip("\n")


# --------------------------------------------------------------------------- ADF -> wiki markup


def _wiki_inline(node: dict[str, Any]) -> str:
    if node.get("type") != "text":
        return _inline_text(node)
    text = str(node.get("text", ""))
    for mark in node.get("marks") or []:
        kind = mark.get("type") if isinstance(mark, dict) else None
        if kind == "strong":
            text = f"*{text}*"
        elif kind == "em":
            text = f"_{text}_"
        elif kind == "code":
            text = "{{" + text + "}}"
        elif kind == "strike":
            text = f"-{text}-"
        elif kind == "link":
            href = str((mark.get("attrs") or {}).get("href", ""))
            text = f"[{text}|{href}]" if href else text
    return text


def _wiki_blocks(node: dict[str, Any], list_prefix: str = "") -> list[str]:
    kind = node.get("type")
    attrs = _attrs(node)
    kids = _children(node)
    if kind == "paragraph":
        return ["".join(_wiki_inline(c) for c in kids)]
    if kind == "heading":
        return [f"h{_level(node)}. " + "".join(_wiki_inline(c) for c in kids)]
    if kind == "codeBlock":
        lang = attrs.get("language")
        return ["{code" + (f":{lang}" if lang else "") + "}" + "".join(_inline_text(c) for c in kids) + "{code}"]
    if kind in ("bulletList", "orderedList"):
        marker = list_prefix + ("#" if kind == "orderedList" else "*")
        out: list[str] = []
        for item in kids:
            first = True
            for block in _children(item):
                if block.get("type") in ("bulletList", "orderedList"):
                    out.extend(_wiki_blocks(block, marker))
                    continue
                for line in _wiki_blocks(block, marker):
                    out.append(f"{marker} {line}" if first else line)
                    first = False
        return out
    if kind == "blockquote":
        return ["{quote}", *[line for c in kids for line in _wiki_blocks(c)], "{quote}"]
    if kind == "rule":
        return ["----"]
    if kind == "table":
        rows = []
        for row in kids:
            line = ""
            for cell in _children(row):
                sep = "||" if cell.get("type") == "tableHeader" else "|"
                text = " ".join(" ".join(line for block in _children(cell) for line in _wiki_blocks(block)).split())
                line += sep + text
            rows.append(line + ("||" if line.startswith("||") else "|"))
        return rows
    if kind in INLINES:
        return [_wiki_inline(node)]
    return [line for child in kids for line in _wiki_blocks(child, list_prefix)]


def adf_to_wiki(doc: dict[str, Any]) -> str:
    """Jira wiki markup for an ADF document (what Jira Cloud's v2 API shows for it)."""
    return "\n".join(line for child in _children(doc) for line in _wiki_blocks(child)).strip("\n")


# --------------------------------------------------------------------------- wiki markup -> ADF

_INLINE = re.compile(
    r"\{\{(?P<code>.+?)\}\}"
    r"|\[(?P<label>[^\[\]|\n]+)\|(?P<href>[^\[\]\n]+)\]"
    r"|(?<![\w*])\*(?P<strong>\S(?:[^*\n]*?\S)?)\*(?![\w*])"
    r"|(?<![\w_])_(?P<em>\S(?:[^_\n]*?\S)?)_(?![\w_])"
)
_HEADING = re.compile(r"^h([1-6])\.\s*(.*)$")
_LIST = re.compile(r"^([*#]+)\s+(.*)$")


def _text_node(text: str, mark: dict[str, Any] | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": text}
    if mark is not None:
        node["marks"] = [mark]
    return node


def _inline_nodes(text: str) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    pos = 0
    for match in _INLINE.finditer(text):
        if match.start() > pos:
            nodes.append(_text_node(text[pos : match.start()]))
        if match.group("code") is not None:
            nodes.append(_text_node(match.group("code"), {"type": "code"}))
        elif match.group("label") is not None:
            href = match.group("href").strip()
            nodes.append(_text_node(match.group("label"), {"type": "link", "attrs": {"href": href}}))
        elif match.group("strong") is not None:
            nodes.append(_text_node(match.group("strong"), {"type": "strong"}))
        else:
            nodes.append(_text_node(match.group("em"), {"type": "em"}))
        pos = match.end()
    if pos < len(text):
        nodes.append(_text_node(text[pos:]))
    return nodes


def _paragraph(lines: list[str]) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    for index, line in enumerate(lines):
        if index:
            content.append({"type": "hardBreak"})
        content.extend(_inline_nodes(line))
    return {"type": "paragraph", "content": content}


def _table_row(line: str) -> dict[str, Any]:
    cells = []
    for match in re.finditer(r"(\|\|?)([^|]*)", line.strip()):
        sep, text = match.groups()
        if not text.strip() and match.end() == len(line.strip()):
            break
        kind = "tableHeader" if sep == "||" else "tableCell"
        cells.append({"type": kind, "content": [_paragraph([text.strip()]) if text.strip() else {"type": "paragraph"}]})
    return {"type": "tableRow", "content": cells}


def _list_node(items: list[tuple[str, str]]) -> dict[str, Any]:
    """Nested lists from (markers, text) pairs, e.g. ('*', 'a'), ('*#', 'a.1')."""
    depth = len(items[0][0])
    kind = "orderedList" if items[0][0][-1] == "#" else "bulletList"
    node: dict[str, Any] = {"type": kind, "content": []}
    index = 0
    while index < len(items):
        _, text = items[index]
        item: dict[str, Any] = {"type": "listItem", "content": [_paragraph([text])]}
        index += 1
        start = index
        while index < len(items) and len(items[index][0]) > depth:
            index += 1
        if index > start:
            item["content"].append(_list_node(items[start:index]))
        node["content"].append(item)
    return node


def wiki_to_adf(text: str) -> dict[str, Any]:
    """An ADF document for wiki markup (what Jira Cloud's v3 API shows for a wiki-authored body)."""
    content: list[dict[str, Any]] = []
    lines = text.replace("\r\n", "\n").split("\n")
    para: list[str] = []

    def flush() -> None:
        if para:
            content.append(_paragraph(para))
            para.clear()

    index = 0
    while index < len(lines):
        line = lines[index].rstrip()
        code = re.match(r"^\{(code|noformat)(?::([^}|]*))?[^}]*\}(.*)$", line.strip())
        heading = _HEADING.match(line)
        if code:
            flush()
            kind, lang, rest = code.group(1), code.group(2), code.group(3)
            body: list[str] = []
            closing = "{" + kind + "}"
            while not rest.endswith(closing) and index + 1 < len(lines):
                body.append(rest)
                index += 1
                rest = lines[index]
            body.append(rest.removesuffix(closing))
            node: dict[str, Any] = {"type": "codeBlock", "content": [_text_node("\n".join(body).strip("\n"))]}
            if lang:
                node["attrs"] = {"language": lang.strip()}
            content.append(node)
        elif heading:
            flush()
            content.append(
                {
                    "type": "heading",
                    "attrs": {"level": int(heading.group(1))},
                    "content": _inline_nodes(heading.group(2)),
                }
            )
        elif _LIST.match(line):
            flush()
            items = []
            while index < len(lines) and (match := _LIST.match(lines[index].rstrip())):
                items.append((match.group(1), match.group(2)))
                index += 1
            content.append(_list_node(items))
            continue
        elif line.startswith("|"):
            flush()
            rows = []
            while index < len(lines) and lines[index].startswith("|"):
                rows.append(_table_row(lines[index]))
                index += 1
            content.append(
                {"type": "table", "attrs": {"isNumberColumnEnabled": False, "layout": "default"}, "content": rows}
            )
            continue
        elif line.strip() == "----":
            flush()
            content.append({"type": "rule"})
        elif not line.strip():
            flush()
        else:
            para.append(line)
        index += 1
    flush()
    return {"version": 1, "type": "doc", "content": content}


# --------------------------------------------------------------------------- validation


def adf_errors(doc: Any) -> list[str]:
    """Why Jira Cloud would refuse (or mis-render) this document; empty when it is valid."""
    if not isinstance(doc, dict) or doc.get("type") != "doc":
        return ["the body is not an ADF document (type 'doc')"]
    if doc.get("version") != 1:
        return ["ADF documents must have version 1"]
    errors: list[str] = []

    def walk(node: Any, where: str, allowed: set[str]) -> None:
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            errors.append(f"{where}: not a node")
            return
        kind = node["type"]
        if kind not in allowed:
            errors.append(f"{where}: '{kind}' is not allowed here")
            return
        if kind == "text":
            if not isinstance(node.get("text"), str) or not node["text"]:
                errors.append(f"{where}: a text node needs non-empty text")
            for mark in node.get("marks") or []:
                if not isinstance(mark, dict) or mark.get("type") not in MARKS:
                    errors.append(f"{where}: unknown mark {mark!r}")
            return
        kids = node.get("content", [])
        if not isinstance(kids, list):
            errors.append(f"{where}: content must be a list")
            return
        inner = {
            "paragraph": INLINES, "heading": INLINES, "codeBlock": {"text"},
            "bulletList": {"listItem"}, "orderedList": {"listItem"}, "listItem": BLOCKS - {"table"},
            "table": {"tableRow"}, "tableRow": {"tableHeader", "tableCell"},
            "tableHeader": BLOCKS - {"table"}, "tableCell": BLOCKS - {"table"}, "blockquote": BLOCKS - {"table"},
        }.get(kind, BLOCKS | INLINES | INNER)  # fmt: skip
        for i, kid in enumerate(kids):
            walk(kid, f"{where}.{kind}[{i}]", inner)
        if kind == "table":
            widths = {len(row.get("content") or []) for row in kids if isinstance(row, dict)}
            if len(widths) > 1:
                errors.append(f"{where}.table: rows have different numbers of cells {sorted(widths)}")

    for i, child in enumerate(doc.get("content") or []):
        walk(child, f"doc[{i}]", BLOCKS)
    return errors
