"""The adaptive debounce: short where people pause, longer mid-line for a fast typist."""

from __future__ import annotations

from deepseek_lsp.completion.engine import TypingRhythm


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_mid_line_waits_for_a_gap_longer_than_the_usual_one():
    clock = Clock()
    rhythm = TypingRhythm(clock)
    delays = []
    for _ in range(10):
        clock.now += 0.12  # a fast typist: 120 ms between keys
        delays.append(rhythm.debounce_s("    total = compu", 150))
    assert delays[0] == 0.15  # not enough history yet: the configured minimum
    assert abs(delays[-1] - 0.3) < 1e-9  # 2.5 x 120 ms


def test_where_people_pause_only_the_minimum_applies():
    clock = Clock()
    rhythm = TypingRhythm(clock)
    for _ in range(10):
        clock.now += 0.12
        rhythm.debounce_s("x = f", 150)
    for prefix in ("    ", "", "def f(", "x = ", "items = [", "if x:", "fn() ->"):
        clock.now += 0.12
        assert rhythm.debounce_s(prefix, 150) == 0.15, prefix


def test_long_breaks_are_not_part_of_the_rhythm_and_the_wait_is_capped():
    clock = Clock()
    rhythm = TypingRhythm(clock)
    for _ in range(10):
        clock.now += 5.0  # one keystroke every few seconds: breaks, not rhythm
        assert rhythm.debounce_s("abc", 100) == 0.1
    for _ in range(10):
        clock.now += 0.9  # a very slow typist
        delay = rhythm.debounce_s("abc", 100)
    assert delay == TypingRhythm.MAX_S
