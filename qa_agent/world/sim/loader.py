"""Load app models from a folder of YAML files, resolving ``extends:`` and reporting clear errors."""

from __future__ import annotations

import copy
import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from qa_agent.world.sim.appmodel import AppModel
from qa_agent.world.sim.expr import ExprError

_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: big models load in ms


class _AppYamlLoader(_SafeLoader):  # type: ignore[misc,valid-type]
    """YAML 1.2-style booleans: only true/false (so ``on:`` stays the key "on", not ``True``)."""


_AppYamlLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_AppYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class AppModelError(ValueError):
    """An app model file is invalid; the message names the file and the field."""


def default_apps_dir() -> Path:
    """The repository's ``examples/apps`` folder."""
    return Path(__file__).resolve().parents[3] / "examples" / "apps"


def _merge_elements(base: list[Any], override: list[Any], where: str) -> list[Any]:
    out = [copy.deepcopy(e) for e in base]
    for el in override:
        if not isinstance(el, dict):
            raise AppModelError(f"{where}: elements must be mappings")
        key = el.get("key") or el.get("field") or el.get("identifier")
        if el.get("remove"):
            out = [e for e in out if (e.get("key") or e.get("field") or e.get("identifier")) != key]
            continue
        for i, existing in enumerate(out):
            if key is not None and (existing.get("key") or existing.get("field") or existing.get("identifier")) == key:
                out[i] = _deep_merge(existing, el, where)
                break
        else:
            out.append(copy.deepcopy(el))
    return out


def _deep_merge(base: dict[str, Any], override: dict[str, Any], where: str) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if key == "elements" and isinstance(value, list) and isinstance(out.get(key), list):
            out[key] = _merge_elements(out[key], value, f"{where}.elements")
        elif isinstance(value, dict) and isinstance(out.get(key), dict) and key != "on":
            out[key] = _deep_merge(out[key], value, f"{where}.{key}")
        elif key == "on" and isinstance(value, dict) and isinstance(out.get(key), dict):
            merged = copy.deepcopy(out[key])
            merged.update(copy.deepcopy(value))  # handlers are replaced whole
            out[key] = merged
        else:
            out[key] = copy.deepcopy(value)
    return out


def _format_validation(source: str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "<root>"
        lines.append(f"{source}: {loc}: {err['msg']}")
    return "\n".join(lines)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_AppYamlLoader)
    except yaml.YAMLError as exc:
        raise AppModelError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise AppModelError(f"{path}: the file must contain a mapping (an app model)")
    if not isinstance(data.get("package"), str):
        raise AppModelError(f"{path}: package: field required (a string such as com.example.app)")
    return data


def _resolve(pkg: str, raw: dict[str, tuple[Path, dict[str, Any]]], seen: tuple[str, ...]) -> dict[str, Any]:
    path, data = raw[pkg]
    parent = data.get("extends")
    if parent is None:
        return data
    if not isinstance(parent, str) or parent not in raw:
        raise AppModelError(f"{path}: extends: unknown app package {parent!r}")
    if parent in seen:
        raise AppModelError(f"{path}: extends: cycle {' -> '.join((*seen, parent))}")
    base = _resolve(parent, raw, (*seen, parent))
    base = {k: v for k, v in base.items() if k not in ("extends", "description")}
    return _deep_merge(base, data, str(path))


def load_models(paths: list[Path]) -> dict[str, AppModel]:
    raw: dict[str, tuple[Path, dict[str, Any]]] = {}
    for path in paths:
        data = _read_yaml(path)
        pkg = data["package"]
        if pkg in raw:
            raise AppModelError(f"{path}: package {pkg!r} is already defined in {raw[pkg][0]}")
        raw[pkg] = (path, data)
    models: dict[str, AppModel] = {}
    for pkg, (path, _data) in raw.items():
        merged = _resolve(pkg, raw, (pkg,))
        try:
            models[pkg] = AppModel.model_validate(merged)
        except ValidationError as exc:
            raise AppModelError(_format_validation(str(path), exc)) from None
        except ExprError as exc:
            raise AppModelError(f"{path}: {exc}") from None
    return models


def load_apps(apps_dir: Path | None = None, *, with_system: bool = True) -> dict[str, AppModel]:
    """All app models of ``apps_dir`` (``*.yaml``/``*.yml``) plus the built-in system apps."""
    folder = apps_dir or default_apps_dir()
    if not folder.is_dir():
        raise AppModelError(f"{folder}: apps folder not found")
    paths = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    if with_system:
        system_dir = Path(str(resources.files("qa_agent.world.sim.data").joinpath("system_apps")))
        paths = sorted(system_dir.glob("*.yaml")) + paths
    return load_models(paths)
