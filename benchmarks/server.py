"""The server measured as editors run it: a subprocess over stdio.

- overhead per inline completion on a 1 MB / 20,000-line file: the LSP round trip minus the
  time the simulator spent answering (upstream), with no debounce and an instant simulator;
- prompt building + post-processing in-process on the same file, and how it grows with size;
- `initialize` time from process start, against a bare pygls server;
- resident memory with 20 open files of 5 MB in total.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient

from deepseek_lsp.completion.context import FimPlan, build_fim_request
from deepseek_lsp.completion.postprocess import postprocess
from deepseek_lsp.config import Settings
from deepseek_lsp.demo import INLINE_CLIENT, Editor
from deepseek_lsp.simulator import Rule, SimulatorThread

BARE_SERVER = Path(__file__).with_name("bare_server.py")


def big_file(lines: int = 20_000, line_chars: int = 50) -> str:
    """About `lines * line_chars` characters of Python."""
    body = []
    for i in range(lines):
        if i % 10 == 0:
            body.append(f"def handler_{i}(request, context):".ljust(line_chars - 1))
        else:
            line = f"    value_{i % 97} = compute(request, {i}) + offset"
            body.append(line.ljust(line_chars - 1))
    return "\n".join(body) + "\n"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def in_process(sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000, 10_000_000),
               runs: int = 300) -> list[tuple[int, float, float]]:
    """(bytes, p50 ms, p99 ms) of build_fim_request + postprocess at a mid-file cursor."""
    settings = Settings(neighbor_files=False)
    out = []
    for size in sizes:
        text = big_file(lines=max(1, size // 50))
        offsets = [len(text) // 2 + (i * 7919) % 5000 for i in range(runs)]
        times = []
        for off in offsets:
            off = text.find("\n", off)  # at the end of a line: a request is built
            t = time.perf_counter()
            plan = build_fim_request(text, off, path="big.py", language_id="python",
                                     settings=settings)
            assert isinstance(plan, FimPlan), plan
            postprocess(" + 1\n", plan.postprocess_context)
            times.append((time.perf_counter() - t) * 1000)
        out.append((len(text), percentile(times, 50), percentile(times, 99)))
    return out


async def overhead(requests: int = 200, lines: int = 20_000) -> tuple[float, float]:
    """(p50, p99) ms of server overhead per inline completion on a file of `lines` lines of
    50 characters (20,000 lines: 1 MB)."""
    with SimulatorThread() as sim:
        sim.script(Rule(path="/beta/completions", text="result = compute(request, 1)"))
        env = {**os.environ, "DEEPSEEK_API_KEY": "sk-benchmark", "DEEPSEEK_BASE_URL": sim.base_url}
        editor, _ = await Editor.launch(env, init_options={"debounceMs": 0,
                                                           "neighborFiles": False})
        try:
            text = big_file(lines=lines)
            editor.open("file:///bench/big.py", text)
            middle = text.rfind("\n", 0, len(text) // 2) + 1
            editor.move_to(middle)
            editor.type("\n    ")
            await editor.ghost()  # warm up: model discovery, connection
            samples = []
            for i in range(requests):
                editor.type("xyz"[i % 3] if i % 20 else "\n    ")
                if i % 20 == 0:
                    continue
                seen = len(sim.requests("/beta/completions"))
                t = time.perf_counter()
                await editor.ghost()
                total = (time.perf_counter() - t) * 1000
                new = sim.requests("/beta/completions")[seen:]
                upstream = sum((r.finished - r.started) * 1000 for r in new if r.finished)
                samples.append(max(0.0, total - upstream))
            return percentile(samples, 50), percentile(samples, 99)
        finally:
            await editor.stop()


async def _initialize_once(cmd: list[str], env: dict[str, str]) -> float:
    client = LanguageClient("bench", "1")
    started = time.perf_counter()
    await client.start_io(*cmd, env=env)
    await client.initialize_async(lsp.InitializeParams(capabilities=INLINE_CLIENT))
    elapsed = time.perf_counter() - started
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return elapsed * 1000


async def initialize_times(runs: int = 11) -> tuple[float, float]:
    """Median ms from process start to the `initialize` answer: (deepseek-lsp, bare pygls)."""
    # As installed servers start: from compiled bytecode (pip compiles on install; an editable
    # install under PYTHONDONTWRITEBYTECODE would otherwise compile every module on each start).
    cache = tempfile.mkdtemp(prefix="bench-pycache-")
    env = {**os.environ, "DEEPSEEK_API_KEY": "sk-benchmark",
           "DEEPSEEK_BASE_URL": "http://127.0.0.1:9", "PYTHONPYCACHEPREFIX": cache}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    ours, bare = [], []
    await _initialize_once([sys.executable, "-m", "deepseek_lsp"], env)  # writes the bytecode
    await _initialize_once([sys.executable, str(BARE_SERVER)], env)
    for _ in range(runs):
        ours.append(await _initialize_once([sys.executable, "-m", "deepseek_lsp"], env))
        bare.append(await _initialize_once([sys.executable, str(BARE_SERVER)], env))
    shutil.rmtree(cache, ignore_errors=True)
    return statistics.median(ours), statistics.median(bare)


async def rss_with_open_files(files: int = 20, total_bytes: int = 5_000_000) -> float:
    """MB of resident memory after opening `files` files and completing in each."""
    with SimulatorThread() as sim:
        sim.script(Rule(path="/beta/completions", text="pass"))
        env = {**os.environ, "DEEPSEEK_API_KEY": "sk-benchmark", "DEEPSEEK_BASE_URL": sim.base_url}
        editor, _ = await Editor.launch(env, init_options={"debounceMs": 0})
        try:
            per_file = big_file(lines=total_bytes // files // 50)
            for i in range(files):
                editor.open(f"file:///bench/f{i}.py", per_file)
                editor.move_to(len(per_file))
                editor.type("\n")
                await editor.ghost()
            pid = editor.client._server.pid  # the subprocess we started
            status = Path(f"/proc/{pid}/status").read_text()
            kb = next(int(line.split()[1]) for line in status.splitlines()
                      if line.startswith("VmRSS:"))
            return kb / 1024
        finally:
            await editor.stop()


def run_all(quick: bool = False) -> dict[str, object]:
    return {
        "in_process": in_process(runs=60 if quick else 300,
                                 sizes=(10_000, 1_000_000) if quick
                                 else (10_000, 100_000, 1_000_000, 10_000_000)),
        "overhead": asyncio.run(overhead(40 if quick else 200)),
        "overhead_by_size": [] if quick else [
            (lines * 50, *asyncio.run(overhead(60, lines))) for lines in (200, 2_000, 200_000)
        ],
        "initialize": asyncio.run(initialize_times(2 if quick else 11)),
        "rss": asyncio.run(rss_with_open_files()),
    }
