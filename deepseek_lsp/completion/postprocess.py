"""From a raw FIM answer to the suggestion an editor shows.

The model fills the hole between the prompt and the suffix, but it often over-fills it: it
repeats the closing `)` the editor already auto-inserted, regenerates the `return` line that
follows, runs past the end of the block, re-indents a line the cursor already indented, or adds
blank lines. Each of those habits has one small step here, and `postprocess` runs them in
order. Everything is pure and bounded by the size of the answer and of the context windows.

A `Suggestion` is "insert `text` at the cursor, replacing the first `replace_suffix_chars`
characters after the cursor on its line": replacing an auto-closed tail such as `")` is how a
completion that ends with `")` is shown without duplicating the closers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["single", "multi"]

OPEN_TO_CLOSE = {"(": ")", "[": "]", "{": "}"}
CLOSE_TO_OPEN = {v: k for k, v in OPEN_TO_CLOSE.items()}
#: What may sit right of the cursor and still be replaced or kept as an auto-closed tail.
TAIL_CLOSERS = frozenset(")]}>\"'`;,")
TAB_WIDTH = 4
_DEFAULT_INDENT_UNIT = 4
_MAX_REPLACED = 200  # longest tail considered for replacement (lines of 4,000 closers exist)
_REPEAT_LOOKAHEAD = 8  # non-blank suffix lines compared with the completion's last lines
_STYLE_LINES = 40  # lines above the cursor inspected for tabs-or-spaces
_PREVIOUS_LINE_OPENS_BLOCK = re.compile(r"(?:[:{(\[]|=>|->|\bdo|\bthen|\belse)\s*$")


@dataclass(frozen=True)
class PostprocessContext:
    """What post-processing needs to know about the cursor's surroundings (all bounded)."""

    mode: Mode
    line_prefix: str  # cursor line before the cursor (at most the prefix window)
    line_suffix: str  # cursor line after the cursor, without the line ending
    suffix_window: str  # text after the cursor as sent (unredacted), for repeats and closers
    text_before: str = ""  # a few complete lines above the cursor line, for indentation style
    eol: str = "\n"
    line_comment: str | None = "#"
    quotes: str = "\"'"
    item_starts: tuple[str, ...] = ()  # how a new top-level item's line begins (`def `)


@dataclass(frozen=True)
class Suggestion:
    """Insert `text` at the cursor, replacing `replace_suffix_chars` characters after it."""

    text: str
    replace_suffix_chars: int = 0


# ---------------------------------------------------------------------------------------------
# Small text helpers


def indent_of(line: str) -> str:
    """The leading spaces and tabs of `line`."""
    return line[: len(line) - len(line.lstrip(" \t"))]


def indent_width(line: str) -> int:
    """Visual width of a line's indentation (tabs count `TAB_WIDTH`)."""
    return len(indent_of(line).expandtabs(TAB_WIDTH))


def _squash(text: str) -> str:
    """`text` without any whitespace: compares code while ignoring layout."""
    return "".join(text.split())


def only_tail_closers(text: str) -> bool:
    """Only closing brackets, quotes, `>`, `;`, `,` and whitespace (an auto-closed tail)."""
    return all(c in TAIL_CLOSERS or c.isspace() for c in text)


def _following_lines(ctx: PostprocessContext) -> list[str]:
    """The lines after the cursor line, as far as the suffix window reaches."""
    _, newline, rest = ctx.suffix_window.partition("\n")
    if not newline:
        return []
    return [line.rstrip("\r") for line in rest.split("\n")]


def _cursor_line_is_blank(ctx: PostprocessContext) -> bool:
    return not ctx.line_prefix.strip() and not ctx.line_suffix.strip()


# ---------------------------------------------------------------------------------------------
# Bracket and string bookkeeping


@dataclass
class _Scan:
    """Bracket/string state while reading code left to right.

    `consumed` lists the closers (and the closing quote of a string opened before the text)
    that close something opened *before* the scanned text; `consumed_at` holds their indices in
    the text (-1 for chars that came from the line suffix).
    """

    stack: list[str] = field(default_factory=list)
    consumed: list[str] = field(default_factory=list)
    consumed_at: list[int] = field(default_factory=list)
    string: str | None = None
    string_is_outer: bool = False
    comment: bool = False
    broken: bool = False

    def copy(self) -> _Scan:
        return _Scan(list(self.stack), list(self.consumed), list(self.consumed_at),
                     self.string, self.string_is_outer, self.comment, self.broken)

    def balance(self) -> tuple[tuple[str, ...], str | None, bool, bool]:
        """What is still open at the end, and whether a closer mismatched."""
        return tuple(self.stack), self.string, self.string_is_outer, self.broken


def _scan(text: str, state: _Scan, ctx: PostprocessContext, *, track: bool = True) -> _Scan:
    """Read `text` from `state`; strings and line comments hide their brackets."""
    st = state.copy()
    comment = ctx.line_comment
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if st.comment:
            st.comment = c != "\n"
        elif st.string:
            if c == "\\":
                i += 1
            elif c == st.string:
                if st.string_is_outer:
                    st.consumed.append(c)
                    st.consumed_at.append(i if track else -1)
                st.string, st.string_is_outer = None, False
            elif c == "\n" and st.string != "`":
                # An unterminated one-line string (or an apostrophe in prose) must not swallow
                # the rest of a multi-line completion.
                st.string, st.string_is_outer = None, False
        elif comment and text.startswith(comment, i):
            st.comment = True
        elif c in ctx.quotes:
            st.string, st.string_is_outer = c, False
        elif c in OPEN_TO_CLOSE:
            st.stack.append(c)
        elif c in CLOSE_TO_OPEN:
            if not st.stack:
                st.consumed.append(c)
                st.consumed_at.append(i if track else -1)
            elif st.stack[-1] == CLOSE_TO_OPEN[c]:
                st.stack.pop()
            else:
                st.broken = True
        i += 1
    return st


def _cursor_state(ctx: PostprocessContext) -> _Scan:
    """The state at the cursor as far as the line before it tells: inside a string? a comment?"""
    seen = _scan(ctx.line_prefix, _Scan(), ctx)
    return _Scan(string=seen.string, string_is_outer=seen.string is not None,
                 comment=seen.comment)


def _supplies(squashed_text: str, removed: str) -> bool:
    """Whether the completion itself contains `removed` at its end (before a `;` or `,`)."""
    wanted = _squash(removed)
    return squashed_text.endswith(wanted) or squashed_text.rstrip(";,").endswith(wanted)


def _replaceable_lengths(text: str, tail: str) -> list[int]:
    """Candidate numbers of tail chars to replace, longest first: each ends on a visible char
    and is textually present at the end of the completion."""
    squashed = _squash(text)
    return [k for k in range(min(len(tail), _MAX_REPLACED), 0, -1)
            if not tail[k - 1].isspace() and _supplies(squashed, tail[:k])] + [0]


# ---------------------------------------------------------------------------------------------
# The steps


def normalize_newlines(raw: str) -> str:
    """`\\r\\n` and stray `\\r` become `\\n`; the document's ending is restored at the end."""
    return raw.replace("\r\n", "\n").replace("\r", "\n")


def strip_leading_blank_lines(lines: list[str]) -> list[str]:
    """On a blank cursor line, leading newlines would leave a whitespace-only line behind."""
    for i, line in enumerate(lines):
        if line.strip():
            return lines[i:]
    return []


def strip_repeated_indent(lines: list[str], ctx: PostprocessContext, unit: int) -> list[str]:
    """Remove indentation the model repeated although the cursor already stands after it.

    The first line is inserted at the cursor, so its own leading whitespace adds to the cursor
    line's. That is right when the code goes one level deeper than the line above allows for,
    and a repetition otherwise: the whole is then at most the line above's width, plus one
    level when that line opens a block.
    """
    prefix = ctx.line_prefix
    if not lines or not prefix or prefix.strip():
        return lines
    first = lines[0]
    lead = indent_of(first)
    if not lead:
        return lines
    previous = next((line for line in reversed(ctx.text_before.split("\n")) if line.strip()), "")
    expected = indent_width(previous)
    if _PREVIOUS_LINE_OPENS_BLOCK.search(previous):
        expected += unit
    if indent_width(prefix) + indent_width(first) <= expected:
        return lines
    cut = len(prefix) if first.startswith(prefix) else len(lead)
    return [first[cut:], *lines[1:]]


def cut_at_next_item(lines: list[str], starts: tuple[str, ...]) -> list[str]:
    """Keep one top-level item: cut before a blank line followed by a line that starts a
    new item at column 0 (`def `, `class ` ...), once some code came first."""
    seen_code = False
    for i, line in enumerate(lines):
        if (seen_code and i > 0 and not lines[i - 1].strip() and starts
                and line.startswith(starts)):
            kept = lines[: i - 1]
            while kept and not kept[-1].strip():
                kept.pop()
            return kept
        seen_code = seen_code or bool(line.strip())
    return lines


def _is_closer_line(line: str) -> bool:
    """`}`, `});`, `)` ...: a line that only closes brackets."""
    body = line.strip()
    return bool(body) and body[0] in CLOSE_TO_OPEN and only_tail_closers(body)


def cut_at_dedent(lines: list[str], min_indent: int) -> list[str]:
    """Stop at the first line indented less than the block being completed.

    A line that only closes brackets at that point is the block's own end and is kept (later
    steps drop it again when the suffix already has it); anything else dedented belongs to the
    code after the block, which the user did not ask for.
    """
    for i in range(1, len(lines)):
        line = lines[i]
        if not line.strip() or indent_width(line) >= min_indent:
            continue
        return lines[: i + 1] if _is_closer_line(line) else lines[:i]
    return lines


def _same_line(completion_line: str, existing_line: str) -> bool:
    """Equal code; punctuation-only lines (`}`) must also stand at the same indentation."""
    body = completion_line.strip()
    if not body or body != existing_line.strip():
        return False
    if any(c.isalnum() for c in body):
        return True
    return indent_width(completion_line) == indent_width(existing_line)


def _repeat_run(lines: list[str], start: int, upcoming: list[str]) -> tuple[int, int]:
    """How many non-blank lines from `start` repeat `upcoming` in order, and how many there are."""
    matched = total = 0
    for line in lines[start:]:
        if not line.strip():
            continue
        total += 1
        if matched == total - 1 and matched < len(upcoming) and _same_line(line, upcoming[matched]):
            matched += 1
    return matched, total


def drop_repeated_following_lines(lines: list[str], following: list[str],
                                  line_prefix: str) -> list[str]:
    """Drop the completion's last lines when they repeat the lines that already follow.

    A run is dropped when it reaches the end of the completion, or when it is at least two
    lines long (then what comes after it is the model continuing past existing code).
    """
    upcoming = [line for line in following if line.strip()][:_REPEAT_LOOKAHEAD]
    if not upcoming:
        return lines
    # The first line continues the cursor line: it can only repeat a whole line when the
    # cursor line holds nothing else.
    first = 0 if not line_prefix.strip() else 1
    full = [line_prefix + lines[0], *lines[1:]] if lines else lines
    for start in range(first, len(lines)):
        if not lines[start].strip():
            continue
        matched, total = _repeat_run(full, start, upcoming)
        if matched and (matched == total or matched >= 2):
            return lines[:start]
    return lines


def strip_trailing_whitespace(lines: list[str]) -> list[str]:
    """Trailing spaces on every line, then trailing blank lines."""
    lines = [line.rstrip() for line in lines]
    while len(lines) > 1 and not lines[-1]:
        lines.pop()
    return lines


def document_indent_style(ctx: PostprocessContext) -> tuple[bool, int] | None:
    """(uses tabs, spaces per level) of the lines above the cursor, or None if none is indented."""
    sample = [*ctx.text_before.split("\n")[-_STYLE_LINES:], ctx.line_prefix]
    tabs = 0
    widths: list[int] = []
    for line in sample:
        lead = indent_of(line)
        if lead.startswith("\t"):
            tabs += 1
        elif lead:
            widths.append(len(lead))
    if not tabs and not widths:
        return None
    if tabs > len(widths):
        return True, TAB_WIDTH
    unit = math.gcd(*widths)
    return False, unit if 2 <= unit <= 8 else _DEFAULT_INDENT_UNIT


def match_indent_style(lines: list[str], style: tuple[bool, int] | None) -> list[str]:
    """Re-indent with the document's tabs or spaces when the model used the other kind."""
    if style is None:
        return lines
    use_tabs, unit = style
    if use_tabs:
        leads = [len(indent_of(line)) for line in lines if indent_of(line).startswith(" ")]
        model_unit = math.gcd(*leads) if leads else TAB_WIDTH
        model_unit = model_unit if 2 <= model_unit <= 8 else TAB_WIDTH
        out = []
        for line in lines:
            lead = indent_of(line)
            if lead and "\t" not in lead:
                width = len(lead)
                lead = "\t" * (width // model_unit) + " " * (width % model_unit)
            out.append(lead + line.lstrip(" \t"))
        return out
    return [indent_of(line).replace("\t", " " * unit) + line.lstrip(" \t") for line in lines]


def repeats_suffix(text: str, ctx: PostprocessContext) -> bool:
    """The model only reproduced what already follows the cursor: whole lines of it (the rest
    of the cursor line counting as the first), ignoring layout."""
    wanted = _squash(text)
    if not wanted:
        return False
    seen = ""
    for line in ctx.suffix_window.split("\n"):
        seen += _squash(line)
        if len(seen) >= len(wanted):
            return seen == wanted
    return False


def _drop_chars(text: str, positions: list[int]) -> str:
    drop = set(positions)
    return "".join(c for i, c in enumerate(text) if i not in drop)


def _extra_closers_supplied_later(extras: list[str], ctx: PostprocessContext) -> bool:
    following = "\n".join(_following_lines(ctx))
    return _squash(following[:400]).startswith("".join(extras))


def _extra_closers_close_earlier_lines(extras: list[str], tail_closes: list[str],
                                       ctx: PostprocessContext) -> bool:
    """Whether the lines above leave brackets open that `extras` would close, innermost first
    and after the ones the line's own tail closes."""
    unclosed = _scan(ctx.text_before + ctx.line_prefix, _Scan(), ctx, track=False).stack
    unclosed = unclosed[: max(0, len(unclosed) - sum(c in CLOSE_TO_OPEN for c in tail_closes))]
    if len(extras) > len(unclosed):
        return False
    return all(CLOSE_TO_OPEN.get(c) == unclosed[-1 - i] for i, c in enumerate(extras))


def balance_brackets(text: str, ctx: PostprocessContext) -> tuple[str, int]:
    """Choose how much of the line's tail the completion replaces; drop extra closers.

    The tail right of the cursor (`)`, `")`, `) {` ...) closes what the line before the cursor
    opened. After inserting, completion + remaining tail must close exactly the same things:
    the longest tail part that the completion itself supplies is replaced (never a closer the
    line still needs, never a duplicate). If the completion closes *more* than the tail, the
    extra closers are kept only when they close brackets left open on the lines above and the
    following lines do not already close them.
    """
    tail = ctx.line_suffix
    start = _cursor_state(ctx)
    target = _scan(tail, start, ctx, track=False)
    after_text = _scan(text, start, ctx)
    lengths = _replaceable_lengths(text, tail)
    relaxed: tuple[int, _Scan] | None = None
    for k in lengths:
        end = _scan(tail[k:], after_text, ctx, track=False)
        if end.balance() != target.balance():
            continue
        if end.consumed == target.consumed:
            return text, k
        if relaxed is None and end.consumed[: len(target.consumed)] == target.consumed:
            relaxed = k, end
    if relaxed is None:  # unbalanced either way: at least never show the tail twice
        return text, lengths[0]
    k, end = relaxed
    extra_at = end.consumed_at[len(target.consumed):]
    extras = end.consumed[len(target.consumed):]
    needed = (_extra_closers_close_earlier_lines(extras, target.consumed, ctx)
              and not _extra_closers_supplied_later(extras, ctx))
    if -1 in extra_at or needed:
        return text, k
    return _drop_chars(text, extra_at), k


def put_tail_on_own_line(text: str, replaced: int, ctx: PostprocessContext) -> str:
    """A kept closing tail (`}` of `{|}`) goes on its own line after a multi-line body."""
    tail = ctx.line_suffix[replaced:].strip()
    if "\n" not in text or not tail or tail[0] not in CLOSE_TO_OPEN:
        return text
    return text + "\n" + indent_of(ctx.line_prefix)


def _finish(text: str, replaced: int, ctx: PostprocessContext) -> Suggestion | None:
    """Final cleanup: trim, restore line endings, prefer trimming a non-closer overlap."""
    text = "\n".join(strip_trailing_whitespace(text.split("\n")))
    if not text.strip():
        return None
    removed = ctx.line_suffix[:replaced]
    if replaced and not only_tail_closers(removed) and text.endswith(removed):
        text, replaced = text[:-replaced], 0
        if not text.strip():
            return None  # the model only repeated what follows the cursor
    if ctx.mode == "multi":
        text = put_tail_on_own_line(text, replaced, ctx)
    if ctx.eol != "\n":
        text = text.replace("\n", ctx.eol)
    return Suggestion(text, replaced)


#: Blank lines kept before a block suggested at column 0 (the model separating a new
#: top-level item from the code above: PEP 8's two blank lines, one in most languages).
MAX_LEADING_BLANK_LINES = 2


def _multi_line_body(text: str, ctx: PostprocessContext) -> tuple[list[str], bool, int]:
    """The lines of a multi-line answer worth keeping, whether the block visibly ended (a
    dedented line was cut), after which more model output cannot change them, and how many
    blank lines go before them (at column 0, where the model means the cursor's line to stay
    blank; elsewhere leading blank lines would leave whitespace-only lines behind)."""
    lines = text.split("\n")
    style = document_indent_style(ctx)
    unit = style[1] if style else _DEFAULT_INDENT_UNIT
    leading = 0
    if _cursor_line_is_blank(ctx):
        stripped = strip_leading_blank_lines(lines)
        if not ctx.line_prefix and stripped:
            leading = min(len(lines) - len(stripped), MAX_LEADING_BLANK_LINES)
        lines = stripped
        if not lines:
            return lines, False, 0
        lines = strip_repeated_indent(lines, ctx, unit)
        min_indent = indent_width(ctx.line_prefix + lines[0])
    else:  # after a block opener: the body must be deeper than the opening line
        min_indent = indent_width(ctx.line_prefix) + 1
    kept = cut_at_dedent(lines, min_indent)
    if min_indent == 0:  # top level: nothing dedents, so one item ends at the next one
        kept = cut_at_next_item(kept, ctx.item_starts)
    ended = len(kept) < len(lines) or (len(kept) > 1 and _is_closer_line(kept[-1])
                                         and indent_width(kept[-1]) < min_indent)
    kept = drop_repeated_following_lines(kept, _following_lines(ctx), ctx.line_prefix)
    return match_indent_style(kept, style), ended, leading


def postprocess(raw: str, ctx: PostprocessContext) -> Suggestion | None:
    """The suggestion to show for the raw model answer `raw`, or None if nothing is worth it."""
    text = normalize_newlines(raw)
    leading = 0
    if ctx.mode == "single":
        lines = [text.split("\n", 1)[0]]
    else:
        lines, _, leading = _multi_line_body(text, ctx)
    text = "\n".join(strip_trailing_whitespace(lines)) if lines else ""
    if not text.strip() or repeats_suffix(text, ctx):
        return None
    text = "\n" * leading + text
    text, replaced = balance_brackets(text, ctx)
    return _finish(text, replaced, ctx)


def is_complete(partial: str, ctx: PostprocessContext) -> bool:
    """Whether a streamed answer so far already fixes the suggestion, so the stream can stop.

    Single-line: once a line break arrived. Multi-line: once a complete line ended the block
    (dedented code, or the block's closing line), since `postprocess` cuts there anyway.
    """
    text = normalize_newlines(partial)
    if ctx.mode == "single":
        return "\n" in text
    complete_lines = text[: text.rfind("\n") + 1]  # the last line may still grow
    return bool(complete_lines) and _multi_line_body(complete_lines.rstrip("\n"), ctx)[1]


def advance_suggestion(suggestion_text: str, typed: str) -> str | None:
    """What remains of a shown suggestion after the user typed `typed` (type-ahead).

    None when the typing diverged from the suggestion, "" when it was typed completely.
    """
    if not suggestion_text.startswith(typed):
        return None
    return suggestion_text[len(typed):]
