"""A cheap, deterministic stand-in for DeepSeek's tokenizer.

The real tokenizer is far too slow for a simulator that benchmarks hit thousands of times with
multi-kilobyte prompts, and nothing here needs exact counts: only stable, plausible ones. A
token is a word with its leading space (long words split every 8 letters), up to three digits,
one or two punctuation characters, a run of blanks, a newline with the next line's indentation,
or any other single character (so CJK text costs about a token per character).
"""

from __future__ import annotations

import re

_TOKEN_RE = re.compile(
    r"[ ]?[A-Za-z]{1,8}"
    r"|[ ]?\d{1,3}"
    r"|[ ]?[^\w\s]{1,2}"
    r"|\n[ \t]*"
    r"|[ \t]{1,16}"
    r"|\s"
    r"|\w"
)


def count_tokens(text: str) -> int:
    """Number of simulated tokens in `text` (0 for the empty string)."""
    if not text:
        return 0
    return len(_TOKEN_RE.findall(text))


def split_tokens(text: str) -> list[str]:
    """The simulated tokens of `text`; they concatenate back to `text` exactly."""
    return _TOKEN_RE.findall(text) if text else []
