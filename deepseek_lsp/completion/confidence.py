"""How sure the model was of a FIM answer, from the `logprobs` DeepSeek returns with it.

A suggestion holding a token the model picked at noise level (a per-token probability around
0.25 %) is a guess from there on: showing it costs the user attention and, if accepted,
correctness. `confident_text` keeps what the model was sure enough of, in whole lines: nothing
when the first line holds such a token, and for a multi-line answer the lines before the first
line that does. Pure: it looks at the answer and its logprobs only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TokenProbability:
    text: str
    probability: float | None  # None: the API gave no value for this token


def token_probabilities(logprobs: Any) -> list[TokenProbability]:
    """The answer's tokens with their probabilities (DeepSeek's FIM `logprobs` object:
    `tokens` and `token_logprobs`); [] when there are none or they are malformed."""
    if not isinstance(logprobs, dict):
        return []
    tokens, values = logprobs.get("tokens"), logprobs.get("token_logprobs")
    if not isinstance(tokens, list) or not isinstance(values, list):
        return []
    out = []
    for token, value in zip(tokens, values, strict=False):
        if not isinstance(token, str):
            return []
        probability = None
        if isinstance(value, int | float) and not isinstance(value, bool) and value <= 0:
            probability = math.exp(value)
        out.append(TokenProbability(token, probability))
    return out


def confident_text(text: str, logprobs: Any, threshold: float) -> str | None:
    """`text` up to the first line holding a token the model gave less than `threshold`:
    None when that is the first line (the whole answer is a guess). Answers without usable
    logprobs (or whose tokens do not spell `text`) are returned whole: no evidence, no
    judgement. Whitespace-only tokens (indentation) are not judged."""
    if threshold <= 0:
        return text
    tokens = token_probabilities(logprobs)
    spelt = "".join(t.text for t in tokens)
    if not tokens or not (text.startswith(spelt) or spelt.startswith(text)):
        return text
    position, line_start = 0, 0
    for token in tokens:
        if position >= len(text):
            break
        if token.text.strip() and token.probability is not None \
                and token.probability < threshold:
            return text[:line_start] or None
        newline = token.text.rfind("\n")
        if newline != -1:
            line_start = position + newline + 1
        position += len(token.text)
    return text


def describe_tokens(logprobs: Any, threshold: float) -> list[str]:
    """One line per token of an answer: the token as a Python literal, its probability, and a
    mark where it falls under `threshold` (what `confident_text` judges by). For people
    tuning `minConfidence` (`deepseek-lsp complete --verbose`)."""
    tokens = token_probabilities(logprobs)
    if not tokens:
        return ["no per-token probabilities in the answer"]
    width = min(24, max(len(repr(t.text)) for t in tokens))
    lines = []
    for token in tokens:
        if token.probability is None:
            value, mark = "?", ""
        else:
            value = f"{token.probability * 100:.2f} %"
            mark = ("   < minConfidence" if token.text.strip() and token.probability < threshold
                    else "")
        lines.append(f"{token.text!r:<{width}}  {value:>9}{mark}")
    return lines
