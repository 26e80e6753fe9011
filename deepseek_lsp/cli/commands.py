"""The command-line commands (`deepseek-lsp complete`, `chat`, `balance`, ...).

They use the same code paths as the language server: `complete` goes through the completion
engine, `chat` through the chat modules. User errors become `UserError` (one line, exit 2).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from deepseek_lsp import __version__
from deepseek_lsp.api.backend import ApiBackend
from deepseek_lsp.api.errors import DeepSeekError
from deepseek_lsp.cli.common import (
    UserError,
    api_failure,
    cli_settings,
    offset_of,
    parse_location,
    read_text,
    refuse_excluded,
    require_key,
)
from deepseek_lsp.config import is_loopback_host

if TYPE_CHECKING:
    from deepseek_lsp.api.client import DeepSeekClient
    from deepseek_lsp.api.types import FimResult

T = TypeVar("T")


async def complete(args: argparse.Namespace) -> int:
    from deepseek_lsp.completion.engine import CompletionEngine, CompletionQuery
    from deepseek_lsp.languages import language_of_path

    path, line, col = parse_location(args.location)
    settings = cli_settings(debounce_ms=0)
    refuse_excluded(str(path), settings)
    text = read_text(path)
    offset = offset_of(text, line, col)
    require_key(settings)
    backend = ApiBackend(lambda: settings)
    messages: list[str] = []
    engine = CompletionEngine(backend, lambda: settings, notify=messages.append)
    try:
        answer = await engine.complete(CompletionQuery(
            uri=path.resolve().as_uri(), version=1, text=text, offset=offset,
            path=str(path), language_id=language_of_path(str(path)),
        ))
    finally:
        await backend.aclose()
    if messages:
        raise UserError(messages[0])
    if args.verbose:
        _explain(engine.last_result, settings.min_confidence)
    if answer is None:
        print("deepseek-lsp: no suggestion at this position", file=sys.stderr)
        return 1
    sys.stdout.write(answer.text + ("\n" if not answer.text.endswith("\n") else ""))
    return 0


def _explain(result: FimResult | None, threshold: float) -> None:
    """What `complete --verbose` adds on stderr: the raw answer and its token probabilities."""
    from deepseek_lsp.completion.confidence import describe_tokens

    if result is None:
        print("deepseek-lsp: no upstream answer (cached, or not asked)", file=sys.stderr)
        return
    usage = result.usage
    print(f"deepseek-lsp: model {result.model or '?'}, finish {result.finish_reason}, "
          f"{usage.prompt_tokens} prompt tokens ({usage.prompt_cache_hit_tokens} from the "
          f"cache), {usage.completion_tokens} completion tokens; minConfidence "
          f"{threshold * 100:g} %; raw answer {result.text!r}", file=sys.stderr)
    for line in describe_tokens(result.logprobs, threshold):
        print("  " + line, file=sys.stderr)


async def _ask(call: Callable[[DeepSeekClient], Awaitable[T]]) -> T:
    """One API call with the environment's settings; failures become one-line user errors."""
    settings = cli_settings()
    require_key(settings)
    backend = ApiBackend(lambda: settings)
    try:
        client, _ = backend.session()
        return await call(client)
    except DeepSeekError as error:
        raise api_failure(error) from None
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

    print(f"deepseek-lsp {__version__}, API at {settings.base_url}")
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
    from deepseek_lsp.cli.chat import run_chat

    settings = cli_settings()
    require_key(settings)
    return await run_chat(args.question, args.file, settings, reasoning=args.reasoning,
                          as_json=args.json)


async def fake_api(args: argparse.Namespace) -> int:
    from deepseek_lsp.simulator import serve

    if not is_loopback_host(args.host):
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
