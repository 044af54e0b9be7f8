"""Project-local installs of the pinned real servers.

* ``@mobilenext/mobile-mcp@1.0.4`` with npm into ``<cache>/mobile-mcp`` (``npm install --prefix``);
* ``mcp-atlassian==0.23.1`` into its own virtual environment ``<cache>/mcp-atlassian-venv``.

``<cache>`` is ``$QA_REAL_SERVERS_DIR`` or ``<repo>/.cache/real-servers``. Idempotent: an install that is
already there at the pinned version is left alone.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MOBILE_MCP_PACKAGE = "@mobilenext/mobile-mcp"
MOBILE_MCP_VERSION = "1.0.4"
MOBILECLI_VERSION = "1.0.9"  # what mobile-mcp 1.0.4 pins (through mobilewright 0.0.57)
MCP_ATLASSIAN_PACKAGE = "mcp-atlassian"
MCP_ATLASSIAN_VERSION = "0.23.1"
MIN_NODE_MAJOR = 20
REPO_ROOT = Path(__file__).resolve().parents[3]
ENV_CACHE = "QA_REAL_SERVERS_DIR"
NPM_TIMEOUT_S = 600.0
PIP_TIMEOUT_S = 900.0


class InstallError(RuntimeError):
    """A real server cannot be installed here (no Node/npm, registry unreachable, ...)."""


def cache_dir() -> Path:
    env = os.environ.get(ENV_CACHE)
    return Path(env).resolve() if env else REPO_ROOT / ".cache" / "real-servers"


def _prepare_cache() -> Path:
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    ignore = root / ".gitignore"
    if not ignore.exists():  # keep node_modules and the venv out of git, ruff and friends
        ignore.write_text("*\n")
    return root


# ---------------------------------------------------------------------------------------------- mobile-mcp
def mobile_mcp_prefix() -> Path:
    return cache_dir() / "mobile-mcp"


def mobile_mcp_package_dir() -> Path:
    return mobile_mcp_prefix() / "node_modules" / "@mobilenext" / "mobile-mcp"


def mobile_mcp_entry() -> Path:
    """``lib/index.js`` of the installed mobile-mcp (run it with ``node``)."""
    return mobile_mcp_package_dir() / "lib" / "index.js"


def mobilecli_binary() -> Path:
    """The mobilecli executable npm installed for this platform."""
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower()
    )
    osname = {"linux": "linux", "darwin": "darwin", "win32": "windows"}.get(sys.platform, sys.platform)
    name = f"mobilecli-{osname}-{arch}"
    return mobile_mcp_prefix() / "node_modules" / "@mobilenext" / name / name


def _installed_npm_version(package_dir: Path) -> str | None:
    try:
        data = json.loads((package_dir / "package.json").read_text())
    except (OSError, ValueError):
        return None
    version = data.get("version") if isinstance(data, dict) else None
    return version if isinstance(version, str) else None


def node_executable() -> str:
    node = shutil.which("node")
    if node is None:
        raise InstallError(
            f"Node.js is not installed (no `node` on PATH); mobile-mcp {MOBILE_MCP_VERSION} needs Node >= "
            f"{MIN_NODE_MAJOR}"
        )
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise InstallError(f"`node --version` failed: {exc}") from exc
    match = re.match(r"v(\d+)\.", out)
    if not match or int(match.group(1)) < MIN_NODE_MAJOR:
        raise InstallError(f"Node.js {out or '?'} is too old; mobile-mcp needs Node >= {MIN_NODE_MAJOR}")
    return node


def mobile_mcp_installed() -> bool:
    return (
        _installed_npm_version(mobile_mcp_package_dir()) == MOBILE_MCP_VERSION
        and mobile_mcp_entry().is_file()
        and mobilecli_binary().is_file()
    )


def install_mobile_mcp(echo: Callable[[str], None] = print) -> Path:
    """Install the pinned mobile-mcp into the cache; return its ``lib/index.js``."""
    if mobile_mcp_installed():
        echo(f"mobile-mcp {MOBILE_MCP_VERSION}: already installed in {mobile_mcp_prefix()}")
        return mobile_mcp_entry()
    node_executable()
    npm = shutil.which("npm")
    if npm is None:
        raise InstallError("npm is not installed (no `npm` on PATH); it comes with Node.js >= 20")
    _prepare_cache()
    prefix = mobile_mcp_prefix()
    prefix.mkdir(parents=True, exist_ok=True)
    spec = f"{MOBILE_MCP_PACKAGE}@{MOBILE_MCP_VERSION}"
    echo(f"mobile-mcp {MOBILE_MCP_VERSION}: npm install {spec} --prefix {prefix}")
    cmd = [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--loglevel=error", spec]
    _run(cmd, NPM_TIMEOUT_S, f"npm install {spec} (is the npm registry reachable?)")
    if not mobile_mcp_installed():
        raise InstallError(
            f"npm installed {spec} but {mobile_mcp_entry()} or the mobilecli binary {mobilecli_binary()} "
            "is missing (unsupported platform?)"
        )
    echo(f"mobile-mcp {MOBILE_MCP_VERSION}: installed ({mobilecli_binary().name} {MOBILECLI_VERSION})")
    return mobile_mcp_entry()


# ---------------------------------------------------------------------------------------------- mcp-atlassian
def atlassian_venv() -> Path:
    return cache_dir() / "mcp-atlassian-venv"


def atlassian_python() -> Path:
    scripts = "Scripts" if sys.platform == "win32" else "bin"
    return atlassian_venv() / scripts / ("python.exe" if sys.platform == "win32" else "python")


def atlassian_executable() -> Path:
    scripts = "Scripts" if sys.platform == "win32" else "bin"
    return atlassian_venv() / scripts / ("mcp-atlassian.exe" if sys.platform == "win32" else "mcp-atlassian")


def _installed_pip_version() -> str | None:
    python = atlassian_python()
    if not python.is_file() or not atlassian_executable().is_file():
        return None
    code = "import importlib.metadata as m; print(m.version('mcp-atlassian'))"
    try:
        proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def atlassian_installed() -> bool:
    return _installed_pip_version() == MCP_ATLASSIAN_VERSION


def install_atlassian(echo: Callable[[str], None] = print) -> Path:
    """Install the pinned mcp-atlassian into its own venv; return its console script."""
    if atlassian_installed():
        echo(f"mcp-atlassian {MCP_ATLASSIAN_VERSION}: already installed in {atlassian_venv()}")
        return atlassian_executable()
    _prepare_cache()
    venv = atlassian_venv()
    if not atlassian_python().is_file():
        echo(f"mcp-atlassian {MCP_ATLASSIAN_VERSION}: creating virtual environment {venv}")
        base = getattr(sys, "_base_executable", None) or sys.executable
        _run([base, "-m", "venv", str(venv)], 300.0, "python -m venv")
    spec = f"{MCP_ATLASSIAN_PACKAGE}=={MCP_ATLASSIAN_VERSION}"
    echo(f"mcp-atlassian {MCP_ATLASSIAN_VERSION}: pip install {spec}")
    cmd = [str(atlassian_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", spec]
    _run(cmd, PIP_TIMEOUT_S, f"pip install {spec} (is PyPI reachable?)")
    if not atlassian_installed():
        raise InstallError(f"pip installed {spec} but `{atlassian_executable()}` does not report that version")
    echo(f"mcp-atlassian {MCP_ATLASSIAN_VERSION}: installed")
    return atlassian_executable()


# ---------------------------------------------------------------------------------------------- both
@dataclass(frozen=True)
class Installed:
    mobile_mcp_entry: Path
    mobilecli: Path
    atlassian: Path


def ensure_installed(echo: Callable[[str], None] = print) -> Installed:
    """Install both servers (idempotent). Raises :class:`InstallError` with a readable reason.

    Holds a file lock: parallel test workers must not run two npm/pip installs into one folder."""
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        entry = install_mobile_mcp(echo)
        atlassian = install_atlassian(echo)
        return Installed(mobile_mcp_entry=entry, mobilecli=mobilecli_binary(), atlassian=atlassian)


def _run(cmd: list[str], timeout: float, what: str) -> None:
    env = {**os.environ, "npm_config_update_notifier": "false", "PIP_NO_INPUT": "1"}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except FileNotFoundError as exc:
        raise InstallError(f"{what}: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise InstallError(f"{what}: timed out after {timeout:.0f}s") from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout or "").strip().splitlines()[-15:])
        raise InstallError(f"{what} failed (exit {proc.returncode}):\n{tail}")
