"""Pauses in a scripted typing session, for measuring last keystroke → ghost text in real editors.

The typist writes `INTENT` into `BASE` (a function body) at 90 ms between keys and pauses at
each `|`. The simulator's FIM model is `Oracle`: it knows the intent and suggests the rest of
the line, right up to the last character before the next pause, where it is wrong. So the
typist types through most of each suggestion and then diverges from it: every pause needs a
new request, and the right ghost text at each pause is known in advance. After Enter the
editor indents the new line itself; the typist types only what follows the indentation.

The editor side records the last keystroke, the request leaving the editor where it can see
it and the right ghost text on screen; the simulator records when each FIM request arrived
and when its answer ended. `table` prints the split.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from deepseek_lsp.simulator.fim_model import fim_completion

FILENAME = "latency.py"
BASE = "def combine(first, second, factor):\n    "
#: What the typist writes after BASE; `|` marks a pause (not typed).
INTENT = (
    "total| = first| + second\n"
    "    |scaled| = total| * factor\n"
    "    |shifted| = scaled| - first\n"
    "    |return| shifted| + second\n"
)
INDENT = "    "
KEY_GAP_MS = 90
#: How long the typist looks at the ghost text before typing on: longer than the server's
#: 1 s limit on gaps it takes for typing rhythm, as a person reading a suggestion takes.
READ_MS = 1200
TTFT_MS = 150

FIRST, MID, AFTER_ENTER = "first pause of the session", "mid-line (new request)", \
    "line end (after Enter)"
KINDS = (FIRST, MID, AFTER_ENTER)


@dataclass(frozen=True)
class Pause:
    typed: str  # what the typist types before this pause (indentation after Enter left out)
    expect: str  # the right ghost text at the pause
    kind: str


def plain_intent() -> str:
    return INTENT.replace("|", "")


def marks() -> list[int]:
    """Offsets into the plain intent where the typist pauses."""
    out, offset = [], 0
    for piece in INTENT.split("|")[:-1]:
        offset += len(piece)
        out.append(offset)
    return out


def _wrong(c: str) -> str:
    return "q" if c != "q" else "z"


def suggestion_at(k: int) -> str:
    """What the model suggests at offset `k` of the plain intent: the rest of the line, wrong
    at the last character before the next pause or the line end (so typing on diverges from
    it there, and the server has no suggestion typed to its end to ask ahead from)."""
    intent = plain_intent()
    rest = intent[k:].split("\n", 1)[0]
    if not rest:
        return ""
    nxt = next((m for m in marks() if m > k), None)
    i = nxt - 1 - k if nxt is not None and nxt <= k + len(rest) else len(rest) - 1
    return rest[:i] + _wrong(rest[i]) + rest[i + 1:]


def pauses() -> list[Pause]:
    """The session as the editor driver plays it."""
    intent = plain_intent()
    out: list[Pause] = []
    previous = 0
    for i, stop in enumerate(marks()):
        typed = intent[previous:stop]
        if "\n" in typed:  # the editor indents the new line
            head, _, tail = typed.rpartition("\n")
            typed = head + "\n" + tail.removeprefix(INDENT)
        kind = FIRST if i == 0 else AFTER_ENTER if intent[stop - 1 - len(INDENT)] == "\n" \
            else MID
        out.append(Pause(typed, suggestion_at(stop), kind))
        previous = stop
    return [p for p in out if p.expect]


class Oracle:
    """The simulator's FIM model for the session (`suggestion_at` where the prompt ends);
    other files get the simulator's usual model."""

    def __init__(self) -> None:
        self.whole = BASE + plain_intent()

    def __call__(self, prompt: str, suffix: str | None) -> str:
        if FILENAME not in prompt.split("\n", 1)[0]:
            return fim_completion(prompt, suffix)
        at = self._cursor(prompt)
        return "" if at is None else suggestion_at(at - len(BASE))

    def _cursor(self, prompt: str) -> int | None:
        """Where in the file the prompt ends (the prompt ends at the cursor)."""
        for k in range(len(self.whole), len(BASE) - 1, -1):
            if prompt.endswith(self.whole[max(0, k - 120):k]):
                return k
        return None


@dataclass
class Measured:
    """One pause: instants in seconds on one clock (None when not seen)."""

    kind: str
    key: float  # the last keystroke reached the editor
    ghost: float | None  # the right ghost text was on screen
    sent: float | None = None  # the editor sent the request that answered (if visible)
    arrived: float | None = None  # that request reached the simulator
    answered: float | None = None  # the simulator finished its answer


def attach_requests(pauses_: list[Measured], requests: Iterable[Any],
                    to_clock: Callable[[float], float] = lambda t: t) -> None:
    """For each pause, the last FIM request that arrived between its keystroke and its ghost
    text (none when the ghost came without asking, e.g. from type-ahead)."""
    reqs = sorted(requests, key=lambda r: r.started)
    for p in pauses_:
        if p.ghost is None:
            continue
        inside = [r for r in reqs if p.key <= to_clock(r.started) <= p.ghost]
        if inside:
            r = inside[-1]
            p.arrived = to_clock(r.started)
            p.answered = to_clock(r.finished) if r.finished is not None else None


def _median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f}" if values else "–"


def table(title: str, measured: list[Measured]) -> str:
    """Medians per kind of pause, as a Markdown table."""
    head = (f"{title}\n\n| pause | n | shown | last key → ghost text | key → request sent "
            "| key → request at API | at API → answer end | answer end → ghost text |\n"
            "|---|---|---|---|---|---|---|---|")
    rows = [head]
    for kind in KINDS:
        group = [m for m in measured if m.kind == kind]
        if not group:
            continue
        shown = [m for m in group if m.ghost is not None]
        total = [m.ghost - m.key for m in shown]
        sent = [m.sent - m.key for m in shown if m.sent is not None]
        arrived = [m.arrived - m.key for m in shown if m.arrived is not None]
        upstream = [m.answered - m.arrived for m in shown
                    if m.arrived is not None and m.answered is not None]
        back = [m.ghost - m.answered for m in shown if m.answered is not None]
        rows.append(f"| {kind} | {len(group)} | {len(shown)} | {_median_ms(total)} | "
                    f"{_median_ms(sent)} | {_median_ms(arrived)} | {_median_ms(upstream)} | "
                    f"{_median_ms(back)} |")
    return "\n".join(rows)
