"""Redaction of likely secrets from text that is about to leave the machine.

`redact` runs on every completion request over the bounded prompt windows (~8 KB), so it must
cost microseconds. Python's `re` only scans fast when a pattern starts with a literal, so every
pattern here starts with one (a word boundary is checked with a look-behind placed *after* the
literal), and the one family without a literal, `password = "..."`, is found with `str.find`
on trigger words. Replacements keep the line count (a private key block becomes a placeholder
followed by as many newlines as it spanned) and are deterministic, so equal windows give equal
prompts and the API's prefix cache still hits.
"""

from __future__ import annotations

import re
from collections.abc import Callable

PLACEHOLDER = "<redacted>"

_KEY_BLOCK = re.compile(
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
    r".*?(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    re.DOTALL,
)
# A window that starts inside a key block shows only base64 lines and then the END marker.
_KEY_BLOCK_TAIL = re.compile(r"\A[A-Za-z0-9+/=\r\n]*-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_TOKENS = (
    re.compile(r"sk-(?<![\w-]sk-)[A-Za-z0-9_-]{20,}"),  # OpenAI/DeepSeek/Anthropic style
    re.compile(r"A(?<!\wA)[KS]IA[0-9A-Z]{16}(?![0-9A-Za-z])"),  # AWS access key ids
    re.compile(r"gh(?<!\wgh)(?:[pousr]_[A-Za-z0-9]{30,}|ithub_pat_[A-Za-z0-9_]{22,})"),  # GitHub
)
# `password = "..."`, `"api_key": '...'`, `SECRET_TOKEN := "..."`: after a trigger word, the rest
# of the identifier, an operator and a quoted value of at least 4 characters; the value goes.
_SECRET_WORDS = ("pass", "pwd", "secret", "token", "key", "auth", "credential")
_ASSIGNED_VALUE = re.compile(r"""\w*["']?[ \t]*(?::=|=>|[:=])[ \t]*(["'])([^"'\r\n]{4,})\1""")


def _same_lines_placeholder(match: re.Match[str]) -> str:
    return PLACEHOLDER + "\n" * match.group(0).count("\n")


def _key_blocks(text: str) -> str:
    if "PRIVATE KEY" not in text:
        return text
    text = _KEY_BLOCK_TAIL.sub(_same_lines_placeholder, text)
    return _KEY_BLOCK.sub(_same_lines_placeholder, text)


def _tokens(text: str) -> str:
    for pattern in _TOKENS:
        text = pattern.sub(PLACEHOLDER, text)
    return text


def _assigned_value_spans(text: str) -> list[tuple[int, int]]:
    """Start and end of every quoted value assigned to a secret-sounding name."""
    lowered = text.lower()
    spans: set[tuple[int, int]] = set()
    for word in _SECRET_WORDS:
        at = lowered.find(word)
        while at != -1:
            match = _ASSIGNED_VALUE.match(text, at + len(word))
            if match:
                spans.add(match.span(2))
            at = lowered.find(word, at + 1)
    return sorted(spans)


def _assignments(text: str) -> str:
    spans = _assigned_value_spans(text)
    if not spans:
        return text
    pieces: list[str] = []
    done = 0
    for start, end in spans:
        if start >= done:  # two trigger words in one name ("auth_token") find the same value
            pieces += (text[done:start], PLACEHOLDER)
            done = end
    pieces.append(text[done:])
    return "".join(pieces)


_STEPS: tuple[Callable[[str], str], ...] = (_key_blocks, _tokens, _assignments)


def redact(text: str) -> str:
    """Replace likely secrets in `text` with `PLACEHOLDER`, keeping the number of lines."""
    for step in _STEPS:
        text = step(text)
    return text
