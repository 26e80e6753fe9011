"""How sure the simulated models are of their tokens: the values behind `logprobs`.

Text the model is sure of gets log probabilities near 0 (every one above ln 0.6), so a
confidence gate keeps it. Text marked as a guess gets, on its first few tokens, log
probabilities around ln(probability) (ln 0.0025 ≈ -6 by default, "noise"), and modest ones
(ln 0.2 to ln 0.5) after that, as a model that went off track continues its own guess. That
lets a client tell deliberately wrong suggestions from right ones by their logprobs.

A FIM model (the default one, or a replacement such as a benchmark's oracle) marks a guess by
returning `Guess(text, start=0, probability=0.0025)`: a `str` whose tokens from character
`start` on are guesses. A scripted `Rule(confidence=p, unsure_from=k)` does the same for canned
or modelled answers, FIM and chat alike.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

#: The probability of a guessed token when none is given (about the noise floor of a model).
GUESS_PROBABILITY = 0.0025
#: How many non-blank tokens of a guess get the guess's (very low) probability.
GUESS_TOKENS = 4
#: Logprobs are never below this, so they stay finite JSON numbers.
_FLOOR = -30.0


class Guess(str):
    """Completion text the model is unsure of from character `start` on.

    A plain `str` everywhere else, so FIM models can return it where they return text.
    """

    start: int
    probability: float

    def __new__(cls, text: str, start: int = 0,
                probability: float = GUESS_PROBABILITY) -> Guess:
        if not 0 < probability <= 1:
            raise ValueError("probability must be in (0, 1]")
        obj = super().__new__(cls, text)
        obj.start = max(0, start)
        obj.probability = probability
        return obj


@dataclass(frozen=True)
class Unsure:
    """Where a text turns into a guess (a character offset) and how unlikely the guess is."""

    start: int
    probability: float = GUESS_PROBABILITY

    @classmethod
    def of(cls, text: str) -> Unsure | None:
        """The guess marked on `text` (a `Guess`), or None for text the model is sure of."""
        if isinstance(text, Guess):
            return cls(text.start, text.probability)
        return None


def _unit(token: str, position: int, salt: str) -> float:
    """A deterministic number in [0, 1) for a token at a position."""
    return (zlib.crc32(f"{salt}:{position}:{token}".encode()) % 10_000) / 10_000


def sure_logprob(token: str, position: int) -> float:
    """A confident log probability in (-0.5, 0] (probability above 0.6)."""
    return -round(_unit(token, position, "sure") / 2, 6)


def token_logprobs(tokens: list[str], unsure: Unsure | None, first_position: int = 0
                   ) -> list[float]:
    """One log probability per token; `first_position` numbers the first token (streams)."""
    out: list[float] = []
    offset = 0
    guessed = 0
    for i, tok in enumerate(tokens, first_position):
        start, offset = offset, offset + len(tok)
        # A token belongs to the guess if any of its text from the guess's start on is visible.
        before = start < unsure.start if unsure is not None else True
        if unsure is None or (before and not tok[unsure.start - start:].strip()):
            out.append(sure_logprob(tok, i))
            continue
        if tok.strip() and guessed < GUESS_TOKENS:
            guessed += 1
            jitter = (_unit(tok, i, "guess") - 0.5) * 0.6  # ±0.3 around ln(probability)
            out.append(round(max(math.log(unsure.probability) + jitter, _FLOOR), 6))
        else:
            # Past the first tokens of a guess (or blanks inside it): a shaky continuation.
            out.append(round(math.log(0.2 + 0.3 * _unit(tok, i, "shaky")), 6))
    return out


def _alternatives(token: str, count: int) -> list[str]:
    """Up to `count` distinct candidate tokens other than `token`."""
    stem = token.strip()
    candidates = [stem, " " + stem, stem.upper(), stem.capitalize(), token + " ", "\n", ",",
                  ".", " the", "(", ")", ":", " =", "_", " a", " to", " of", ";", " in", "0",
                  " return", " if", "1", " x"]
    seen: list[str] = []
    for c in candidates:
        if c and c != token and c not in seen:
            seen.append(c)
    return seen[:count]


def top_alternatives(token: str, logprob: float, count: int) -> list[tuple[str, float]]:
    """The `count` most likely tokens at this place, with their log probabilities.

    The other candidates share the probability the chosen token leaves (60 %, 20 %, ... of
    it), most likely first. A sure token leads its list; a guessed one is not among the most
    likely, so it comes after `count` likelier tokens (as OpenAI-style completions always
    return the chosen token: up to `count + 1` entries).
    """
    if count <= 0:
        return []
    left = max(1 - math.exp(logprob), 0.0)
    ranked = [(alt, round(max(math.log(max(left * 0.6 * (1 / 3) ** k, 1e-13)), _FLOOR), 6))
              for k, alt in enumerate(_alternatives(token, count))]
    ranked.append((token, logprob))
    ranked.sort(key=lambda item: -item[1])
    top = ranked[:count]
    if all(alt != token for alt, _ in top):
        top.append((token, logprob))
    return top
