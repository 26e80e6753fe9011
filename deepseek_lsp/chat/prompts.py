"""Prompts for chat about code: what the model is told, in one place.

Every request is a system message plus user messages laid out the same way: the task first,
then the selected code as the first fenced block, then the code before and after it for
context. The selection comes first so that "the code block" in the instruction can only mean
the selection; the surrounding code is budgeted in characters and cut at line boundaries.

What each code action asks for is in the table of `chat/actions.py`; edit kinds ask for
exactly one fenced block holding the whole replacement of the selection (`EDIT_FORMAT`). Asked
through chat prefix completion, the answer starts inside that block and stops at its end
(`session.stream_edit`), so it is the code alone; asked plainly, `chat/extract.py` takes the
code out of the Markdown answer. Excerpts are redacted here, in `excerpt_of`, for the
server and the command line alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deepseek_lsp.completion.tokens import chars_for_tokens
from deepseek_lsp.languages import fence_tag
from deepseek_lsp.privacy import redact_pieces

#: The whole file is sent as context when it is at most this long; otherwise windows of
#: `BEFORE_CHARS` / `AFTER_CHARS` around the selection (≈ 2,000 and 800 tokens of code).
WHOLE_FILE_CHARS = chars_for_tokens(3_000)
BEFORE_CHARS = chars_for_tokens(2_000)
AFTER_CHARS = chars_for_tokens(800)

#: A question about a whole file sends at most this much of it (≈ 12,000 tokens).
FILE_QUESTION_CHARS = chars_for_tokens(12_000)
#: The largest selection sent: answers must fit the model's context, and an edit's answer
#: repeats the whole selection within the output limit (longer ones would come back cut off).
MAX_SELECTION_CHARS = chars_for_tokens(32_000)
MAX_EDIT_CHARS = chars_for_tokens(6_000)

SYSTEM_PROMPT = (
    "You are DeepSeek, a programming assistant inside the user's editor. Answer precisely and "
    "briefly, in Markdown. When you show code, use fenced code blocks with the language."
)

EDIT_FORMAT = (
    "Reply with exactly one fenced code block that holds the complete new version of the "
    "selected code: only the selected lines, not the code around them, with the same "
    "indentation, ready to replace the selection as it is. After the block, say in at most "
    "three short bullet points what you changed."
)

#: The question asked when "Ask about the selection" runs without one (the editor glue is
#: expected to prompt for it; a bare client still gets a useful answer).
DEFAULT_QUESTION = "What does the selected code do, and is anything in it likely to go wrong?"


@dataclass(frozen=True)
class Excerpt:
    """A selection and the code around it, as the prompt shows them."""

    path: str
    language_id: str
    selection: str
    before: str  # whole lines (plus the selection's first line up to it), possibly cut
    after: str
    start_line: int  # 1-based, of the selection's first line
    end_line: int  # 1-based, of its last line
    before_cut: bool = False  # code before `before` was left out
    after_cut: bool = False


def excerpt_of(
    text: str,
    start: int,
    end: int,
    *,
    path: str,
    language_id: str,
    before_chars: int = BEFORE_CHARS,
    after_chars: int = AFTER_CHARS,
    whole_file_chars: int = WHOLE_FILE_CHARS,
    redact_secrets: bool = False,
) -> Excerpt:
    """The selection `text[start:end]` with context windows cut at line boundaries; with
    `redact_secrets`, likely secrets in all three parts are replaced, each judged in the whole
    `text` (`privacy.redact_pieces`: a selection inside a key block goes too)."""
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    start, end = min(start, end), max(start, end)
    selection = text[start:end]
    if len(text) <= whole_file_chars:
        before_from, after_to = 0, len(text)
    else:
        before_from = _line_start_at_or_after(text, max(0, start - before_chars), start)
        after_to = _line_end_at_or_before(text, min(len(text), end + after_chars), end)
    start_line = text.count("\n", 0, start) + 1
    last = end - 1 if end > start and text[end - 1] == "\n" else end
    end_line = start_line + text.count("\n", start, max(start, last))
    if redact_secrets:
        before, selection, after = redact_pieces(text, (before_from, start, end, after_to))
    else:
        before, after = text[before_from:start], text[end:after_to]
    return Excerpt(
        path=path, language_id=language_id, selection=selection,
        before=before, after=after,
        start_line=start_line, end_line=end_line,
        before_cut=before_from > 0, after_cut=after_to < len(text),
    )


def file_selection_end(text: str, limit: int = FILE_QUESTION_CHARS) -> int:
    """Where a whole-file selection ends: the file's end, or the last line end within `limit`."""
    if len(text) <= limit:
        return len(text)
    return _line_end_at_or_before(text, limit, 0) or limit


def _line_start_at_or_after(text: str, offset: int, limit: int) -> int:
    """The first line start at or after `offset` (never past `limit`)."""
    if offset == 0 or text[offset - 1] == "\n":
        return offset
    nl = text.find("\n", offset, limit)
    return limit if nl < 0 else nl + 1


def _line_end_at_or_before(text: str, offset: int, limit: int) -> int:
    """The end (after its newline) of the last whole line ending at or before `offset`."""
    if offset == len(text) or text[offset - 1 : offset] == "\n":
        return offset
    nl = text.rfind("\n", limit, offset)
    return limit if nl < 0 else nl + 1


def code_fence(code: str) -> str:
    """A backtick fence longer than any backtick run in `code` (at least three)."""
    longest, run = 0, 0
    for ch in code:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def fenced(code: str, language_id: str | None) -> str:
    """`code` in a fence longer than any backtick run inside it."""
    fence = code_fence(code)
    body = code if code.endswith("\n") else code + "\n"
    return f"{fence}{fence_tag(language_id)}\n{body}{fence}"


def describe_excerpt(excerpt: Excerpt) -> str:
    """The selection and its surroundings as Markdown (the selection's block comes first)."""
    lines = (f"line {excerpt.start_line}" if excerpt.start_line == excerpt.end_line
             else f"lines {excerpt.start_line}-{excerpt.end_line}")
    parts = [
        f"Selected code from `{excerpt.path}` ({excerpt.language_id}, {lines}):",
        fenced(excerpt.selection, excerpt.language_id),
    ]
    if excerpt.before.strip():
        head = "The code before it" + (" (the start of the file is left out)"
                                         if excerpt.before_cut else "") + ":"
        parts += [head, fenced(excerpt.before, excerpt.language_id)]
    if excerpt.after.strip():
        head = "The code after it" + (" (the rest of the file is left out)"
                                        if excerpt.after_cut else "") + ":"
        parts += [head, fenced(excerpt.after, excerpt.language_id)]
    return "\n\n".join(parts)


def question_prompt(question: str, excerpt: Excerpt | None = None) -> str:
    """The user message of a free question, optionally about a selection."""
    question = question.strip() or DEFAULT_QUESTION
    if excerpt is None:
        return question
    return f"{question}\n\n{describe_excerpt(excerpt)}"


def system_message() -> dict[str, Any]:
    return {"role": "system", "content": SYSTEM_PROMPT}


def user_message(content: str) -> dict[str, Any]:
    return {"role": "user", "content": content}
