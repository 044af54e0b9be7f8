"""``python -m qa_agent.world.scripted_llm --script FILE [--host H] [--port P] [--api-key K] [--record OUT]``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qa_agent.world.scripted_llm.script import Script
from qa_agent.world.scripted_llm.server import bind_loopback, make_uvicorn, url_host, wait_started
from qa_agent.world.scripted_llm.state import ScriptState

READY_PREFIX = "scripted-llm listening on "


async def serve(script: Script, host: str, port: int, api_key: str | None, record: Path | None) -> None:
    state = ScriptState(script)
    sock = bind_loopback(host, port)
    server = make_uvicorn(state, api_key, handle_signals=True)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await wait_started(server, task)
        sys.stdout.write(f"{READY_PREFIX}http://{url_host(host)}:{sock.getsockname()[1]}/v1\n")
        sys.stdout.flush()
        await task
    finally:
        if not task.done():
            server.should_exit = True
            await task
        sock.close()
        if record is not None:
            entries = [entry.model_dump(mode="json") for entry in state.requests]
            write_json(record, entries)


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m qa_agent.world.scripted_llm",
        description="OpenAI-compatible chat-completions server replaying a scripted list of rules",
    )
    parser.add_argument("--script", type=Path, required=True, help="rules file (JSON or YAML)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port (0 = pick a free one)")
    parser.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY'")
    parser.add_argument("--record", type=Path, default=None, help="write the request log (JSON) on exit")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        script = Script.load(args.script)
    except (OSError, ValueError) as exc:
        print(f"scripted-llm: cannot load {args.script}: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(script, args.host, args.port, args.api_key, args.record))
    except (OSError, ValueError) as exc:
        print(f"scripted-llm: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
