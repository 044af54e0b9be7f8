"""Run configuration: environment (and `.env`) -> the LangGraph runtime context.

Variable names are the reference script's, so an existing setup keeps working. Every
real component replaces its embedded default through them:

- JIRA_MCP_URL unset        -> the embedded Jira MCP server over the example tickets (stdio)
- MOBILE_MCP_COMMAND unset  -> the embedded device simulator (MOBILE_MCP_URL: an HTTP server)
- LLM_BASE_URL / OPENAI_API_KEY unset -> offline mode (Gherkin compiler, deterministic verifier)
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = PROJECT_ROOT / "examples"

_INDEXED = re.compile(r"^(?:FORCE_DEVICE_DRIVER(?P<force>\d+)|DRIVER(?P<pkg>\d+)_PACKAGE)$")


class ConfigError(ValueError):
    """A setting is present but unusable; the CLI maps it to exit code 3."""


def _indexed_settings(env_file: str | None) -> tuple[dict[int, str], dict[int, str]]:
    """FORCE_DEVICE_DRIVER<n> and DRIVER<n>_PACKAGE for any n, from .env then the environment."""
    merged: dict[str, str] = {}
    if env_file and Path(env_file).is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ)
    forced: dict[int, str] = {}
    packages: dict[int, str] = {}
    for name, value in merged.items():
        match = _INDEXED.match(name)
        if not match or not value.strip():
            continue
        if match.group("force"):
            forced[int(match.group("force"))] = value.strip()
        else:
            packages[int(match.group("pkg"))] = value.strip()
    return forced, packages


class Context(BaseSettings):
    """Static configuration of one run (LangGraph `context_schema`)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # Jira
    jira_mcp_url: str | None = Field(default=None, validation_alias="JIRA_MCP_URL")
    jira_mcp_token: SecretStr | None = Field(default=None, validation_alias="JIRA_MCP_TOKEN")
    tickets_dir: Path = Field(default=EXAMPLES_DIR / "tickets", validation_alias="QA_TICKETS_DIR")
    ticket_key: str | None = Field(default=None, validation_alias="TICKET_KEY")

    # Devices
    mobile_mcp_command: str | None = Field(default=None, validation_alias="MOBILE_MCP_COMMAND")
    mobile_mcp_args_json: str | None = Field(default=None, validation_alias="MOBILE_MCP_ARGS_JSON")
    mobile_mcp_url: str | None = Field(default=None, validation_alias="MOBILE_MCP_URL")
    sim_devices: int = Field(default=4, ge=1, le=64, validation_alias="QA_SIM_DEVICES")
    sim_apps_dir: Path = Field(default=EXAMPLES_DIR / "apps", validation_alias="QA_SIM_APPS")
    sim_args: list[str] = Field(default_factory=list, description="Extra simulator flags (tests)")
    force_devices: dict[int, str] = Field(default_factory=dict)
    global_package: str | None = Field(default=None, validation_alias="GLOBAL_PACKAGE")
    driver_packages: dict[int, str] = Field(default_factory=dict)
    allow_unsafe_tools: bool = Field(
        default=False,
        validation_alias="QA_ALLOW_UNSAFE_TOOLS",
        description="Allow install/uninstall/open-URL tools in plans",
    )

    # LLM (OpenAI-compatible)
    llm_base_url: str | None = Field(default=None, validation_alias="LLM_BASE_URL")
    llm_api_key: SecretStr | None = Field(default=None, validation_alias="LLM_API_KEY")
    openai_api_key: SecretStr | None = Field(default=None, validation_alias="OPENAI_API_KEY")
    llm_model: str = Field(default="gpt-4o-mini", validation_alias="LLM_MODEL")
    proxy_url: str | None = Field(default=None, validation_alias="PROXY_URL")
    llm_tls_verify: bool = Field(default=True, validation_alias="LLM_TLS_VERIFY")
    llm_accepts_images: bool = Field(default=False, validation_alias="LLM_ACCEPTS_IMAGES")
    prompt_lang: str = Field(default="en", validation_alias="PROMPT_LANG")
    llm_timeout_s: float = Field(default=120.0, gt=0, validation_alias="LLM_TIMEOUT_S")
    llm_max_retries: int = Field(default=2, ge=0, le=10, validation_alias="LLM_MAX_RETRIES")
    jira_agent_max_rounds: int = Field(default=6, ge=1, le=50, validation_alias="JIRA_AGENT_MAX_ROUNDS")

    # Output limits for tool text sent to an LLM or stored in state
    max_tool_chars: int = Field(default=12000, ge=200, validation_alias="MAX_TOOL_CHARS")
    max_tool_lines: int = Field(default=300, ge=10, validation_alias="MAX_TOOL_LINES")

    # Steps
    step_default_timeout_s: float = Field(default=60.0, gt=0, validation_alias="STEP_DEFAULT_TIMEOUT_S")
    step_default_attempts: int = Field(default=3, ge=1, le=10, validation_alias="STEP_DEFAULT_ATTEMPTS")
    step_backoff_base_s: float = Field(default=0.6, ge=0, validation_alias="STEP_BACKOFF_BASE_S")
    find_timeout_s: float = Field(default=10.0, gt=0, validation_alias="QA_FIND_TIMEOUT_S")
    assert_timeout_s: float = Field(default=10.0, gt=0, validation_alias="QA_ASSERT_TIMEOUT_S")
    screenshots: Literal["assertions", "proofs", "failures"] = Field(
        default="assertions",
        validation_alias="QA_SCREENSHOTS",
        description="Screenshots for failures plus: every assertion, assertions proving an expected result, none",
    )
    poll_interval_s: float = Field(default=0.25, gt=0, validation_alias="QA_POLL_INTERVAL_S")

    # Graph
    approve_plan: bool = Field(
        default=False, validation_alias="APPROVE_PLAN", description="Pause after planning for a human decision"
    )
    plan_replay: bool = Field(
        default=True, validation_alias="QA_PLAN_REPLAY", description="Replay a stored successful plan"
    )
    jira_writeback: bool = Field(
        default=False, validation_alias="JIRA_WRITEBACK", description="Comment the verdict on the ticket"
    )
    device_pool: str | None = Field(
        default=None, description="Batch runs: lease devices from this in-process pool (set by `qa-agent batch`)"
    )
    max_replans: int = Field(default=2, ge=0, le=10, validation_alias="MAX_REPLANS")
    steps_file: Path | None = Field(
        default=None, validation_alias="QA_STEPS_FILE", description="The team's Gherkin steps (YAML), tried first"
    )
    report_root: Path = Field(default=Path("runs"), validation_alias="QA_REPORT_DIR")
    checkpoint_dsn: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("QA_CHECKPOINT_DSN", "POSTGRES_URI"),
        description="Postgres DSN for checkpoints (default: SQLite in the report folder)",
    )

    @field_validator("mobile_mcp_args_json")
    @classmethod
    def _args_must_be_a_json_list(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"MOBILE_MCP_ARGS_JSON is not valid JSON ({exc.msg} at char {exc.pos})") from exc
        if not isinstance(parsed, list) or not all(isinstance(a, str) for a in parsed):
            raise ValueError('MOBILE_MCP_ARGS_JSON must be a JSON list of strings, e.g. ["lib/index.js"]')
        return value

    @model_validator(mode="before")
    @classmethod
    def _collect_indexed(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        forced, packages = _indexed_settings(".env")
        data.setdefault("force_devices", forced)
        data.setdefault("driver_packages", packages)
        return data

    @classmethod
    def model_json_schema(cls, by_alias: bool | None = None, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Field names (`approve_plan`), not environment names (`APPROVE_PLAN`), by default.

        The LangGraph server keeps only the context keys this schema lists (and Studio edits
        them), so with aliases `context={"approve_plan": True}` was silently dropped.
        """
        return super().model_json_schema(False if by_alias is None else by_alias, *args, **kwargs)

    @property
    def mobile_mcp_args(self) -> list[str]:
        return list(json.loads(self.mobile_mcp_args_json)) if self.mobile_mcp_args_json else []

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url or self.openai_api_key)

    def package_for(self, driver: int) -> str | None:
        return self.driver_packages.get(driver) or self.global_package or None

    def secrets(self) -> list[str]:
        """Values that must never appear in logs, reports or checkpoints."""
        out = []
        for secret in (self.llm_api_key, self.openai_api_key, self.jira_mcp_token, self.checkpoint_dsn):
            if secret is not None and secret.get_secret_value():
                out.append(secret.get_secret_value())
        return out


def load_context(**overrides: Any) -> Context:
    """Build the context from the environment; raise ConfigError with a readable message."""
    from pydantic import ValidationError

    try:
        return Context(**overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid configuration: {problems}") from None


def context_of(runtime_context: Context | dict[str, Any] | None) -> Context:
    """Nodes call this: the server may hand us None or a plain dict."""
    if isinstance(runtime_context, Context):
        return runtime_context
    return load_context(**(runtime_context or {}))
