"""A tiny, safe expression language for app models (conditions, computed values, text templates).

Grammar: Python expression syntax restricted to literals (also lists), names, attribute access (on mappings:
missing keys give ``null``), ``and``/``or``/``not``, comparisons (``== != < <= > >= in not in``),
``+ - * / %``, unary minus, ``a if cond else b``, indexing (``a[0]``, ``a[-1]``, ``a[1:3]``; out of range gives
``null``) and calls of the helpers in :data:`FUNCTIONS` (time, strings, lists). ``null``/``none``,
``true``/``false`` are accepted as literals.

Templates are strings with ``{expression}`` parts; ``{{`` and ``}}`` are literal braces; ``null`` renders
as an empty string.
"""

from __future__ import annotations

import ast
import operator
import re
import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any


class ExprError(ValueError):
    """An expression that cannot be parsed or evaluated."""


_CONSTANTS: dict[str, Any] = {
    "null": None,
    "none": None,
    "None": None,
    "true": True,
    "True": True,
    "false": False,
    "False": False,
}

_BINOPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
}

_CMPOPS: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: b is not None and a in b,
    ast.NotIn: lambda a, b: b is None or a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


# The helpers an app model may call. Each takes and returns plain data; a wrong argument is an ExprError.
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "now": lambda fmt="%H:%M": time.strftime(str(fmt)),  # local time, strftime format
    "clock_ms": lambda: int(time.time() * 1000),
    "len": lambda v: len(v) if isinstance(v, str | list | tuple | dict) else 0,
    "str": _text,
    "int": lambda v: int(float(v)) if v not in (None, "") else 0,
    "upper": lambda v: _text(v).upper(),
    "lower": lambda v: _text(v).lower(),
    "trim": lambda v: _text(v).strip(),
    "startswith": lambda v, prefix: _text(v).startswith(_text(prefix)),
    "endswith": lambda v, suffix: _text(v).endswith(_text(suffix)),
    "replace": lambda v, old, new: _text(v).replace(_text(old), _text(new)),
    "split": lambda v, sep=",": _text(v).split(_text(sep)) if _text(v) else [],
    "join": lambda v, sep=", ": _text(sep).join(_text(i) for i in _items(v)),
    "append": lambda v, item: [*_items(v), item],
    "remove": lambda v, item: [i for i in _items(v) if i != item],
    "first": lambda v: _items(v)[0] if _items(v) else None,
    "last": lambda v: _items(v)[-1] if _items(v) else None,
    "take_last": lambda v, n: _items(v)[-int(n) :] if int(n) > 0 else [],
    "range": lambda n: list(range(min(int(n), 1000))),
}

_ALLOWED = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.BinOp,
    ast.Compare,
    ast.IfExp,
    ast.Name,
    ast.Load,
    ast.Attribute,
    ast.Constant,
    ast.List,
    ast.Subscript,
    ast.Slice,
    ast.Call,
    *_BINOPS,
    *_CMPOPS,
)


@lru_cache(maxsize=4096)
def compile_expr(source: str) -> ast.Expression:
    """Parse and check an expression; raises :class:`ExprError` with a readable message."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"invalid expression {source!r}: {exc.msg}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ExprError(f"invalid expression {source!r}: {type(node).__name__} is not allowed")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
                allowed = ", ".join(sorted(FUNCTIONS))
                raise ExprError(f"invalid expression {source!r}: only calls of {allowed} (positional) are allowed")
    return tree


def _eval(node: ast.AST, ctx: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Expression):
        return _eval(node.body, ctx)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in ctx:
            return ctx[node.id]
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        raise ExprError(f"unknown name {node.id!r}")
    if isinstance(node, ast.Attribute):
        base = _eval(node.value, ctx)
        if isinstance(base, Mapping):
            return base.get(node.attr)
        return None
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            result: Any = True
            for v in node.values:
                result = _eval(v, ctx)
                if not result:
                    return result
            return result
        result = False
        for v in node.values:
            result = _eval(v, ctx)
            if result:
                return result
        return result
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, ctx)
        return (not operand) if isinstance(node.op, ast.Not) else -operand
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, ctx), _eval(node.right, ctx)
        if isinstance(node.op, ast.Add) and (isinstance(left, str) or isinstance(right, str)):
            return f"{'' if left is None else left}{'' if right is None else right}"
        try:
            return _BINOPS[type(node.op)](left or 0, right or 0)
        except (TypeError, ZeroDivisionError) as exc:
            raise ExprError(str(exc)) from None
    if isinstance(node, ast.Compare):
        left = _eval(node.left, ctx)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = _eval(comp, ctx)
            try:
                ok = _CMPOPS[type(op)](left, right)
            except TypeError:
                ok = False
            if not ok:
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return _eval(node.body, ctx) if _eval(node.test, ctx) else _eval(node.orelse, ctx)
    if isinstance(node, ast.List):
        return [_eval(e, ctx) for e in node.elts]
    if isinstance(node, ast.Subscript):
        return _subscript(_eval(node.value, ctx), node.slice, ctx)
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)  # checked by compile_expr
        args = [_eval(a, ctx) for a in node.args]
        try:
            return FUNCTIONS[node.func.id](*args)
        except (TypeError, ValueError) as exc:
            raise ExprError(f"{node.func.id}(): {exc}") from None
    raise ExprError(f"unsupported syntax {type(node).__name__}")


def _subscript(base: Any, index: ast.AST, ctx: Mapping[str, Any]) -> Any:
    if isinstance(index, ast.Slice):
        bounds = [None if b is None else _eval(b, ctx) for b in (index.lower, index.upper)]
        return base[bounds[0] : bounds[1]] if isinstance(base, str | list) else None
    key = _eval(index, ctx)
    if isinstance(base, Mapping):
        return base.get(key)
    if isinstance(base, str | list) and isinstance(key, int) and -len(base) <= key < len(base):
        return base[key]
    return None


def evaluate(source: str, ctx: Mapping[str, Any]) -> Any:
    return _eval(compile_expr(source), ctx)


_TEMPLATE_PART = re.compile(r"\{\{|\}\}|\{([^{}]+)\}")


def template_parts(template: str) -> list[str]:
    """The expressions used by a template (for load-time checking)."""
    return [m.group(1) for m in _TEMPLATE_PART.finditer(template) if m.group(1) is not None]


def render(template: str, ctx: Mapping[str, Any]) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "{{":
            return "{"
        if m.group(0) == "}}":
            return "}"
        value = evaluate(m.group(1), ctx)
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    return _TEMPLATE_PART.sub(sub, template)


def resolve_value(value: Any, ctx: Mapping[str, Any]) -> Any:
    """``set``/``set_shared`` values: a string starting with ``=`` is an expression, else a literal."""
    if isinstance(value, str) and value.startswith("="):
        return evaluate(value[1:], ctx)
    return value
