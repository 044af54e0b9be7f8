"""The client half of the fake ``adb``: ``adb ARGS`` answered by the world at ``$QA_SIM_ATTACH``.

mobilecli runs adb about ten times per screen listing, so one call must cost what a real adb round
trip does (tens of milliseconds), not a Python start with asyncio and urllib: this file imports only a
few small stdlib modules and nothing of the project, so the fake SDK's ``adb`` runs it as a plain script
(``python -S -I adb_client.py``). It posts ``{"argv": ARGS}`` to ``$QA_SIM_ATTACH/sim/adb`` over one
HTTP/1.0 loopback request and replays the answer (stdout bytes, stderr text, exit code).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import sys

ENV_ATTACH = "QA_SIM_ATTACH"
ENV_LOG = "QA_FAKE_ADB_LOG"  # optional: append every argv as a JSON line (debugging aid)
CLIENT_TIMEOUT_S = 120.0


def _post(url: str, body: bytes) -> bytes:
    """POST ``body`` to an ``http://host:port/path`` URL; the response body (HTTP/1.0: read to EOF)."""
    rest = url.removeprefix("http://")
    if rest == url:
        raise OSError(f"only http:// URLs are served (got {url!r})")
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.rpartition(":")
    request = (
        f"POST /{path} HTTP/1.0\r\nHost: {hostport}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port or 80)), CLIENT_TIMEOUT_S) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    head, _, payload = b"".join(chunks).partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split()
    if len(status) < 2 or status[1] != b"200":
        raise OSError(f"HTTP {b' '.join(status[1:]).decode(errors='replace') or 'answer malformed'}")
    return payload


def client_main(argv: list[str] | None = None) -> int:
    """Behave like ``adb ARGV`` by asking the world at ``$QA_SIM_ATTACH``."""
    args = list(sys.argv[1:] if argv is None else argv)
    log = os.environ.get(ENV_LOG)
    if log:
        try:
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(args) + "\n")
        except OSError:
            pass
    url = os.environ.get(ENV_ATTACH, "").strip()
    if not url:
        sys.stderr.write(f"adb: {ENV_ATTACH} is not set (the URL of a running qa-sim world)\n")
        return 1
    endpoint = url.removesuffix("/").removesuffix("/mcp").rstrip("/") + "/sim/adb"
    try:
        answer = json.loads(_post(endpoint, json.dumps({"argv": args}).encode()))
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"adb: cannot reach the simulator at {endpoint}: {exc}\n")
        return 1
    out = sys.stdout.buffer
    out.write(base64.b64decode(answer.get("stdout", "")))
    out.flush()
    err = answer.get("stderr") or ""
    if err:
        sys.stderr.write(err)
        sys.stderr.flush()
    return int(answer.get("code", 0))


if __name__ == "__main__":
    sys.exit(client_main())
