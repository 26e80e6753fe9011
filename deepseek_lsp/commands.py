"""The command-line commands (`deepseek-lsp complete`, `chat`, `balance`, ...).

They use the same code paths as the language server: `complete` goes through the completion
engine, `chat` through the chat module. User errors become `UserError` (one line, exit 2).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from deepseek_lsp.api.errors import DeepSeekError, MissingKeyError
from deepseek_lsp.backend import ApiBackend
from deepseek_lsp.cli import UserError
from deepseek_lsp.config import Settings, env_layer, load_settings

if TYPE_CHECKING:
    from deepseek_lsp.api.client import DeepSeekClient

T = TypeVar("T")


def cli_settings(**overrides: object) -> Settings:
    settings, _ = load_settings([env_layer()])
    return settings.replace(**overrides) if overrides else settings


def _require_key(settings: Settings) -> None:
    if not settings.api_key:
        raise UserError(MissingKeyError().user_message)


def _fail(error: DeepSeekError) -> UserError:
    return UserError(error.user_message)


def parse_location(location: str) -> tuple[Path, int, int]:
    """FILE:LINE:COL, 1-based; the file name itself may contain colons."""
    parts = location.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        raise UserError(f"expected FILE:LINE:COL (1-based), got {location!r}")
    path, line, col = Path(parts[0]), int(parts[1]), int(parts[2])
    if line < 1 or col < 1:
        raise UserError("LINE and COL start at 1")
    return path, line, col


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a directory") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text") from None
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror}") from None


def offset_of(text: str, line: int, col: int) -> int:
    """Offset of a 1-based line and column (in characters); bad positions are user errors."""
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)
    if line > len(starts):
        raise UserError(f"line {line} is past the end of the file ({len(starts)} lines)")
    start = starts[line - 1]
    end = starts[line] - 1 if line < len(starts) else len(text)
    if text[start:end].endswith("\r"):
        end -= 1
    if col - 1 > end - start:
        raise UserError(f"column {col} is past the end of line {line} ({end - start} characters)")
    return start + col - 1


async def complete(args: argparse.Namespace) -> int:
    from deepseek_lsp.completion.engine import CompletionEngine, CompletionQuery
    from deepseek_lsp.completion.language import language_of

    path, line, col = parse_location(args.location)
    text = read_text(path)
    offset = offset_of(text, line, col)
    settings = cli_settings(debounce_ms=0)
    _require_key(settings)
    backend = ApiBackend(lambda: settings)
    messages: list[str] = []
    engine = CompletionEngine(backend, lambda: settings, notify=messages.append)
    try:
        answer = await engine.complete(CompletionQuery(
            uri=path.resolve().as_uri(), version=1, text=text, offset=offset,
            path=str(path), language_id=language_of(str(path)),
        ))
    finally:
        await backend.aclose()
    if messages:
        raise UserError(messages[0])
    if answer is None:
        print("deepseek-lsp: no suggestion at this position", file=sys.stderr)
        return 1
    sys.stdout.write(answer.text + ("\n" if not answer.text.endswith("\n") else ""))
    return 0


async def _ask(call: Callable[[DeepSeekClient], Awaitable[T]]) -> T:
    """One API call with the environment's settings; failures become one-line user errors."""
    settings = cli_settings()
    _require_key(settings)
    backend = ApiBackend(lambda: settings)
    client, _ = backend.session()
    try:
        return await call(client)
    except DeepSeekError as error:
        raise _fail(error) from None
    finally:
        await backend.aclose()


async def balance(_args: argparse.Namespace) -> int:
    print((await _ask(lambda client: client.balance())).describe())
    return 0


async def models(_args: argparse.Namespace) -> int:
    from deepseek_lsp.api.models import pick_chat_model, pick_fim_model

    listed = await _ask(lambda client: client.list_models())
    ids = [m.id for m in listed]
    fim, chat = pick_fim_model(ids), pick_chat_model(ids, reasoning=False)
    for model_id in ids:
        notes = [n for n, m in (("auto FIM", fim), ("auto chat", chat)) if m == model_id]
        print(model_id + (f"  ({', '.join(notes)})" if notes else ""))
    return 0


async def doctor(_args: argparse.Namespace) -> int:
    """Check each link of the chain and say how to fix the first broken one."""
    from deepseek_lsp.api.models import pick_fim_model
    from deepseek_lsp.api.types import FimParams

    settings = cli_settings()
    ok = True

    def report(good: bool, what: str, fix: str = "") -> None:
        nonlocal ok
        ok = ok and good
        print(f"[{'ok' if good else 'FAIL'}] {what}" + (f"\n       fix: {fix}" if fix else ""))

    print(f"deepseek-lsp {__import__('deepseek_lsp').__version__}, API at {settings.base_url}")
    if not settings.api_key:
        report(False, "API key", "export DEEPSEEK_API_KEY=sk-... (create one at "
               "platform.deepseek.com)")
        return 1
    report(True, "API key is set (not shown)")
    backend = ApiBackend(lambda: settings)
    client, resolver = backend.session()
    try:
        try:
            ids = [m.id for m in await client.list_models()]
            report(True, f"API reachable; models: {', '.join(ids) or 'none'}")
        except DeepSeekError as error:
            report(False, "API reachable", error.user_message)
            return 1
        try:
            bal = await client.balance()
            report(bal.is_available, bal.describe(),
                   "" if bal.is_available else "top up at platform.deepseek.com")
        except DeepSeekError as error:
            report(False, "balance", error.user_message)
        model = pick_fim_model(ids)
        if model is None:
            report(False, "a FIM-capable model is listed", "set deepseek.model explicitly")
        else:
            try:
                await client.fim(FimParams(prompt="def add(a, b):\n", suffix=None, max_tokens=4),
                                 model=model, deadline_s=settings.timeout_ms / 1000)
                report(True, f"FIM completions work with {model}")
            except DeepSeekError as error:
                report(False, f"FIM completions with {model}", error.user_message)
        del resolver
    finally:
        await backend.aclose()
    return 0 if ok else 1


async def chat(args: argparse.Namespace) -> int:
    from deepseek_lsp.chat.cli_chat import run_chat

    settings = cli_settings()
    _require_key(settings)
    return await run_chat(args.question, args.file, settings, reasoning=args.reasoning)


async def fake_api(args: argparse.Namespace) -> int:
    import ipaddress

    from deepseek_lsp.simulator import serve

    try:
        loopback = args.host == "localhost" or ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise UserError(f"the simulator listens on loopback only (127.0.0.1, ::1, localhost), "
                        f"not {args.host}")
    try:
        await serve(host=args.host, port=args.port, generation=args.generation,
                    ttft_ms=args.ttft_ms, tokens_per_s=args.tokens_per_s, api_key=args.api_key)
    except OSError as error:
        raise UserError(f"cannot listen on {args.host}:{args.port}: {error.strerror}") from None
    return 0


async def demo(args: argparse.Namespace) -> int:
    from deepseek_lsp.demo import run_demo

    return await run_demo(offline=args.offline)
