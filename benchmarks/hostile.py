"""`python -m benchmarks.hostile`: the server against misbehaving upstreams (SPEC §6).

Each scenario starts the server as editors do (a subprocess over stdio, default settings),
points it at one mode of `tests/reliability/hostile_upstream.py` and makes one request:
`deepseek.chat` for the streamed-chat modes, an inline completion for the FIM modes. While
it is in flight the benchmark samples the server's resident memory every 10 ms
(`/proc/PID/status`; the peak is the kernel's `VmHWM`) and sends `deepseek.status` back to
back (for at least `PING_WINDOW_S`): the slowest of those round trips is the longest the
event loop was blocked, and the messages the server showed are listed. A server
that passes `KILL_RSS_MB` is killed, and one that does not answer within `GIVE_UP_S` is
abandoned; the table says so instead of a number.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pygls.exceptions import JsonRpcException

from deepseek_lsp.demo import Editor
from tests.reliability.hostile_upstream import HostileUpstream

KILL_RSS_MB = 2500.0
GIVE_UP_S = 90.0
KEY = "sk-benchmark-hostile-0123456789"


@dataclass(frozen=True)
class Scenario:
    name: str
    mode: str
    request: str  # "chat", "fim-stream" or "fim-json"
    settings: tuple[tuple[str, Any], ...] = ()


SCENARIOS = [
    Scenario("endless SSE `data:` line", "endless-line", "chat"),
    Scenario("endless SSE `data:` line", "endless-line", "fim-stream"),
    Scenario("endless valid chunks", "endless-content", "chat"),
    Scenario("endless valid chunks", "endless-content", "fim-stream"),
    Scenario("one 50 MB SSE line", "huge-line", "fim-stream"),
    Scenario("100 MB JSON body", "huge-body", "fim-json"),
    Scenario("100 MB JSON body, no `Content-Length`", "huge-body-unsized", "fim-json"),
    Scenario("100 MB JSON body, no `Content-Length`, `maxTokens` 4096", "huge-body-unsized",
             "fim-json", (("maxTokens", 4096),)),
]
#: `deepseek.status` is sent back to back for at least this long, even when the request
#: is answered sooner (a stall right after the answer counts too).
PING_WINDOW_S = 1.0
REQUESTS = {"chat": "`deepseek.chat`", "fim-stream": "inline completion, streamed",
            "fim-json": "inline completion, `streamCompletions: false`"}


@dataclass
class Measured:
    scenario: Scenario
    answer: str
    seconds: float
    peak_rss_mb: float
    start_rss_mb: float
    worst_status_ms: float
    statuses: int
    killed: bool = False
    gave_up: bool = False


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A memory figure of a process from /proc (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def describe(result: Any) -> str:
    if isinstance(result, BaseException):
        text = str(result.args[0] if isinstance(result, JsonRpcException) and result.args
                   else result)
        return f"error: {text[:250]}"
    if result is None:
        return "no suggestion"
    if isinstance(result, dict):
        content = str(result.get("content", ""))
        return f"answer of {len(content):,} characters"
    text = result.insert_text if isinstance(result.insert_text, str) else result.insert_text.value
    return f"suggestion of {len(text):,} characters"


async def run_one(upstream: HostileUpstream, scenario: Scenario) -> Measured:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPSEEK_")}
    env.update(DEEPSEEK_API_KEY=KEY, DEEPSEEK_BASE_URL=upstream.base_url(scenario.mode))
    options = {"debounceMs": 0, "streamCompletions": scenario.request != "fim-json",
               **dict(scenario.settings)}
    editor, _ = await Editor.launch(env, init_options=options)
    server = editor.client._server
    assert server is not None
    pid = server.pid
    try:
        # warm up: imports (httpx is loaded on first use) and model discovery are not what
        # is measured; `GET /models` is answered properly in every mode
        await editor.command("deepseek.models")
        shown = len(editor.messages)
        # at the start of a function body: a multi-line request, `maxTokens` applies
        editor.open(Path("/tmp/hostile/app.py").as_uri(), "import os\n\n\ndef main():\n    ")
        editor.move_to(len(editor.doc.text))  # type: ignore[union-attr]
        start_rss = rss_mb(pid)
        if scenario.request == "chat":
            call = editor.command("deepseek.chat", {"question": "What is 2 + 2?"})
        else:
            call = editor.ghost()
        started = time.monotonic()
        task = asyncio.ensure_future(call)
        peak = [start_rss]
        killed = [False]
        status_ms: list[float] = []

        async def sample() -> None:
            while not task.done():
                peak[0] = max(peak[0], rss_mb(pid))
                if peak[0] > KILL_RSS_MB:
                    killed[0] = True
                    server.kill()
                    task.cancel()
                    return
                await asyncio.sleep(0.01)

        async def ping() -> None:
            while not task.done() or time.monotonic() - started < PING_WINDOW_S:
                t = time.monotonic()
                await editor.command("deepseek.status")
                status_ms.append((time.monotonic() - t) * 1000)
                await asyncio.sleep(0.01)

        sampler = asyncio.ensure_future(sample())
        pinger = asyncio.ensure_future(ping())
        gave_up = False
        try:
            result: Any = await asyncio.wait_for(asyncio.shield(task), GIVE_UP_S)
        except TimeoutError:
            gave_up = True
            result = None
            task.cancel()
        except (asyncio.CancelledError, Exception) as error:
            result = error
        seconds = time.monotonic() - started
        sampler.cancel()
        with contextlib.suppress(BaseException):
            await sampler
        # the round trip in flight when the request ended is often the one that waited longest
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(pinger, GIVE_UP_S)
        peak_rss = max(peak[0], rss_mb(pid, "VmHWM"))
        answer = describe(result)
        if editor.messages[shown:]:
            answer += "; message: " + " / ".join(m[:200] for m in editor.messages[shown:])
        return Measured(scenario, answer, seconds, peak_rss, start_rss,
                        max(status_ms, default=float("nan")), len(status_ms),
                        killed=killed[0], gave_up=gave_up)
    finally:
        with contextlib.suppress(BaseException):
            if server.returncode is None:
                await asyncio.wait_for(editor.stop(), 10)
        if server.returncode is None:
            server.kill()
            await server.wait()


async def run_all(scenarios: list[Scenario]) -> list[Measured]:
    with HostileUpstream() as upstream:
        return [await run_one(upstream, s) for s in scenarios]


def table(results: list[Measured]) -> str:
    rows = ["| upstream | request | what the editor got | answered after | peak server RSS "
            "(start) | worst `deepseek.status` round trip (n) |",
            "|---|---|---|---|---|---|"]
    for m in results:
        if m.killed:
            answer = f"nothing: killed at {KILL_RSS_MB:,.0f} MB"
        elif m.gave_up:
            answer = f"nothing within {GIVE_UP_S:.0f} s"
        else:
            answer = m.answer.replace("|", "\\|")
        rows.append(
            f"| {m.scenario.name} | {REQUESTS[m.scenario.request]} | {answer} | "
            f"{m.seconds:.2f} s | {m.peak_rss_mb:,.0f} MB ({m.start_rss_mb:.0f} MB) | "
            f"{m.worst_status_ms:,.0f} ms ({m.statuses}) |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.hostile")
    parser.add_argument("--only", help="run the scenarios whose mode contains this text")
    args = parser.parse_args()
    scenarios = [s for s in SCENARIOS if not args.only or args.only in s.mode]
    print(table(asyncio.run(run_all(scenarios))))


if __name__ == "__main__":
    main()
