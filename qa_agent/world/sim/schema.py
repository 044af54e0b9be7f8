"""The verbatim mobile-mcp 1.0.4 tool definitions we serve, and a small argument validator.

The validator understands the subset of JSON Schema used by those tools (type, enum, minimum, maximum,
exclusiveMinimum, minItems, pattern, items, required) and words its messages like zod 4, the library
the real server validates with. Unknown keys (e.g. ``noParams``) are dropped, like zod's ``strip``.
Properties the real server declares with ``z.coerce.number()`` accept numeric strings.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from importlib import resources
from typing import Any

from mcp import types

from qa_agent.world.sim.errors import InputValidationError

DATA_FILE = "mobile_mcp_1_0_4_tools.json"

# Parameters declared with z.coerce.number() in mobile-mcp 1.0.4 (research doc, section 1.0).
COERCED_NUMBERS = frozenset({"x", "y", "distance", "duration", "timeLimit", "timeoutSeconds"})


@lru_cache(maxsize=1)
def tool_spec() -> dict[str, Any]:
    text = resources.files("qa_agent.world.sim.data").joinpath(DATA_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def tool_entries() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = tool_spec()["tools"]
    return entries


def tool_names() -> list[str]:
    return [t["name"] for t in tool_entries()]


def input_schema(name: str) -> dict[str, Any] | None:
    for t in tool_entries():
        if t["name"] == name:
            schema: dict[str, Any] = t["inputSchema"]
            return schema
    return None


def mcp_tools() -> list[types.Tool]:
    return [types.Tool.model_validate(t) for t in tool_entries()]


def _js_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "NaN" if isinstance(value, float) and math.isnan(value) else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _coerce_number(value: Any) -> float | int:
    """JavaScript ``Number(value)`` for the values a JSON client can send."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        s = value.strip()
        if s == "":
            return 0
        try:
            f = float(s)
        except ValueError:
            return math.nan
        return int(f) if f.is_integer() and "." not in s and "e" not in s.lower() else f
    return math.nan


def _fmt_num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def _check(value: Any, schema: dict[str, Any], path: str, issues: list[str]) -> Any:
    at = f" at {path}" if path else ""
    typ = schema.get("type")
    if "enum" in schema:
        if value not in schema["enum"]:
            options = "|".join(json.dumps(o) for o in schema["enum"])
            issues.append(f"Invalid option: expected one of {options}{at}")
        return value
    if typ in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            issues.append(
                f"Invalid input: expected {typ if typ == 'number' else 'int'}, received {_js_type(value)}{at}"
            )
            return value
        if typ == "integer" and not float(value).is_integer():
            issues.append(f"Invalid input: expected int, received number{at}")
            return value
        if "minimum" in schema and value < schema["minimum"]:
            issues.append(f"Too small: expected number to be >={_fmt_num(schema['minimum'])}{at}")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            issues.append(f"Too small: expected number to be >{_fmt_num(schema['exclusiveMinimum'])}{at}")
        if "maximum" in schema and value > schema["maximum"]:
            issues.append(f"Too big: expected number to be <={_fmt_num(schema['maximum'])}{at}")
        return value
    if typ == "string":
        if not isinstance(value, str):
            issues.append(f"Invalid input: expected string, received {_js_type(value)}{at}")
        elif "pattern" in schema and not re.search(schema["pattern"], value):
            issues.append(f"Invalid string: must match pattern /{schema['pattern']}/{at}")
        return value
    if typ == "boolean":
        if not isinstance(value, bool):
            issues.append(f"Invalid input: expected boolean, received {_js_type(value)}{at}")
        return value
    if typ == "array":
        if not isinstance(value, list):
            issues.append(f"Invalid input: expected array, received {_js_type(value)}{at}")
            return value
        if "minItems" in schema and len(value) < schema["minItems"]:
            issues.append(f"Too small: expected array to have >={schema['minItems']} items{at}")
        item_schema = schema.get("items")
        if isinstance(item_schema, dict):
            return [_check(v, item_schema, f"{path}.{i}" if path else str(i), issues) for i, v in enumerate(value)]
        return value
    if typ == "object":
        if not isinstance(value, dict):
            issues.append(f"Invalid input: expected record, received {_js_type(value)}{at}")
            return value
        props = schema.get("properties")
        if not isinstance(props, dict):
            return value  # free-form record
        return _check_object(value, schema, path, issues)
    return value


def _check_object(value: dict[str, Any], schema: dict[str, Any], path: str, issues: list[str]) -> dict[str, Any]:
    props: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    out: dict[str, Any] = {}
    for key, prop in props.items():
        sub = f"{path}.{key}" if path else key
        if key not in value:
            if key in required:
                expected = prop.get("type", "value")
                expected = "int" if expected == "integer" else expected
                if "enum" in prop:
                    options = "|".join(json.dumps(o) for o in prop["enum"])
                    issues.append(f"Invalid option: expected one of {options} at {sub}")
                else:
                    issues.append(f"Invalid input: expected {expected}, received undefined at {sub}")
            elif "default" in prop:
                out[key] = prop["default"]
            continue
        raw = value[key]
        if key in COERCED_NUMBERS and prop.get("type") == "number" and not path:
            raw = _coerce_number(raw)
        out[key] = _check(raw, prop, sub, issues)
    return out


def validate_arguments(tool: str, arguments: dict[str, Any] | None) -> dict[str, Any]:
    """Return the cleaned arguments (unknown keys stripped, coercions applied) or raise."""
    schema = input_schema(tool)
    if schema is None:
        raise KeyError(tool)
    issues: list[str] = []
    cleaned = _check_object(dict(arguments or {}), schema, "", issues)
    if issues:
        raise InputValidationError(tool, "; ".join(issues))
    return cleaned
