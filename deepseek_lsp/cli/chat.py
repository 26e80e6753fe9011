"""`deepseek-lsp chat "QUESTION" [--file FILE[:START-END]] [--json]`: one answer, streamed.

The same path as the server's `deepseek.chat`: the prompt from `prompts.question_prompt` (the
lines as the selection, the rest of the file as context), the model, thinking mode,
`chatMaxTokens` and streaming from `session.stream_answer`, excluded files refused, secrets
redacted. Reasoning goes to stderr, so stdout holds the answer only; an answer cut at
`chatMaxTokens` says so on stderr. With `--json`, stdout is one JSON object instead: the
whole answer as `deepseek.chat` returns it (content, reasoning, usage, model, finish reason),
for scripts.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from deepseek_lsp.api.backend import ApiBackend
from deepseek_lsp.api.errors import DeepSeekError
from deepseek_lsp.api.types import ChatDelta
from deepseek_lsp.chat.prompts import Excerpt, excerpt_of, question_prompt
from deepseek_lsp.chat.session import Conversation, stream_answer
from deepseek_lsp.cli.common import UserError, read_text, refuse_excluded
from deepseek_lsp.config import Settings
from deepseek_lsp.languages import language_of_path


def parse_file_spec(spec: str) -> tuple[str, tuple[int, int] | None]:
    """FILE or FILE:START-END (1-based, inclusive lines); the name may contain colons."""
    head, sep, tail = spec.rpartition(":")
    if sep and "-" in tail and all(p.isdigit() for p in tail.split("-", 1)):
        start, end = (int(x) for x in tail.split("-", 1))
        return head, (start, end)
    return spec, None


def read_excerpt(spec: str, settings: Settings) -> Excerpt:
    """The lines of FILE[:START-END] as the selection, the rest of the file as context."""
    path, lines = parse_file_spec(spec)
    refuse_excluded(path, settings)
    text = read_text(Path(path))
    start, end = 0, len(text)
    if lines is not None:
        first, last = lines
        all_lines = text.splitlines(keepends=True)
        if not 1 <= first <= last or first > len(all_lines):
            raise UserError(f"lines {first}-{last} are not inside {path} "
                            f"({len(all_lines)} lines)")
        start = sum(len(x) for x in all_lines[: first - 1])
        end = start + sum(len(x) for x in all_lines[first - 1 : last])
    return excerpt_of(text, start, end, path=path, language_id=language_of_path(path),
                      redact_secrets=settings.redact_secrets)


class _Printer:
    """Answer to stdout as it streams; reasoning to stderr, marked."""

    def __init__(self) -> None:
        self.in_reasoning = False

    def __call__(self, delta: ChatDelta) -> None:
        if delta.reasoning_content:
            if not self.in_reasoning:
                sys.stderr.write("[reasoning]\n")
                self.in_reasoning = True
            sys.stderr.write(delta.reasoning_content)
            sys.stderr.flush()
        if delta.content:
            if self.in_reasoning:
                sys.stderr.write("\n[answer]\n")
                sys.stderr.flush()
                self.in_reasoning = False
            sys.stdout.write(delta.content)
            sys.stdout.flush()


async def run_chat(question: str, file: str | None, settings: Settings, *, reasoning: bool,
                   as_json: bool = False) -> int:
    excerpt = read_excerpt(file, settings) if file else None
    messages = Conversation().messages(question_prompt(question, excerpt))
    backend = ApiBackend(lambda: settings)
    try:
        answer = await stream_answer(backend, settings, messages,
                                     reasoning=True if reasoning else None,
                                     on_delta=None if as_json else _Printer())
    except DeepSeekError as error:
        raise UserError(error.user_message) from None
    finally:
        await backend.aclose()
    if as_json:
        sys.stdout.write(json.dumps(answer.to_json(), ensure_ascii=False, indent=2) + "\n")
        return 0
    sys.stdout.write("\n")
    if answer.cut_notice:
        sys.stderr.write(f"deepseek-lsp: {answer.cut_notice}\n")
    return 0
