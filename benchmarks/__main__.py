"""`python -m benchmarks [--quick]`: measure and print the tables of docs/performance.md."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
from typing import Any

from benchmarks import scripted_editor, server, typing_session


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.0f}" if values else "–"


def typing_table(results: list[typing_session.Result]) -> str:
    """Requests and cost per configuration."""
    rows = [
        "| configuration | keystrokes | requests / keystroke | requests per 100 characters "
        "written | requests while typing through | prefix-cache hit share "
        "| est. cost per 1,000 characters written | est. cost per hour of typing |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        rows.append(
            f"| {r.config} | {r.keystrokes} ({r.accepted} Tab, {r.typed_through} typed "
            f"through) | {r.per_keystroke:.3f} ({r.upstream}) | "
            f"{100 * r.upstream / max(1, r.characters):.2f} | "
            f"{r.upstream_while_typing_through} | {r.hit_share:.1%} | "
            f"${r.cost_per_1000_chars:.5f} | ${r.cost_per_hour:.4f} |")
    return "\n".join(rows)


def presence_table(results: list[typing_session.Result]) -> str:
    """Ghost text at pauses: how often, how soon (median ms from the last keystroke), by kind
    of pause, and how often it was wrong."""
    kinds = typing_session.KINDS
    rows = [
        "| configuration | pauses with ghost text | median pause → ghost text (ms) | "
        + " | ".join(kinds) + " | wrong ghost text per 100 pauses | right ghost text at "
        "pauses on lines the model knew |",
        "|---|---|---|" + "---|" * len(kinds) + "---|---|",
    ]
    for r in results:
        right, known = r.right_where_known
        cells = [f"{len(r.latencies(k))}/{r.count(k)}, {_median(r.latencies(k))}"
                 for k in kinds]
        rows.append(f"| {r.config} | {len(r.pause_latencies_ms)}/{len(r.pauses)} "
                    f"({len(r.pause_latencies_ms) / max(1, len(r.pauses)):.0%}) | "
                    f"{_median(r.pause_latencies_ms)} | " + " | ".join(cells)
                    + f" | {r.wrong_per_100_pauses:.1f} | {right}/{known} "
                    f"({right / max(1, known):.0%}) |")
    return "\n".join(rows)


def server_table(m: dict[str, object]) -> str:
    p50, p99 = m["overhead"]  # type: ignore[misc]
    ours, bare = m["initialize"]  # type: ignore[misc]
    rows = [
        "| measure | result | target (SPEC §6) |",
        "|---|---|---|",
        f"| server overhead per inline completion, 1 MB / 20,000 lines | p50 {p50:.2f} ms, "
        f"p99 {p99:.2f} ms | p50 ≤ 5 ms, p99 ≤ 20 ms |",
    ]
    for size, o50, o99 in m["overhead_by_size"]:  # type: ignore[attr-defined]
        rows.append(f"| server overhead per inline completion, {size / 1e6:.2f} MB | "
                    f"p50 {o50:.2f} ms, p99 {o99:.2f} ms | – |")
    for size, b50, b99 in m["in_process"]:  # type: ignore[attr-defined]
        rows.append(f"| prompt building + post-processing in-process, {size / 1e6:.2f} MB | "
                    f"p50 {b50:.3f} ms, p99 {b99:.3f} ms | p50 ≤ 1 ms at 1 MB |")
    rows.append(f"| `initialize` from process start | {ours:.0f} ms vs bare pygls "
                f"{bare:.0f} ms ({ours / bare:.2f}×) | ≤ 1.3× |")
    rows.append(f"| resident memory, 20 open files of 5 MB in total | {m['rss']:.0f} MB "
                f"| ≤ 120 MB |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true",
                        help="a shorter session at 4x speed (a smoke run, not for the docs)")
    args = parser.parse_args()
    speed = 4.0 if args.quick else 1.0
    intent = typing_session.INTENT[:400] if args.quick else typing_session.INTENT
    seeds = typing_session.SEEDS[:1] if args.quick else typing_session.SEEDS
    sessions = typing_session.play_all(speed=speed, intent=intent, seeds=seeds)
    scripted_run = scripted_editor.run_all(quick=args.quick)
    if args.quick:  # side by side: a smoke run is not for timing

        async def both() -> tuple[Any, Any]:
            return await asyncio.gather(sessions, scripted_run)

        results, (scripted, divergence) = asyncio.run(both())
    else:
        results = asyncio.run(sessions)
        scripted, divergence = asyncio.run(scripted_run)
    measured = server.run_all(quick=args.quick)
    print(f"Machine: {machine()}\n")
    print(f"### Typing session ({len(seeds)} typists; simulated DeepSeek: 600 ms to first "
          "token, 50 tokens/s, 300 ms to set up a connection)\n")
    print(typing_table(results))
    print("\n### Ghost text at pauses (shown/pauses, median ms from the last keystroke)\n")
    print(presence_table(results))
    print("\n### A scripted editor at the network's floor (a key every 90 ms, 150 ms to the "
          "first token)\n")
    print(scripted_editor.table(scripted, divergence))
    print("\n### Server\n")
    print(server_table(measured))


if __name__ == "__main__":
    main()
