"""Prompts for chat about code: what the model is told, in one place.

Every request is a system message plus user messages laid out the same way: the task first,
then the selected code as the first fenced block, then the code before and after it for
context. The selection comes first so that "the code block" in the instruction can only mean
the selection; the surrounding code is budgeted in characters and cut at line boundaries.

Edit kinds (`refactor`, `document`, `fix`) ask for exactly one fenced block holding the whole
replacement of the selection; `chat/extract.py` takes it out of the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from deepseek_lsp.completion.tokens import chars_for_tokens

ActionKind = Literal["explain", "refactor", "document", "tests", "fix"]

#: Kinds whose answer replaces the selection (through a version-guarded `workspace/applyEdit`).
EDIT_KINDS: frozenset[str] = frozenset({"refactor", "document", "fix"})

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

#: What each kind asks for. Kept free of each other's key words ("fix", "tests", "document",
#: "improve", "explain"), so that the task is unambiguous to the model and to the simulator.
TASKS: dict[str, str] = {
    "explain": (
        "Explain the selected code: what it is for, how it works step by step, and anything "
        "surprising or risky in it. Be concise."
    ),
    "refactor": (
        "Improve the selected code: make it clearer, simpler and more idiomatic without "
        "changing its behaviour or its public names. " + EDIT_FORMAT
    ),
    "document": (
        "Add documentation to the selected code: a docstring or doc comment in the usual style "
        "of the language for every function, class and method in it that lacks one, and a "
        "short comment where the logic is not obvious. Do not change the code itself. "
        + EDIT_FORMAT
    ),
    "tests": (
        "Write unit tests for the selected code with the test framework usual for this "
        "language and project. Cover the normal cases and the edge cases. Reply with one "
        "fenced code block holding a complete test file, then one line saying where to put it."
    ),
    "fix": "Fix the problem in the selected code. " + EDIT_FORMAT,
}

#: The question asked when "Ask about the selection" runs without one (the editor glue is
#: expected to prompt for it; a bare client still gets a useful answer).
DEFAULT_QUESTION = "What does the selected code do, and is anything in it likely to go wrong?"

_FENCE_TAGS = {
    "javascriptreact": "jsx", "typescriptreact": "tsx", "shellscript": "bash",
    "plaintext": "text", "csharp": "csharp", "objective-c": "objc", "dockercompose": "yaml",
}


@dataclass(frozen=True)
class Diagnostic:
    """The part of an LSP diagnostic a fix prompt needs."""

    message: str
    line: int  # 1-based
    source: str | None = None
    code: str | None = None

    def describe(self) -> str:
        origin = " ".join(x for x in (self.source, f"[{self.code}]" if self.code else None) if x)
        return f"line {self.line}: {self.message.strip()}" + (f" ({origin})" if origin else "")


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
) -> Excerpt:
    """The selection `text[start:end]` with context windows cut at line boundaries."""
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
    return Excerpt(
        path=path, language_id=language_id, selection=selection,
        before=text[before_from:start], after=text[end:after_to],
        start_line=start_line, end_line=end_line,
        before_cut=before_from > 0, after_cut=after_to < len(text),
    )


def selection_too_large(kind: str, length: int) -> str | None:
    """Why a selection of `length` characters is too large for `kind`, or None."""
    limit = MAX_EDIT_CHARS if kind in EDIT_KINDS else MAX_SELECTION_CHARS
    if length <= limit:
        return None
    what = "an edit" if kind in EDIT_KINDS else "a question"
    return (f"the selection is too large for {what} ({length:,} characters, at most "
            f"{limit:,}); select less code")


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


def fence_tag(language_id: str | None) -> str:
    """The Markdown info string for an LSP language id."""
    if not language_id:
        return ""
    return _FENCE_TAGS.get(language_id, language_id)


def fenced(code: str, language_id: str | None) -> str:
    """`code` in a fence longer than any backtick run inside it."""
    longest, run = 0, 0
    for ch in code:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
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


def action_prompt(
    kind: ActionKind, excerpt: Excerpt, diagnostic: Diagnostic | None = None
) -> str:
    """The user message of a code action: the task, then the code."""
    task = TASKS[kind]
    if kind == "fix":
        problem = (f"The editor reports at {diagnostic.describe()}." if diagnostic
                   else "Find the most likely mistake.")
        task = f"{problem} {task}"
    return f"{task}\n\n{describe_excerpt(excerpt)}"


def question_prompt(question: str, excerpt: Excerpt | None = None) -> str:
    """The user message of a free question, optionally about a selection."""
    question = question.strip() or DEFAULT_QUESTION
    if excerpt is None:
        return question
    return f"{question}\n\n{describe_excerpt(excerpt)}"


def action_messages(
    kind: ActionKind, excerpt: Excerpt, diagnostic: Diagnostic | None = None
) -> list[dict[str, Any]]:
    """A one-shot request for a code action (edit kinds do not join the history)."""
    return [system_message(), user_message(action_prompt(kind, excerpt, diagnostic))]


def system_message() -> dict[str, Any]:
    return {"role": "system", "content": SYSTEM_PROMPT}


def user_message(content: str) -> dict[str, Any]:
    return {"role": "user", "content": content}
