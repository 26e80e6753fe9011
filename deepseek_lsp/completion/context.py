"""The FIM request for one cursor position: whether to ask at all, and exactly what to send.

`build_fim_request` runs on every keystroke, on documents of a megabyte and more, so it never
looks at the whole text: it finds the cursor line with bounded `rfind`/`find`, slices windows of
bounded size and runs its regexes on those slices only (p50 well under a millisecond on a 1 MB,
20,000-line file). Budgets are in characters (`tokens.CHARS_PER_TOKEN`), never tokenized here.

The prompt is assembled in one place, `_assemble_prompt`, from named pieces:

    header            `# path: src/app.py (python)` — identical for every request in the file
    neighbor snippets code of other open files of the language, most similar to the code above
                      the cursor, each after a path line, then the file's own path line again
    prefix window     the document from the anchored prefix start up to the cursor

The prefix window's start is anchored: it moves in steps of a quarter of the budget, snapped to
a line start, so that typing, deleting and moving a few lines leave the prompt's beginning
byte-identical and DeepSeek's prefix cache keeps hitting. Neighbor snippets are chosen from a
similarity query that is quantized the same way, so they change (rarely) together with the
anchor and never reshuffle from one keystroke to the next.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cachetools import LRUCache

from deepseek_lsp.api.types import MAX_STOP_SEQUENCES, FimParams
from deepseek_lsp.completion.postprocess import (
    Mode,
    PostprocessContext,
    indent_of,
    only_tail_closers,
)
from deepseek_lsp.completion.tokens import chars_for_tokens
from deepseek_lsp.config import Settings
from deepseek_lsp.languages import Language, language_for
from deepseek_lsp.privacy import is_excluded, redact, redact_pieces

#: Most characters of the cursor line examined on either side of the cursor (5 MB lines exist).
LINE_LIMIT = 4096
#: A single-line suggestion never needs more; fewer tokens is less latency and cost.
SINGLE_LINE_MAX_TOKENS = 64
#: The prefix window's start moves in steps of budget / ANCHOR_STEPS characters.
ANCHOR_STEPS = 4
#: With neighbor files, 1 / NEIGHBOR_SHARE of the prefix budget goes to their snippets.
NEIGHBOR_SHARE = 4
CHUNK_LINES = 24  # neighbor files are compared in fixed chunks of this many lines
NEIGHBOR_SCAN_CHARS = 100_000  # only the first part of a huge neighbor is indexed (~2.5 ms)
MAX_NEIGHBORS = 8  # the first ones offered (the caller lists the most recently used first)
QUERY_CHARS = 1500  # similarity query: about 40 lines above the quantized cursor position
MAX_SNIPPETS = 3
MIN_SIMILARITY = 0.05  # Jaccard below this is noise
MIN_SNIPPET_LINES = 3
TEXT_BEFORE_CHARS = 2000  # lines above the cursor handed to post-processing (indent style)


@dataclass(frozen=True)
class Neighbor:
    """Another open document, offered as extra context."""

    path: str
    language_id: str
    text: str
    #: its absolute and symlink-resolved paths, judged by `exclude` too (`privacy.real_paths`)
    real_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class Skip:
    """Do not ask the API here: `reason` says why in words (logs), `code` in one word
    (`deepseek.status` `lastSkip`: `disabledLanguage`, `excluded`, `midWord`, `tooLarge`,
    `textRight`)."""

    reason: str
    code: str = "rule"


@dataclass(frozen=True)
class FimPlan:
    """What to send for one cursor position, and what post-processing needs afterwards.

    Offsets are Python string indices into the document text.
    """

    params: FimParams
    mode: Mode
    prefix_start: int  # where the prefix window starts (anchored, see module docstring)
    suffix_end: int  # where the suffix window ends
    line_prefix: str  # cursor line before the cursor (at most LINE_LIMIT characters)
    line_suffix: str  # cursor line after the cursor, without the line ending
    indent: str  # leading whitespace of the cursor line
    postprocess_context: PostprocessContext


# ---------------------------------------------------------------------------------------------
# Header lines


def _comment_line(text: str, language_id: str) -> str:
    opening, closing = language_for(language_id).comment
    return f"{opening} {text}{' ' + closing if closing else ''}\n"


def _shown_path(path: str) -> str:
    return " ".join(path.replace("\\", "/").split())  # no line break can sneak in


def header_line(path: str, language_id: str) -> str:
    """`# path: src/app.py (python)` in the language's comment syntax."""
    return _comment_line(f"path: {_shown_path(path)} ({language_id})", language_id)


def path_line(path: str, language_id: str) -> str:
    """`# path: lib/util.py`: introduces a neighbor snippet, or the file's own code after them."""
    return _comment_line(f"path: {_shown_path(path)}", language_id)


# ---------------------------------------------------------------------------------------------
# When to ask


_TAIL_OK = re.compile(
    r"""(?:[\s)\]}>"'`;,]|</[\w.:-]*>)*"""
    r"""(?:[{:](?:[\s)\]}>"'`;,]|</[\w.:-]*>)*)?"""
)


def tail_allows_completion(line_suffix: str) -> bool:
    """The rest of the line holds only closers, `;`/`,`, closing tags, and at most one `{`/`:`.

    `)`, `")`, `);`, `) {`, `):`, `</div>` are the tails editors auto-insert or that end a
    statement, and a suggestion can sit in front of them; any other text right of the cursor
    means the user is editing inside existing code, where an insertion is rarely wanted.
    """
    return _TAIL_OK.fullmatch(line_suffix) is not None


def before_identifier(text: str, offset: int) -> bool:
    """The cursor touches a word on its right: completing would glue onto it."""
    return offset < len(text) and (text[offset] == "_" or text[offset].isalnum())


def _skip_reason(path: str, language_id: str, settings: Settings,
                 real_paths: Sequence[str] = ()) -> Skip | None:
    if language_id.lower() in {lang.lower() for lang in settings.disabled_languages}:
        return Skip(f"language {language_id!r} is disabled", "disabledLanguage")
    if is_excluded(path, settings.exclude, real_paths):
        return Skip("the file is excluded", "excluded")
    return None


# ---------------------------------------------------------------------------------------------
# Mode


_MARKUP_OPEN_TAG = re.compile(r"<[A-Za-z][^<>]*(?<!/)>\Z")


def _ends_with_keyword(code: str, keyword: str) -> bool:
    if not code.endswith(keyword):
        return False
    before = code[-len(keyword) - 1:-len(keyword)]
    return not before or not (before == "_" or before.isalnum())


def opens_block(line_prefix: str, line_suffix: str, language: Language) -> bool:
    """The text before the cursor ends in something whose body goes on the next lines."""
    code = line_prefix.rstrip()
    if not code:
        return False
    at_line_end = not line_suffix.strip()
    last = code[-1]
    if last == "{":
        return True
    if last in "([" or (last == ":" and language.colon_opens_block):
        return at_line_end
    if language.arrow_opens_block and code.endswith("=>"):
        return True
    if language.markup and at_line_end and _MARKUP_OPEN_TAG.search(code):
        return True
    return any(_ends_with_keyword(code, k) for k in language.keyword_openers)


def choose_mode(line_prefix: str, line_suffix: str, language: Language) -> Mode:
    """`multi` on a blank line or after a block opener, `single` everywhere else."""
    if not line_suffix.strip() and not line_prefix.strip():
        return "multi"
    if only_tail_closers(line_suffix) and opens_block(line_prefix, line_suffix, language):
        return "multi"
    return "single"


def stop_sequences(mode: Mode, language: Language, eol: str,
                   at_line_start: bool = False) -> tuple[str, ...]:
    """Single: the end of the line. Multi: two blank lines, or a new top-level item.

    On an empty line at column 0 (`at_line_start`) the answer may itself begin with blank
    lines and a new top-level item (`\n\ndef ...` right after a function), which a stop
    string would cut to nothing; there post-processing cuts at the *second* item instead
    (`postprocess.cut_at_next_item`), and the stream is closed there.
    """
    if mode == "single":
        return ("\n",)
    if at_line_start:
        return (eol * 3,)
    stops = (eol * 3, *(s.replace("\n", eol) for s in language.top_level_stops))
    return stops[:MAX_STOP_SEQUENCES]


def item_starts(language: Language) -> tuple[str, ...]:
    """How a new top-level item's line begins (`def `, `class `, `@` ...)."""
    return tuple(dict.fromkeys(s.lstrip("\n") for s in language.top_level_stops))


# ---------------------------------------------------------------------------------------------
# Windows


@dataclass(frozen=True)
class _CursorLine:
    start: int  # start of the line, or of its examined part when it is overlong
    prefix: str
    suffix: str  # without the line ending
    suffix_truncated: bool  # the line goes on beyond LINE_LIMIT right of the cursor
    eol: str


def _cursor_line(text: str, offset: int) -> _CursorLine:
    """The cursor's line around `offset`; `\n`, `\r\n` and a lone `\r` all end a line."""
    low = max(0, offset - LINE_LIMIT)
    newline_before = max(text.rfind("\n", low, offset), text.rfind("\r", low, offset))
    start = newline_before + 1 if newline_before != -1 else low
    high = min(len(text), offset + LINE_LIMIT)
    ends = [i for i in (text.find("\n", offset, high), text.find("\r", offset, high)) if i != -1]
    end = min(ends) if ends else -1
    truncated = end == -1 and high < len(text)
    if end == -1:
        end = high
        eol = _eol_at(text, newline_before) if newline_before != -1 else "\n"
    else:
        eol = _eol_at(text, end)
    return _CursorLine(start, text[start:offset], text[offset:end], truncated, eol)


def _eol_at(text: str, i: int) -> str:
    """The line ending that `text[i]` (a `\r` or `\n`) belongs to."""
    if text[i] == "\r":
        return "\r\n" if text[i + 1 : i + 2] == "\n" else "\r"
    return "\r\n" if i > 0 and text[i - 1] == "\r" else "\n"


def anchored_prefix_start(text: str, offset: int, budget: int) -> int:
    """Start of the prefix window: at most `budget` characters before `offset`.

    The start is the first line boundary at or after the smallest multiple of
    `step = budget / ANCHOR_STEPS` that keeps the window within budget. It depends on the text
    before it and on `offset // step` only, so it stays put while the cursor moves within a
    step of ~1,000 characters and the prompt's beginning stays byte-identical. The window is
    between 3/4 of the budget (minus a line) and the full budget long. Where the next line
    boundary is more than a step away (an overlong line), the window starts on that line, at
    the first word boundary after the anchor (`_line_or_word_start`), so the code before the
    cursor is never lost to a long line.
    """
    step = max(1, budget // ANCHOR_STEPS)
    budget = step * ANCHOR_STEPS
    if offset <= budget:
        return 0
    anchor = -((budget - offset) // step) * step  # ceil((offset - budget) / step) * step
    return _line_or_word_start(text, anchor, min(offset, anchor + step))


def sliding_prefix_start(text: str, offset: int, budget: int) -> int:
    """The baseline the anchor is measured against: a window that slides with the cursor
    (the first line start within the last `budget` characters), as most FIM clients cut it."""
    if offset <= budget:
        return 0
    start = offset - budget
    return _line_or_word_start(text, start, min(offset, start + budget // ANCHOR_STEPS))


#: How far a window start may move forward to reach a word boundary on an overlong line.
WORD_SCAN_CHARS = 64


def _line_or_word_start(text: str, at: int, limit: int) -> int:
    """The first line start in `[at, limit]`; failing that (an overlong line), the first word
    boundary at or after `at` — after a space or punctuation, so the window does not begin
    inside a token — or `at` itself. Depends only on the text and `at` (deterministic)."""
    newline = text.find("\n", at - 1, limit)
    if newline != -1:
        return newline + 1
    for i in range(at, min(limit, at + WORD_SCAN_CHARS)):
        if not (text[i - 1].isalnum() or text[i - 1] == "_"):
            return i
    return at


def suffix_window_end(text: str, offset: int, budget: int) -> int:
    """End of the suffix window: the last line boundary within `budget` characters."""
    limit = offset + budget
    if limit >= len(text):
        return len(text)
    newline = text.rfind("\n", offset, limit)
    return newline + 1 if newline != -1 else limit


# ---------------------------------------------------------------------------------------------
# Neighbor snippets


@dataclass(frozen=True)
class _Chunk:
    text: str
    identifiers: frozenset[str]
    redacted: str  # `text` with likely secrets replaced, judged in the whole file (key blocks)


_IDENTIFIER = re.compile(r"[^\W\d]\w{2,}")
# Chunk indices per neighbor version, keyed by (path, length, hash): re-indexed only when the
# neighbor changes. Selections are keyed by everything they depend on. Not thread-safe: the
# server builds requests on its event loop.
_chunk_cache: LRUCache[tuple[str, int, int], tuple[_Chunk, ...]] = LRUCache(maxsize=64)
_selection_cache: LRUCache[tuple[object, ...], str] = LRUCache(maxsize=256)


def _neighbor_key(neighbor: Neighbor) -> tuple[str, int, int]:
    return neighbor.path, len(neighbor.text), hash(neighbor.text)


def _chunks(neighbor: Neighbor) -> tuple[_Chunk, ...]:
    key = _neighbor_key(neighbor)
    chunks = _chunk_cache.get(key)
    if chunks is None:
        scanned = neighbor.text[:NEIGHBOR_SCAN_CHARS]
        lines = scanned.split("\n")
        clean = redact(scanned).split("\n")  # as many lines: redaction keeps the line count
        found = []
        for i in range(0, len(lines), CHUNK_LINES):
            body = "\n".join(lines[i:i + CHUNK_LINES]).rstrip() + "\n"
            identifiers = frozenset(_IDENTIFIER.findall(body))
            if len(identifiers) >= 3:
                redacted = "\n".join(clean[i:i + CHUNK_LINES]).rstrip() + "\n"
                found.append(_Chunk(body, identifiers, redacted))
        chunks = _chunk_cache[key] = tuple(found)
    return chunks


def _similarity_query(text: str, offset: int, line_start: int, step: int) -> str:
    """The code the snippets should resemble: ~40 lines above a quantized cursor position.

    The position is `offset` rounded down to a multiple of the anchor step, so the query (and
    with it the choice of snippets) changes only when the prefix window's anchor does. In the
    file's first step the complete lines above the cursor line are used.
    """
    quantized = (offset // step) * step
    end = quantized if quantized else line_start
    return text[max(0, end - QUERY_CHARS):end]


def _ranked_chunks(query: str, neighbors: Sequence[Neighbor]) -> list[tuple[str, _Chunk]]:
    """Chunks by Jaccard similarity of identifier sets, scores rounded so that near-ties keep a
    fixed order (path, then position) instead of flipping on small edits."""
    wanted = frozenset(_IDENTIFIER.findall(query))
    if not wanted:
        return []
    scored: list[tuple[int, str, int, _Chunk]] = []
    for neighbor in neighbors:
        for index, chunk in enumerate(_chunks(neighbor)):
            common = len(wanted & chunk.identifiers)
            score = common / (len(wanted) + len(chunk.identifiers) - common)
            if score >= MIN_SIMILARITY:
                scored.append((-round(score * 20), neighbor.path, index, chunk))
    scored.sort(key=lambda item: item[:3])
    return [(path, chunk) for _, path, _, chunk in scored]


def _render_snippets(ranked: list[tuple[str, _Chunk]], budget: int, language_id: str,
                     redact_secrets: bool) -> str:
    """The best snippets that fit in `budget`, best last (nearest the file's own code)."""
    picked: list[str] = []
    left = budget
    for path, chunk in ranked:
        if len(picked) == MAX_SNIPPETS:
            break
        head = path_line(path, language_id)
        body = chunk.redacted if redact_secrets else chunk.text
        if body.isspace():  # all of it was redacted (inside a key block)
            continue
        if len(head) + len(body) > left:
            body = body[:body.rfind("\n", 0, max(0, left - len(head))) + 1]
            if body.count("\n") < MIN_SNIPPET_LINES:
                continue
        picked.append(head + body)
        left -= len(head) + len(body)
    return "".join(reversed(picked))


def neighbor_snippets(query: str, neighbors: Sequence[Neighbor], budget: int, language_id: str,
                      redact_secrets: bool) -> str:
    """Snippets of `neighbors` most similar to `query`, as plain code after path lines."""
    key = (query, tuple(_neighbor_key(n) for n in neighbors), budget, language_id,
           redact_secrets)
    block = _selection_cache.get(key)
    if block is None:
        ranked = _ranked_chunks(query, sorted(neighbors, key=lambda n: n.path))
        block = _selection_cache[key] = _render_snippets(ranked, budget, language_id,
                                                         redact_secrets)
    return block


def _eligible_neighbors(neighbors: Iterable[Neighbor], path: str, language_id: str,
                        settings: Settings) -> list[Neighbor]:
    """The first `MAX_NEIGHBORS` open files of the same language, never this file and never
    an excluded one (`neighbors` may be lazy: only what is needed is looked at)."""
    if not settings.neighbor_files:
        return []
    eligible = (n for n in neighbors
                if n.language_id == language_id and n.path != path
                and n.text and not n.text.isspace()  # isspace stops at the first character
                and not is_excluded(n.path, settings.exclude, n.real_paths))
    return list(itertools.islice(eligible, MAX_NEIGHBORS))


# ---------------------------------------------------------------------------------------------
# The request


def _assemble_prompt(path: str, language_id: str, snippets: str, prefix_window: str) -> str:
    """header + neighbor snippets (+ this file's path line again) + prefix window."""
    header = header_line(path, language_id)
    if not snippets:
        return header + prefix_window
    return header + snippets + path_line(path, language_id) + prefix_window


def build_fim_request(
    text: str,
    offset: int,
    *,
    path: str,
    language_id: str,
    settings: Settings,
    neighbors: Iterable[Neighbor] = (),
    anchored: bool = True,
    real_paths: Sequence[str] = (),
) -> FimPlan | Skip:
    """Decide whether to complete at `offset` (a str index into `text`) and build the request.

    `path` is the workspace-relative path (shown in the header and matched against the
    exclude globs, as are `real_paths`, the file's absolute and resolved paths). Returns a
    `Skip` with a reason when no request should be sent.
    `anchored=False` uses a sliding window instead (the benchmark's baseline).
    """
    offset = min(max(offset, 0), len(text))
    skip = _skip_reason(path, language_id, settings, real_paths)
    if skip:
        return skip
    if before_identifier(text, offset):
        return Skip("the cursor is before an identifier", "midWord")
    line = _cursor_line(text, offset)
    if line.suffix_truncated:
        return Skip("the line is too long right of the cursor", "tooLarge")
    if not tail_allows_completion(line.suffix):
        return Skip("there is text right of the cursor", "textRight")

    language = language_for(language_id)
    mode = choose_mode(line.prefix, line.suffix, language)
    others = _eligible_neighbors(neighbors, path, language_id, settings)
    budget = chars_for_tokens(settings.prefix_tokens)
    own_budget = budget - budget // NEIGHBOR_SHARE if others else budget
    start_of_window = anchored_prefix_start if anchored else sliding_prefix_start
    prefix_start = start_of_window(text, offset, own_budget)
    suffix_end = suffix_window_end(text, offset, chars_for_tokens(settings.suffix_tokens))
    prefix_window = text[prefix_start:offset]
    suffix_window = text[offset:suffix_end]

    snippets = ""
    if others:
        step = max(1, own_budget // ANCHOR_STEPS)
        query = _similarity_query(text, offset, line.start, step)
        snippets = neighbor_snippets(query, others, budget // NEIGHBOR_SHARE, language_id,
                                     settings.redact_secrets)
    if settings.redact_secrets:  # judged in the document: a window may start inside a key
        prefix, suffix = redact_pieces(text, (prefix_start, offset, suffix_end))
        prompt = _assemble_prompt(path, language_id, snippets, prefix)
    else:
        prompt = _assemble_prompt(path, language_id, snippets, prefix_window)
        suffix = suffix_window

    params = FimParams(
        prompt=prompt,
        suffix=suffix or None,
        max_tokens=(min(settings.max_tokens, SINGLE_LINE_MAX_TOKENS) if mode == "single"
                    else settings.max_tokens),
        stop=stop_sequences(mode, language, line.eol,
                            at_line_start=not line.prefix and not line.suffix.strip()),
        temperature=settings.temperature,
        logprobs=1 if settings.min_confidence > 0 else None,
    )
    context = PostprocessContext(
        mode=mode,
        line_prefix=line.prefix,
        line_suffix=line.suffix,
        suffix_window=suffix_window,
        text_before=text[max(prefix_start, line.start - TEXT_BEFORE_CHARS):line.start],
        eol=line.eol,
        line_comment=language.line_comment,
        quotes=language.quotes,
        item_starts=item_starts(language),
    )
    return FimPlan(params, mode, prefix_start, suffix_end, line.prefix, line.suffix,
                   indent_of(line.prefix), context)
