"""The command line: parse, dispatch, print. The work is done by the modules it calls.

Every user error ends the same way: one line on stderr, exit code 2 (SPEC §3) — bad
arguments included, which argparse would otherwise answer with a usage block.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn

from deepseek_lsp import __version__
from deepseek_lsp.cli.common import UserError
from deepseek_lsp.config import is_loopback_host

__all__ = ["UserError", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def _port(text: str) -> int:
    if not (text.isascii() and text.isdecimal()) or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="deepseek-lsp",
        description="DeepSeek completions, code actions and chat for any LSP editor. "
        "Without a command: serve LSP over stdio.",
    )
    p.add_argument("--version", action="version", version=f"deepseek-lsp {__version__}")
    p.add_argument("--stdio", action="store_true",
                   help="serve LSP over stdio (the default; accepted because clients pass it)")
    p.add_argument("--tcp", metavar="HOST:PORT",
                   help="serve LSP over TCP instead of stdio (loopback addresses only)")
    p.add_argument("--allow-remote", action="store_true",
                   help="let --tcp listen on a non-loopback address: anyone who can reach it "
                   "can use your DeepSeek account")
    p.add_argument("--log-file", metavar="PATH", help="write logs to PATH (default: stderr)")
    p.add_argument("--log-level", choices=["error", "warning", "info", "debug"],
                   help="default: warning when serving, error for the other commands")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    c = sub.add_parser("complete", help="one FIM completion at FILE:LINE:COL (1-based)")
    c.add_argument("location", metavar="FILE:LINE:COL")
    c.add_argument("--verbose", action="store_true",
                   help="also print, to stderr, the model, the usage and each token of the "
                   "answer with its probability (what minConfidence judges)")

    c = sub.add_parser("chat", help="ask a question, streamed to stdout")
    c.add_argument("question")
    c.add_argument("--file", metavar="FILE[:START-END]", help="include this file (or lines)")
    c.add_argument("--reasoning", action="store_true", help="ask for thinking mode")
    c.add_argument("--json", action="store_true",
                   help="print the whole answer as one JSON object (content, reasoning, usage, "
                   "model, finish reason) instead of streaming its text")

    sub.add_parser("balance", help="show the account balance")
    sub.add_parser("models", help="list the models the account can use")
    sub.add_parser("doctor", help="check key, base URL, reachability, balance and FIM")

    c = sub.add_parser("fake-api", help="run the offline DeepSeek simulator")
    c.add_argument("--host", default="127.0.0.1")
    c.add_argument("--port", type=_port, default=8765)
    c.add_argument("--generation", choices=["v4", "legacy"], default="v4")
    c.add_argument("--ttft-ms", type=int, default=0, help="simulated time to first token")
    c.add_argument("--tokens-per-s", type=float, default=0, help="simulated output speed")
    c.add_argument("--api-key", help="accept only this key (default: any non-empty key)")

    c = sub.add_parser("demo", help="play an editor session against the simulator (or the API)")
    c.add_argument("--offline", action="store_true",
                   help="use the built-in simulator even when DEEPSEEK_API_KEY is set")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        _setup_logging(args)
        if args.command is None:
            return _serve(args)
        return _run_command(args)
    except UserError as error:
        print(f"deepseek-lsp: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _setup_logging(args: argparse.Namespace) -> None:
    from deepseek_lsp.logging_setup import setup_logging

    level = args.log_level or ("warning" if args.command is None else "error")
    try:
        setup_logging(level, args.log_file)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise UserError(f"cannot write the log file {args.log_file}: {reason}") from None


def _run_command(args: argparse.Namespace) -> int:
    from deepseek_lsp.cli import commands

    handlers: dict[str, Callable[[argparse.Namespace], Coroutine[Any, Any, int]]] = {
        "complete": commands.complete,
        "chat": commands.chat,
        "balance": commands.balance,
        "models": commands.models,
        "doctor": commands.doctor,
        "fake-api": commands.fake_api,
        "demo": commands.demo,
    }
    return asyncio.run(handlers[args.command](args))


def tcp_address(value: str, allow_remote: bool) -> tuple[str, int]:
    """HOST:PORT for `--tcp`; a non-loopback host needs `--allow-remote`."""
    host, _, port = value.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not (port.isascii() and port.isdecimal()) or not 0 <= int(port) <= 65535:
        raise UserError(f"--tcp needs HOST:PORT with a port 0-65535, got {value!r}")
    if not is_loopback_host(host) and not allow_remote:
        raise UserError(f"--tcp {value}: the server has no authentication, so it listens on "
                        "loopback addresses only (127.0.0.1, ::1, localhost); add "
                        "--allow-remote to listen on another address")
    return host, int(port)


def _serve(args: argparse.Namespace) -> int:
    if args.tcp:
        host, port = tcp_address(args.tcp, args.allow_remote)
        if not is_loopback_host(host):
            print(f"deepseek-lsp: warning: listening on {host}:{port} without authentication; "
                  "anyone who can reach it can use your DeepSeek account", file=sys.stderr)
    from deepseek_lsp import rpc
    from deepseek_lsp.server import server

    if not args.tcp:
        return rpc.serve_stdio(server)
    try:
        return rpc.serve_tcp(server, host, port)
    except OSError as error:
        raise UserError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


if __name__ == "__main__":
    sys.exit(main())
