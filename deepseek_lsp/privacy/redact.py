"""Redaction of likely secrets from text that is about to leave the machine.

What is sent is always a window of a document (the FIM prefix and suffix, a chat selection and
the code around it), and a secret does not stop at a window's edge: the lines of a private key
block seen from inside, the rest of `password = "hunter2"` when the window ends after `hun`.
`redact_pieces` therefore judges windows in their document: it looks at the whole lines they
touch (at most `LINE_CONTEXT` characters beyond them) and, for windows that may start inside a
private key block, back to that block's BEGIN line (`secrets.inside_key_block`, at most 32 KiB).
That bounds the work per keystroke whatever the document's size; and since the lines above the
cursor's stay the same from one keystroke to the next, their secrets are looked up by their
text, so a keystroke scans only the cursor's line and the suffix.

Replacements keep the line count (a key block becomes a placeholder followed by as many newlines
as it spanned) and depend only on the document around the windows, so equal windows of equal
documents give equal prompts and the API's prefix cache still hits. A secret cut by a window's
edge is replaced by a whole placeholder on each side.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from cachetools import LRUCache

from deepseek_lsp.privacy.secrets import Span, find_secrets, inside_key_block

PLACEHOLDER = "<redacted>"

#: How far beyond a window's edges its first and last lines are read (minified files have
#: lines of megabytes; a secret is shorter than this).
LINE_CONTEXT = 4096

# Secrets in the lines above the cursor's, by their text and whether they start inside a key
# block. Not thread-safe: the server builds requests on its event loop.
_head_spans: LRUCache[tuple[str, bool | None], list[Span]] = LRUCache(maxsize=32)


def redact(text: str) -> str:
    """Replace likely secrets in `text` with `PLACEHOLDER`, keeping the number of lines."""
    return redact_pieces(text, (0, len(text)))[0]


def redact_window(text: str, start: int, end: int) -> str:
    """`text[start:end]` with likely secrets replaced by `PLACEHOLDER`, judged in `text`: a
    secret that the window shows only part of, or a key block that began before it, goes too."""
    return redact_pieces(text, (start, end))[0]


def redact_pieces(text: str, cuts: Sequence[int]) -> list[str]:
    """The pieces `text[cuts[i]:cuts[i + 1]]` (cuts ascending) with likely secrets replaced,
    judged in `text` in one scan: the FIM prefix and suffix, a selection and its context."""
    cuts = [max(0, min(c, len(text))) for c in cuts]
    first, last = cuts[0], cuts[-1]
    if last <= first:
        return ["" for _ in cuts[1:]]
    lo = text.rfind("\n", max(0, first - LINE_CONTEXT), first) + 1 or max(0, first - LINE_CONTEXT)
    if text[last - 1] == "\n":
        hi = last
    else:
        hi = text.find("\n", last, last + LINE_CONTEXT)
        hi = min(len(text), last + LINE_CONTEXT) if hi == -1 else hi
    split = text.rfind("\n", lo, cuts[-2]) + 1 or lo
    spans = _spans(text, lo, split, hi)
    return [_render(text, start, end, spans, lo) for start, end in itertools.pairwise(cuts)]


def _spans(text: str, lo: int, split: int, hi: int) -> list[Span]:
    """Secrets in `text[lo:hi]` (relative to `lo`). The lines before `split` (the cursor's line)
    are looked up by their content: from one keystroke to the next they stay the same (the
    prompt's start is anchored), so only the cursor's line and what follows are scanned."""
    inside = True if lo > 0 and inside_key_block(text, lo) else None
    if split <= lo:
        return find_secrets(text[lo:hi], starts_in_key_block=inside)
    head = text[lo:split]
    spans = _head_spans.get((head, inside))
    if spans is None:
        spans = _head_spans[head, inside] = find_secrets(head, starts_in_key_block=inside)
    # lines never hold a line break, so only a key block runs on past `split`, to head's end
    runs_on = bool(spans) and spans[-1][1] == len(head)
    rest = [(s + len(head), e + len(head))
            for s, e in find_secrets(text[split:hi], starts_in_key_block=runs_on)]
    if runs_on and rest and rest[0][0] == len(head):  # one block, one placeholder
        return [*spans[:-1], (spans[-1][0], rest[0][1]), *rest[1:]]
    return spans + rest


def _render(text: str, start: int, end: int, spans: list[Span], base: int) -> str:
    """`text[start:end]` with each of `spans` (relative to `base`) that it shows replaced."""
    pieces: list[str] = []
    done = start
    for span_start, span_end in spans:
        s, e = max(base + span_start, start), min(base + span_end, end)
        if s >= e:
            continue
        pieces += (text[done:s], PLACEHOLDER + "\n" * text.count("\n", s, e))
        done = e
    if not pieces:
        return text[start:end]
    pieces.append(text[done:end])
    return "".join(pieces)
