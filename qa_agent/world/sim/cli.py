"""``qa-agent sim serve`` / ``python -m qa_agent.world.sim serve``: run the device simulator."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any

from qa_agent.serving import base_url, bind_socket, serve_announced
from qa_agent.world.sim.config import Knobs, SimConfig, parse_vanish
from qa_agent.world.sim.latency import PROFILES
from qa_agent.world.sim.loader import AppModelError, default_apps_dir, load_apps

READY_PREFIX = "qa-sim listening on "


def register(sub: Any) -> None:
    """Add the ``sim`` command (with its ``serve`` sub-command) to ``qa-agent``'s subparsers."""
    sim = sub.add_parser("sim", help="simulated Android devices behind a mobile-mcp 1.0.4 compatible MCP server")
    sim_sub = sim.add_subparsers(dest="sim_command", required=True)
    serve = sim_sub.add_parser("serve", help="serve one shared world of simulated devices")
    add_serve_arguments(serve)
    serve.set_defaults(handler=serve_command)
    add_adb_parser(sim_sub)


def add_adb_parser(sub: Any) -> None:
    """``adb ARGS...``: a fake adb answering from the world at ``$QA_SIM_ATTACH`` (see ``sim/adb.py``)."""
    adb = sub.add_parser(
        "adb", help="behave like adb over the world at $QA_SIM_ATTACH", prefix_chars="+", add_help=False
    )
    adb.add_argument("adb_args", nargs="*")
    adb.set_defaults(handler=adb_command)


def adb_command(args: argparse.Namespace) -> int:
    from qa_agent.world.sim.adb import client_main

    return client_main(list(args.adb_args))


def add_serve_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--devices", type=int, default=4, help="number of simulated devices (default 4)")
    p.add_argument("--apps", type=Path, default=None, help=f"folder of app models (default {default_apps_dir()})")
    p.add_argument("--transport", choices=["stdio", "streamable-http"], default="stdio")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765, help="HTTP port; 0 picks a free one")
    p.add_argument("--seed", type=int, default=0, help="seed of the fault-injection randomness")
    p.add_argument(
        "--profile",
        choices=PROFILES,
        default="fast",
        help="per-call latency of the phones: fast (none) or realistic (a mid-range Android phone; see README)",
    )
    p.add_argument("--latency-ms", type=float, default=0.0, help="added latency of every device tool call")
    p.add_argument("--error-rate", type=float, default=0.0, help="probability of a transient failure per call")
    p.add_argument("--hang-rate", type=float, default=0.0, help="probability that a call hangs")
    p.add_argument("--hang-s", type=float, default=30.0, help="how long an injected hang lasts (seconds)")
    p.add_argument(
        "--vanish",
        action="append",
        default=[],
        metavar="DEVICE_ID:AFTER_N_CALLS",
        help="the device disappears after that many calls (repeatable)",
    )
    p.add_argument(
        "--without-tool",
        action="append",
        default=[],
        metavar="NAME",
        help="neither list nor serve this tool, as an older mobile-mcp (repeatable)",
    )
    p.add_argument(
        "--attach",
        default=os.environ.get("QA_SIM_ATTACH") or None,
        metavar="URL",
        help="stdio only: forward to the world served at URL (env QA_SIM_ATTACH)",
    )


def build_config(args: argparse.Namespace) -> SimConfig:
    knobs = Knobs(
        latency_ms=args.latency_ms,
        profile=args.profile,
        error_rate=args.error_rate,
        hang_rate=args.hang_rate,
        hang_s=args.hang_s,
        vanish=parse_vanish(args.vanish),
    )
    return SimConfig(
        devices=args.devices, apps_dir=args.apps, seed=args.seed, knobs=knobs, without_tools=args.without_tool
    )


def serve_command(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.transport == "stdio" and args.attach:
        from qa_agent.world.sim.proxy import run_stdio_proxy

        asyncio.run(run_stdio_proxy(args.attach))
        return 0
    try:
        config = build_config(args)
        catalog = load_apps(config.apps_dir)
    except (AppModelError, ValueError) as exc:
        print(f"qa-sim: {exc}", file=sys.stderr)
        return 2
    from qa_agent.world.sim.tools import Simulator

    sim = Simulator(config, catalog)
    if args.transport == "stdio":
        asyncio.run(_serve_stdio(sim))
    else:
        asyncio.run(_serve_http(sim, args.host, args.port))
    return 0


async def _serve_stdio(sim: Any) -> None:
    from mcp.server.stdio import stdio_server

    from qa_agent.world.sim.server import build_server

    server = build_server(sim)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


async def _serve_http(sim: Any, host: str, port: int) -> None:
    import uvicorn

    from qa_agent.world.sim.http_app import build_app

    sock = bind_socket(host, port)
    config = uvicorn.Config(build_app(sim), log_level="warning", lifespan="on", access_log=False)
    await serve_announced(uvicorn.Server(config), sock, f"{READY_PREFIX}{base_url(host, sock)}/mcp")


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m qa_agent.world.sim`` (same sub-commands as ``qa-agent sim``)."""
    parser = argparse.ArgumentParser(prog="python -m qa_agent.world.sim", description="qa-agent device simulator")
    sub = parser.add_subparsers(dest="sim_command", required=True)
    serve = sub.add_parser("serve", help="serve one shared world of simulated devices")
    add_serve_arguments(serve)
    serve.set_defaults(handler=serve_command)
    add_adb_parser(sub)
    ns = parser.parse_args(argv)
    code: int = ns.handler(ns)
    return code
