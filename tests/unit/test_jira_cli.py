"""`qa-agent jira serve` argument parsing and the process-helper descriptors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

from qa_agent.world.jira_server import cli
from qa_agent.world.jira_server.process import DEFAULT_TICKETS_DIR, serve_command, stdio_server_params


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="qa-agent")
    cli.register(root.add_subparsers(dest="command", required=True))
    return root


def test_defaults() -> None:
    args = parser().parse_args(["jira", "serve"])
    assert args.handler is cli.serve
    assert (args.host, args.port, args.transport) == ("127.0.0.1", 9000, "streamable-http")
    assert args.tickets == DEFAULT_TICKETS_DIR


def test_options() -> None:
    args = parser().parse_args(
        ["jira", "serve", "--tickets", "/x", "--host", "0.0.0.0", "--port", "0", "--transport", "stdio"]
    )
    assert (args.tickets, args.host, args.port, args.transport) == (Path("/x"), "0.0.0.0", 0, "stdio")


@pytest.mark.parametrize(
    "argv", [["jira"], ["jira", "serve", "--port", "70000"], ["jira", "serve", "--transport", "sse"]]
)
def test_rejects_bad_usage(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(argv)


def test_registered_in_main_cli() -> None:
    from qa_agent.cli import build_parser

    args = build_parser().parse_args(["jira", "serve", "--port", "0"])
    assert args.handler is cli.serve


def test_missing_tickets_dir_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = parser().parse_args(["jira", "serve", "--port", "0", "--tickets", str(tmp_path / "none")])
    assert args.handler(args) == 2
    assert "does not exist" in capsys.readouterr().err


def test_default_tickets_dir_is_the_repo_examples() -> None:
    assert DEFAULT_TICKETS_DIR.is_dir()
    assert (DEFAULT_TICKETS_DIR / "PTT-1.yaml").is_file()


def test_stdio_params() -> None:
    params = stdio_server_params(Path("tickets"))
    assert params.command == sys.executable
    assert params.args[:4] == ["-m", "qa_agent.world.jira_server", "serve", "--transport"]
    assert params.args[4] == "stdio"
    assert Path(params.args[-1]).is_absolute()
    assert serve_command(Path("/t"), transport="streamable-http", port=0)[-4:] == [
        "--port",
        "0",
        "--tickets",
        "/t",
    ]
