"""Run configuration: environment (and `.env`) -> the LangGraph runtime context.

Variable names are the reference script's, so an existing setup keeps working. Every
real component replaces its embedded default through them:

- JIRA_MCP_URL unset        -> the embedded Jira MCP server over the example tickets (stdio)
- MOBILE_MCP_COMMAND unset  -> the embedded device simulator (MOBILE_MCP_URL: an HTTP server)
- LLM_BASE_URL / OPENAI_API_KEY unset -> offline mode (Gherkin compiler, deterministic verifier)

Two kinds of settings: deployment settings (commands, URLs, paths, secrets) come only from the
environment of the machine that runs the graph; RUN_OPTIONS are the only fields a client of the
LangGraph server may set per run. load_context() (in-process code: the CLI, tests, programmatic
use) may override any field; any other construction, such as LangGraph coercing a run's context
dict with `Context(**d)`, is refused unless it holds run options only.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

from dotenv import dotenv_values
from pydantic import AliasChoices, BeforeValidator, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = PROJECT_ROOT / "examples"

_INDEXED = re.compile(r"^(?:FORCE_DEVICE_DRIVER(?P<force>\d+)|DRIVER(?P<pkg>\d+)_PACKAGE)$")


# The fields a run's context may carry from outside (the server's context schema lists only these).
RUN_OPTIONS: tuple[str, ...] = ("approve_plan", "plan_replay", "screenshots", "prompt_lang", "max_replans")


# Set only while load_context() builds a context in-process. Everything else that constructs a
# Context (LangGraph coerces a run's context dict with `Context(**d)`) may set run options only.
_TRUSTED: ContextVar[bool] = ContextVar("trusted_context", default=False)


class ConfigError(ValueError):
    """A setting is present but unusable; the CLI maps it to exit code 3."""


def refused_options(keys: Iterable[object]) -> list[str]:
    """The keys of an outside context that are not run options: deployment settings, secrets, typos."""
    return sorted(str(key) for key in keys if key not in RUN_OPTIONS)


def refusal(refused: list[str], where: str = "context") -> str:
    return (
        f"{where} field(s) {', '.join(refused)} cannot be set by a client: only the run options "
        f"{', '.join(RUN_OPTIONS)} can; commands, URLs, paths and secrets come from the server's environment"
    )


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


def _comma_list(value: Any) -> Any:
    return [p.strip() for p in value.split(",") if p.strip()] if isinstance(value, str) else value


class Context(BaseSettings):
    """Static configuration of one run (LangGraph `context_schema`)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    def __init__(self, **values: Any) -> None:
        if not _TRUSTED.get() and (refused := refused_options(values)):
            raise ConfigError(refusal(refused))
        super().__init__(**values)

    # Jira
    jira_mcp_url: str | None = Field(default=None, validation_alias="JIRA_MCP_URL")
    jira_mcp_token: SecretStr | None = Field(default=None, validation_alias="JIRA_MCP_TOKEN")
    tickets_dir: Path = Field(default=EXAMPLES_DIR / "tickets", validation_alias="QA_TICKETS_DIR")
    ticket_key: str | None = Field(default=None, validation_alias="TICKET_KEY")
    jira_test_details_field: str | None = Field(
        default=None,
        validation_alias="JIRA_TEST_DETAILS_FIELD",
        description="The field holding the test steps, by id (customfield_10057) or name (Test Details)",
    )

    # Devices
    mobile_mcp_command: str | None = Field(default=None, validation_alias="MOBILE_MCP_COMMAND")
    mobile_mcp_args_json: str | None = Field(default=None, validation_alias="MOBILE_MCP_ARGS_JSON")
    mobile_mcp_url: str | None = Field(default=None, validation_alias="MOBILE_MCP_URL")
    mobile_mcp_urls: Annotated[list[str], NoDecode, BeforeValidator(_comma_list)] = Field(
        default_factory=list,
        validation_alias="MOBILE_MCP_URLS",
        description="A device lab: several device servers over streamable HTTP (comma-separated)",
    )
    lab_file: Path | None = Field(
        default=None, validation_alias="QA_LAB_FILE", description="A device lab: hosts, accounts, labels (YAML)"
    )
    lease_ttl_s: float = Field(
        default=60.0,
        ge=2,
        le=3600,
        validation_alias="QA_LEASE_TTL_S",
        description="With QA_CHECKPOINT_DSN: a device lease its agent stopped renewing expires after this",
    )
    sim_devices: int = Field(default=4, ge=1, le=64, validation_alias="QA_SIM_DEVICES")
    sim_apps_dir: Path = Field(default=EXAMPLES_DIR / "apps", validation_alias="QA_SIM_APPS")
    sim_profile: Literal["fast", "realistic"] = Field(
        default="fast", validation_alias="QA_SIM_PROFILE", description="The embedded simulator's latency profile"
    )
    sim_args: list[str] = Field(default_factory=list, description="Extra simulator flags (tests)")
    force_devices: dict[int, str] = Field(default_factory=dict)
    device_accounts: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        validation_alias="DEVICE_ACCOUNTS",
        description="device id -> account signed in on it (JSON object or id=name,id=name); the simulator says its own",
    )
    global_package: str | None = Field(default=None, validation_alias="GLOBAL_PACKAGE")
    driver_packages: dict[int, str] = Field(default_factory=dict)
    allow_unsafe_tools: bool = Field(
        default=False,
        validation_alias="QA_ALLOW_UNSAFE_TOOLS",
        description="Allow install/uninstall/open-URL tools in plans",
    )
    allowed_packages: Annotated[list[str], NoDecode, BeforeValidator(_comma_list)] = Field(
        default_factory=list,
        validation_alias="QA_ALLOWED_PACKAGES",
        description="Packages a plan may launch besides the ticket's own (comma-separated)",
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
    device_logs: Literal["auto", "off"] = Field(
        default="auto",
        validation_alias="QA_DEVICE_LOGS",
        description="Capture device logs for failing steps when the device server offers mobile_get_device_logs",
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
    jira_writeback_label: str | None = Field(
        default=None,
        pattern=r"^[^\s:]+$",
        validation_alias="JIRA_WRITEBACK_LABEL",
        description="With JIRA_WRITEBACK: label the ticket <this>:<verdict> (e.g. qa-agent:failure)",
    )
    jira_writeback_attach: bool = Field(
        default=False,
        validation_alias="JIRA_WRITEBACK_ATTACH",
        description="With JIRA_WRITEBACK: attach the failing step's screenshot (the server must reach the file)",
    )
    device_pool: str | None = Field(
        default=None, description="Batch runs: lease devices from this in-process pool (set by `qa-agent batch`)"
    )
    batch_isolation: Literal["package", "resource", "none"] = Field(
        default="package",
        validation_alias="QA_BATCH_ISOLATION",
        description="Batch runs that must not overlap: same package or declared resource, declared resource, none",
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

    @field_validator("device_accounts", mode="before")
    @classmethod
    def _accounts(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if value.strip().startswith("{"):
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"DEVICE_ACCOUNTS is not valid JSON ({exc.msg} at char {exc.pos})") from exc
        pairs = [p.strip() for p in value.split(",") if p.strip()]
        bad = [p for p in pairs if "=" not in p or not all(x.strip() for x in p.split("=", 1))]
        if bad:
            raise ValueError(f"DEVICE_ACCOUNTS: expected id=name,id=name or a JSON object, got {bad[0]!r}")
        return {d.strip(): a.strip() for d, a in (p.split("=", 1) for p in pairs)}

    @model_validator(mode="before")
    @classmethod
    def _collect_indexed(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        forced, packages = _indexed_settings(".env")
        data.setdefault("force_devices", forced)
        data.setdefault("driver_packages", packages)
        return data

    @model_validator(mode="after")
    def _embedded_jira_has_tickets(self) -> Context:
        if self.jira_mcp_url is None and not self.tickets_dir.is_dir():
            raise ValueError(
                f"QA_TICKETS_DIR: the tickets folder {self.tickets_dir} does not exist "
                "(the embedded Jira server serves its YAML files; or set JIRA_MCP_URL)"
            )
        return self

    @classmethod
    def model_json_schema(cls, by_alias: bool | None = None, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The run options only, by field name (`approve_plan`, not `APPROVE_PLAN`).

        The LangGraph server keeps only the context keys this schema lists and Studio edits
        them: deployment settings must not appear here.
        """
        schema = super().model_json_schema(False if by_alias is None else by_alias, *args, **kwargs)
        schema["properties"] = {k: v for k, v in schema["properties"].items() if k in RUN_OPTIONS}
        schema.pop("required", None)
        return schema

    @property
    def mobile_mcp_args(self) -> list[str]:
        return list(json.loads(self.mobile_mcp_args_json)) if self.mobile_mcp_args_json else []

    @property
    def embedded_simulator(self) -> bool:
        """No device server configured: the run starts the embedded simulator (QA_SIM_DEVICES phones)."""
        return not (self.mobile_mcp_command or self.mobile_mcp_url)

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


def _readable(exc: ValidationError) -> str:
    problems = "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()
    )
    return f"invalid configuration: {problems}"


def load_context(**overrides: Any) -> Context:
    """Build the context from the environment (in-process, trusted: any field can be overridden);
    raise ConfigError with a readable message."""
    token = _TRUSTED.set(True)
    try:
        return Context(**overrides)
    except ValidationError as exc:
        raise ConfigError(_readable(exc)) from None
    finally:
        _TRUSTED.reset(token)


def context_of(runtime_context: Context | dict[str, Any] | None) -> Context:
    """Nodes call this: the server may hand us None or a plain dict (untrusted: run options only)."""
    if isinstance(runtime_context, Context):
        return runtime_context
    if not runtime_context:
        return load_context()
    try:
        return Context(**runtime_context)
    except ValidationError as exc:
        raise ConfigError(_readable(exc)) from None
