"""Who may use the LangGraph server and what a client may send it (`auth` in langgraph.json).

- With QA_SERVER_TOKEN set, every request needs `Authorization: Bearer <token>`.
- Without it, the server serves loopback only: `langgraph dev` must listen on a loopback host
  (it records `--host` in LANGGRAPH_API_URL; a tunnel or a container does not qualify), and each
  request must come from loopback and name a loopback host (no DNS rebinding).
- A browser request (it carries `Origin`) is accepted only from the server's own origin or one
  its CORS settings allow (none by default, see allowed_origins), and request bodies must be
  JSON: a web page open in the developer's browser cannot start runs (CORS alone would not stop
  a simple cross-site POST from being executed).
- A run or an assistant may carry run options only in its context (graph.context.RUN_OPTIONS);
  a run's input only the InputState keys; a command only `resume`.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from typing import Any
from urllib.parse import urlsplit

from langgraph_sdk import Auth

from graph.context import RUN_OPTIONS, ConfigError, context_of, refusal, refused_options
from graph.state import InputState

JSON_TYPES = ("application/json",)
INPUT_KEYS = frozenset(InputState.__required_keys__ | InputState.__optional_keys__)

auth = Auth()


def _hostname(authority: str) -> str | None:
    try:
        return urlsplit(f"//{authority}").hostname
    except ValueError:  # a malformed Host header, e.g. "[::1"
        return None


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refuse(status: int, detail: str) -> Auth.exceptions.HTTPException:
    return Auth.exceptions.HTTPException(status_code=status, detail=detail)


def allowed_origins() -> set[str]:
    """The origins the server's CORS answers allow: `http.cors.allow_origins` of langgraph.json (none),
    or the CORS_CONFIG environment variable that replaces it. One list for both; `*` is not honoured."""
    from langgraph_api import config  # the server's own settings: this module only runs inside it

    cors = getattr(config, "CORS_CONFIG", None) or {}
    return {str(origin).rstrip("/") for origin in cors.get("allow_origins") or () if origin != "*"}


def _check_origin(scope: dict[str, Any], headers: dict[str, str]) -> None:
    origin = headers.get("origin")
    if origin is None:
        return  # not a browser (SDK, curl): the token or loopback rules decide
    own = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"
    if origin.rstrip("/") not in allowed_origins() | {own}:
        raise _refuse(403, f"cross-origin request from {origin[:100]} refused: list it in CORS_CONFIG's allow_origins")


def _check_body(method: str, headers: dict[str, str]) -> None:
    if method not in ("POST", "PUT", "PATCH"):
        return
    has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if has_body and content_type not in JSON_TYPES:
        raise _refuse(403, f"request body of type {content_type or 'none'!r} refused: send application/json")


_CRON_READS = ("/search", "/count")


def _check_no_crons(scope: dict[str, Any], method: str) -> None:
    """langgraph-api (0.16) stores a cron's run payload without calling the auth handlers, so a cron
    could carry what a run may not: scheduled runs are refused (searching them stays open)."""
    path = str(scope.get("path", "")).rstrip("/")
    if method != "GET" and "/crons" in path and not path.endswith(_CRON_READS):
        raise _refuse(403, "scheduled runs (crons) are not offered by this server: start runs from your scheduler")


def _check_loopback(scope: dict[str, Any], headers: dict[str, str]) -> None:
    listening = urlsplit(os.environ.get("LANGGRAPH_API_URL", "")).hostname
    if not _is_loopback(listening):
        raise _refuse(
            403,
            f"this server listens beyond loopback ({listening or 'unknown address'}) without QA_SERVER_TOKEN: "
            "set QA_SERVER_TOKEN, or run `langgraph dev` on 127.0.0.1",
        )
    client = (scope.get("client") or ("", 0))[0]
    host = _hostname(headers.get("host", ""))
    if not (_is_loopback(client) and _is_loopback(host)):
        raise _refuse(403, "without QA_SERVER_TOKEN only loopback clients addressing a loopback host are served")


def _check_token(token: str, authorization: str | None) -> None:
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise _refuse(401, "missing bearer token: send Authorization: Bearer <QA_SERVER_TOKEN>")
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise _refuse(401, "invalid bearer token")


@auth.authenticate
async def authenticate(scope: dict[str, Any], method: str, authorization: str | None) -> str:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    _check_origin(scope, headers)
    _check_body(method, headers)
    _check_no_crons(scope, method)
    token = os.environ.get("QA_SERVER_TOKEN", "")
    if token:
        _check_token(token, authorization)
        return "qa-client"
    _check_loopback(scope, headers)
    return "qa-loopback-client"


def _context_problems(where: str, context: Any) -> list[str]:
    """Why `context` cannot be a run's context: a key that is not a run option, or an invalid value."""
    if not context:
        return []
    if not isinstance(context, dict):
        return [f"{where} must be an object of run options ({', '.join(RUN_OPTIONS)})"]
    if refused := refused_options(context):
        return [refusal(refused, where)]
    try:
        context_of(context)
    except ConfigError as exc:
        return [f"{where}: {exc}"]
    return []


def _run_problems(kwargs: dict[str, Any]) -> list[str]:
    """What a run's payload may not carry: context keys that are not run options (the server has
    already merged `config.configurable` into `context`), input keys the graph does not take, command
    fields other than `resume`."""
    problems = _context_problems("context", kwargs.get("context"))
    run_input = kwargs.get("input")
    if isinstance(run_input, dict) and (extra := sorted(set(run_input) - INPUT_KEYS)):
        problems.append(f"input field(s) {', '.join(extra)} refused: the input takes {', '.join(sorted(INPUT_KEYS))}")
    command = kwargs.get("command")
    if isinstance(command, dict) and (extra := sorted(k for k, v in command.items() if k != "resume" and v)):
        problems.append(f"command field(s) {', '.join(extra)} refused: a command may only resume a run")
    return problems


@auth.on.threads.create_run
async def run_options_only(ctx: Auth.types.AuthContext, value: Auth.types.RunsCreate) -> None:
    if problems := _run_problems(value.get("kwargs") or {}):
        raise _refuse(403, "run refused: " + "; ".join(problems))


async def assistant_run_options_only(
    ctx: Auth.types.AuthContext, value: Auth.types.AssistantsCreate | Auth.types.AssistantsUpdate
) -> None:
    """An assistant's context and configurable are merged into every run made with it."""
    configurable = (value.get("config") or {}).get("configurable")
    problems = _context_problems("context", value.get("context"))
    problems += _context_problems("config.configurable", configurable)
    if problems:
        raise _refuse(403, "assistant refused: " + "; ".join(problems))


auth.on.assistants.create(assistant_run_options_only)
auth.on.assistants.update(assistant_run_options_only)


@auth.on.threads.update
async def no_state_writes(ctx: Auth.types.AuthContext, value: Auth.types.ThreadsUpdate) -> None:
    """A run's state is the agent's: a client that wrote it could fake a verdict or move the report.

    Thread metadata may change (the server sends `metadata` then); a state write (`POST
    /threads/{id}/state`, Studio's state editing) carries none and is refused. A paused run is
    continued with `command={"resume": ...}`."""
    if "metadata" not in value:
        raise _refuse(403, "writing a run's state is refused: resume a paused run with command={'resume': ...}")
