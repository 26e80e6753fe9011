"""The command line: parse, dispatch, print. The work is done by the modules it calls."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from deepseek_lsp import __version__


class UserError(Exception):
    """A problem the user can fix: printed as one line on stderr, exit code 2."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="deepseek-lsp",
        description="DeepSeek completions, code actions and chat for any LSP editor. "
        "Without a command: serve LSP over stdio.",
    )
    p.add_argument("--version", action="version", version=f"deepseek-lsp {__version__}")
    p.add_argument("--stdio", action="store_true",
                   help="serve LSP over stdio (the default; accepted because clients pass it)")
    p.add_argument("--tcp", metavar="HOST:PORT", help="serve LSP over TCP instead of stdio")
    p.add_argument("--log-file", metavar="PATH", help="write logs to PATH (default: stderr)")
    p.add_argument("--log-level", choices=["error", "warning", "info", "debug"],
                   default="warning")
    sub = p.add_subparsers(dest="command")

    c = sub.add_parser("complete", help="one FIM completion at FILE:LINE:COL (1-based)")
    c.add_argument("location", metavar="FILE:LINE:COL")

    c = sub.add_parser("chat", help="ask a question, streamed to stdout")
    c.add_argument("question")
    c.add_argument("--file", metavar="FILE[:START-END]", help="include this file (or lines)")
    c.add_argument("--reasoning", action="store_true", help="ask for thinking mode")

    sub.add_parser("balance", help="show the account balance")
    sub.add_parser("models", help="list the models the account can use")
    sub.add_parser("doctor", help="check key, base URL, reachability, balance and FIM")

    c = sub.add_parser("fake-api", help="run the offline DeepSeek simulator")
    c.add_argument("--host", default="127.0.0.1")
    c.add_argument("--port", type=int, default=8765)
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
    from deepseek_lsp.logging_setup import setup_logging

    setup_logging(args.log_level, args.log_file)
    if args.command is None:
        return _serve(args)
    from deepseek_lsp import commands

    handlers: dict[str, Callable[[argparse.Namespace], Coroutine[Any, Any, int]]] = {
        "complete": commands.complete,
        "chat": commands.chat,
        "balance": commands.balance,
        "models": commands.models,
        "doctor": commands.doctor,
        "fake-api": commands.fake_api,
        "demo": commands.demo,
    }
    try:
        return asyncio.run(handlers[args.command](args))
    except UserError as error:
        print(f"deepseek-lsp: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _serve(args: argparse.Namespace) -> int:
    from deepseek_lsp import rpc
    from deepseek_lsp.server import server

    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        if not port.isdigit():
            print("deepseek-lsp: --tcp needs HOST:PORT", file=sys.stderr)
            return 2
        return rpc.serve_tcp(server, host or "127.0.0.1", int(port))
    return rpc.serve_stdio(server)


if __name__ == "__main__":
    sys.exit(main())
