"""The benchmark runs (a short session at 4x speed), and its baselines behave as named."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from benchmarks import typing_session as ts


async def test_short_session_asks_far_less_than_the_naive_baseline():
    intent = ts.INTENT[:250]
    ours, naive = await asyncio.gather(ts.play(ts.CONFIGS[0], intent=intent, speed=4),
                                       ts.play(ts.CONFIGS[1], intent=intent, speed=4))
    assert naive.upstream >= 0.9 * naive.keystrokes  # about one request per keystroke
    assert ours.upstream * 3 < naive.upstream
    assert ours.upstream_while_typing_through == 0
    assert ours.characters == naive.characters == len(intent)
    assert len(ours.pause_latencies_ms) >= len(naive.pause_latencies_ms) * len(ours.pauses) \
        / max(1, len(naive.pauses)) * 0.5  # ghost text at pauses: not far behind, at worst


async def test_a_diverging_keystroke_gets_its_answer_without_waiting_for_the_stale_call():
    from benchmarks import scripted_editor

    result = await scripted_editor.divergence()
    assert result.stale_closed
    assert result.seconds_to_new_answer < 1.0  # the stale call had 1.5 s to go


def test_the_benchmark_command_prints_its_tables():
    result = subprocess.run([sys.executable, "-m", "benchmarks", "--quick"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for needle in ("### Typing session", "deepseek-lsp", "naive", "minuet-like",
                   "sliding-window", "confidence check", "### Ghost text at pauses",
                   "mid-line", "after an accept", "### A scripted editor",
                   "A diverging keystroke", "server overhead per inline completion",
                   "`initialize` from process start", "resident memory"):
        assert needle in result.stdout
