"""The wait before asking, counted from the last edit: short for a steady typist, longer for
one whose gaps are long, capped, and never stacked on a wait the editor already made."""

from __future__ import annotations

from deepseek_lsp.completion.engine import TypingRhythm


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def typed(rhythm: TypingRhythm, clock: Clock, gaps: list[float]) -> None:
    for gap in gaps:
        clock.now += gap
        rhythm.edited()


def test_a_steady_typist_is_asked_for_soon_after_they_stop():
    clock = Clock()
    rhythm = TypingRhythm(clock)
    typed(rhythm, clock, [0.09] * 12)  # 90 ms between keys, like a scripted editor test
    assert abs(rhythm.target_s(0.05, adaptive=True) - 1.2 * 0.09) < 1e-9
    assert rhythm.target_s(0.15, adaptive=True) == 0.15  # never below debounceMs


def test_an_uneven_typist_waits_for_a_gap_longer_than_most_of_theirs():
    clock = Clock()
    rhythm = TypingRhythm(clock)
    typed(rhythm, clock, [0.1, 0.3, 0.1, 0.12, 0.25, 0.1, 0.14, 0.11, 0.2, 0.1])
    assert abs(rhythm.target_s(0.1, adaptive=True) - 1.2 * 0.25) < 1e-9  # the 90th percentile


def test_without_adaptive_debounce_the_setting_is_the_wait():
    clock = Clock()
    rhythm = TypingRhythm(clock)
    typed(rhythm, clock, [0.3] * 12)
    assert rhythm.target_s(0.0, adaptive=False) == 0.0
    assert rhythm.target_s(0.15, adaptive=False) == 0.15


def test_too_little_history_gives_the_setting():
    clock = Clock()
    rhythm = TypingRhythm(clock)
    typed(rhythm, clock, [0.3] * (TypingRhythm.MIN_SAMPLES - 1))
    assert rhythm.target_s(0.1, adaptive=True) == 0.1


def test_pauses_are_not_rhythm():
    clock = Clock()
    rhythm = TypingRhythm(clock)
    typed(rhythm, clock, [5.0] * 10)  # one keystroke every few seconds: breaks
    assert rhythm.target_s(0.1, adaptive=True) == 0.1
    # a steady typist who stops to read now and then: the reading is not their rhythm
    typed(rhythm, clock, [0.1, 0.1, 0.1, 0.7, 0.1, 0.1, 0.1, 0.9, 0.1, 0.1, 0.1, 0.1])
    assert abs(rhythm.target_s(0.05, adaptive=True) - 1.2 * 0.1) < 1e-9
    typed(rhythm, clock, [0.45] * 12)  # a slow typist: the wait stays under 0.6 s
    assert abs(rhythm.target_s(0.1, adaptive=True) - 1.2 * 0.45) < 1e-9


def test_the_wait_counts_from_the_last_edit_not_from_the_request():
    """An editor that waited 200 ms itself (Neovim 0.12) is not made to wait again."""
    clock = Clock()
    rhythm = TypingRhythm(clock)
    typed(rhythm, clock, [0.1] * 10)
    assert rhythm.remaining_s(0.15) == 0.15  # asked right after the keystroke
    clock.now += 0.05
    assert abs(rhythm.remaining_s(0.15) - 0.10) < 1e-9
    clock.now += 0.2  # the request arrives 250 ms after the keystroke
    assert rhythm.remaining_s(0.15) == 0.0
