"""`deepseek-lsp chat "QUESTION" [--file FILE[:START-END]]`: one answer, streamed to stdout."""

from __future__ import annotations

import sys
from pathlib import Path

from deepseek_lsp.api.errors import DeepSeekError
from deepseek_lsp.api.models import uses_thinking_flag
from deepseek_lsp.backend import ApiBackend
from deepseek_lsp.chat.prompts import question_messages
from deepseek_lsp.cli import UserError
from deepseek_lsp.completion.language import language_of
from deepseek_lsp.config import Settings


def read_excerpt(spec: str) -> tuple[str, str]:
    """FILE or FILE:START-END (1-based, inclusive lines) → (path, text)."""
    from deepseek_lsp.commands import read_text

    path, lines = spec, None
    head, sep, tail = spec.rpartition(":")
    if sep and "-" in tail and all(p.isdigit() for p in tail.split("-", 1)):
        path, lines = head, tail
    text = read_text(Path(path))
    if lines:
        start, end = (int(x) for x in lines.split("-", 1))
        all_lines = text.splitlines(keepends=True)
        if not 1 <= start <= end or start > len(all_lines):
            raise UserError(f"lines {lines} are not inside {path} ({len(all_lines)} lines)")
        text = "".join(all_lines[start - 1 : end])
    return path, text


async def run_chat(question: str, file: str | None, settings: Settings, *, reasoning: bool) -> int:
    path, code = read_excerpt(file) if file else (None, None)
    messages = question_messages(
        question, path=path, language_id=language_of(path) if path else None, code=code
    )
    backend = ApiBackend(lambda: settings)
    client, resolver = backend.session()
    want_reasoning = reasoning or settings.chat_reasoning
    try:
        model = await resolver.chat_model(settings.chat_model, want_reasoning)
        thinking = want_reasoning if uses_thinking_flag(model) else None
        async with client.chat_stream(messages, model=model, deadline_s=300,
                                      thinking=thinking) as stream:
            in_reasoning = False
            async for delta in stream:
                if delta.reasoning_content:
                    if not in_reasoning:
                        sys.stderr.write("[reasoning]\n")
                        in_reasoning = True
                    sys.stderr.write(delta.reasoning_content)
                    sys.stderr.flush()
                if delta.content:
                    if in_reasoning:
                        sys.stderr.write("\n[answer]\n")
                        in_reasoning = False
                    sys.stdout.write(delta.content)
                    sys.stdout.flush()
        sys.stdout.write("\n")
    except DeepSeekError as error:
        raise UserError(error.user_message) from None
    finally:
        await backend.aclose()
    return 0
