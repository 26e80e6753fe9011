"""The benchmark runs (a short session at 4x speed), and its baselines behave as named."""

from __future__ import annotations

import subprocess
import sys

from benchmarks import typing_session as ts


async def test_short_session_asks_far_less_than_the_naive_baseline():
    intent = ts.INTENT[:250]
    ours = await ts.play(ts.CONFIGS[0], intent=intent, speed=4)
    naive = await ts.play(ts.CONFIGS[1], intent=intent, speed=4)
    assert naive.upstream >= 0.9 * naive.keystrokes  # about one request per keystroke
    assert ours.upstream * 3 < naive.upstream
    assert ours.upstream_while_typing_through == 0
    assert ours.characters == naive.characters == len(intent)


def test_the_benchmark_command_prints_its_tables():
    result = subprocess.run([sys.executable, "-m", "benchmarks", "--quick"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for needle in ("### Typing session", "deepseek-lsp", "naive", "minuet-like",
                   "sliding-window", "server overhead per inline completion",
                   "`initialize` from process start", "resident memory"):
        assert needle in result.stdout
