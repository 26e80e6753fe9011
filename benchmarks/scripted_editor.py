"""An editor that types at a fixed pace, measured at the network's floor.

Where `typing_session` plays a human with a rhythm, this plays the scripted editor of real-editor
tests: a key every 90 ms, a request per keystroke that cancels the previous one, pauses of
1.2 s mid-line (after a space) and at line ends, against an upstream whose first token comes
150 ms after the request (the simulator, its model always right here, so that only latency is
measured). The floor for a pause that needs a new request is that 150 ms plus a few for the
server and the loop.

Also measured:
- an editor that waits itself before asking (Neovim 0.12's native inline completion waits
  200 ms): the server must not add a wait of its own on top;
- a diverging keystroke while a slow call (1.5 s to its first token) is in flight: the time
  from that keystroke to the new answer, and whether the stale call's connection was closed.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field

from deepseek_lsp.api.backend import ApiBackend
from deepseek_lsp.completion.engine import CompletionEngine, CompletionQuery, EngineOptions
from deepseek_lsp.config import Settings
from deepseek_lsp.simulator import Rule, SimulatorThread

#: What the editor types (thirteen lines of Python, pauses marked: `|` mid-line, `¶` at a line end).
SCRIPT = (
    "def total(values):\n"
    "    result = 0\n"
    "    for value in |values:\n"
    "        result += |value¶\n"
    "    return result¶\n"
    "\n"
    "\n"
    "def mean(values):\n"
    "    count = len(|values)¶\n"
    "    return total(values) / |count¶\n"
    "\n"
    "\n"
    "print(mean([1, 2]))\n"
)
BASE = "import math\n\n\n"
KEY_S = 0.09
PAUSE_S = 1.2


@dataclass
class Editor:
    name: str
    debounce_ms: int
    options: EngineOptions
    adaptive: bool = True
    editor_wait_s: float = 0.0  # the editor waits this long after a key before asking


EDITORS = [
    Editor("deepseek-lsp", Settings().debounce_ms, EngineOptions()),
    Editor("deepseek-lsp, editor waits 200 ms itself (Neovim 0.12)", Settings().debounce_ms,
           EngineOptions(), editor_wait_s=0.2),
    Editor("naive (every keystroke)", 0,
           EngineOptions(typeahead=False, cache=False, speculate=False), adaptive=False),
    Editor("fixed 400 ms debounce", 400,
           EngineOptions(typeahead=False, cache=False, speculate=False), adaptive=False),
]


class KnowsTheScript:
    """The simulated model: always right, but it sees only the next word ahead (up to the
    next space, the end of the line, or the first word of the next line) — so a pause needs a
    request of its own, as in the real-editor tests."""

    def __init__(self, intent: str) -> None:
        self.intent = intent

    def __call__(self, prompt: str, suffix: str | None) -> str:
        whole, start = BASE + self.intent, len(BASE)
        for k in range(len(self.intent), -1, -1):
            if prompt.endswith(whole[max(0, start + k - 60) : start + k]):
                rest = self.intent[k:]
                blank = len(rest) - len(rest.lstrip("\n"))
                line = rest[blank:].split("\n", 1)[0]
                indent = len(line) - len(line.lstrip())
                word_end = line.find(" ", indent)
                return rest[:blank] + (line if word_end < 0 else line[:word_end])
        return ""


@dataclass
class Result:
    name: str
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"mid-line": [],
                                                                        "line end": []})
    pauses: dict[str, int] = field(default_factory=lambda: {"mid-line": 0, "line end": 0})
    requests: int = 0
    keystrokes: int = 0


async def play(editor: Editor, *, ttft_ms: int = 150, script: str = SCRIPT) -> Result:
    intent = script.replace("|", "").replace("¶", "")
    pauses = {}
    position = 0
    for ch in script:
        if ch in "|¶":
            pauses[position] = "mid-line" if ch == "|" else "line end"
        else:
            position += 1
    result = Result(editor.name)
    with SimulatorThread(ttft_ms=ttft_ms, tokens_per_s=500) as sim:
        sim.fake.fim_model = KnowsTheScript(intent)
        settings = Settings(api_key="sk-benchmark", base_url=sim.base_url, neighbor_files=False,
                            debounce_ms=editor.debounce_ms, adaptive_debounce=editor.adaptive)
        backend = ApiBackend(lambda: settings)
        engine = CompletionEngine(backend, lambda: settings, options=editor.options)
        if editor.options.speculate:
            await backend.warm(settings)
        text = BASE
        pending: asyncio.Task[object] | None = None
        for i, ch in enumerate(intent):
            text += ch
            result.keystrokes += 1
            query = CompletionQuery("file:///bench/s.py", i, text, len(text), "s.py", "python")
            engine.document_changed(query)
            if pending is not None and not pending.done():
                pending.cancel()
            pause = pauses.get(i + 1)
            pressed = time.monotonic()
            wanted = (intent[i + 1:].split("\n", 1)[0] or intent[i + 1:].lstrip("\n")).strip()

            async def ask(q: CompletionQuery = query) -> object:
                if editor.editor_wait_s:
                    await asyncio.sleep(editor.editor_wait_s)
                return await engine.complete(q)

            pending = asyncio.ensure_future(ask())
            if pause is None or not wanted:  # nothing left to suggest: not a pause to serve
                await asyncio.sleep(KEY_S)
                continue
            result.pauses[pause] += 1
            try:
                answer = await asyncio.wait_for(asyncio.shield(pending), PAUSE_S)
            except TimeoutError:
                answer = None
            took = time.monotonic() - pressed
            shown = getattr(answer, "text", "").strip()
            if shown and wanted and wanted.startswith(shown[:5]):
                result.latencies[pause].append(took * 1000)
            await asyncio.sleep(max(0.0, PAUSE_S - took))
        if pending is not None:
            pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)
        await backend.aclose()
        result.requests = len(sim.requests("/beta/completions"))
    return result


@dataclass
class Divergence:
    seconds_to_new_answer: float
    stale_closed: bool
    stale_closed_after_s: float | None


async def divergence(*, slow_s: float = 1.5) -> Divergence:
    """A slow call in flight; the user types something it cannot serve; how soon is the new
    suggestion there, and was the stale call's connection closed?"""
    with SimulatorThread(tokens_per_s=500) as sim:
        sim.script(Rule(path="/beta/completions", match="total = ", text="sum(values)",
                        ttft_s=slow_s, times=1),
                   Rule(path="/beta/completions", text="print(values)", ttft_s=0.15))
        settings = Settings(api_key="sk-benchmark", base_url=sim.base_url, neighbor_files=False,
                            debounce_ms=0)
        backend = ApiBackend(lambda: settings)
        engine = CompletionEngine(backend, lambda: settings)
        await backend.warm(settings)
        text = "values = [1, 2]\ntotal = "
        first = asyncio.ensure_future(engine.complete(
            CompletionQuery("file:///d.py", 1, text, len(text), "d.py", "python")))
        await asyncio.sleep(0.3)
        diverged = "values = [1, 2]\n"  # the user deletes what they typed: a new line
        query = CompletionQuery("file:///d.py", 2, diverged, len(diverged), "d.py", "python")
        engine.document_changed(query)
        started = time.monotonic()
        first.cancel()
        answer = await engine.complete(query)
        took = time.monotonic() - started
        await asyncio.gather(first, return_exceptions=True)
        stale = sim.requests("/beta/completions")[0]
        await asyncio.sleep(0.2)
        await backend.aclose()
        closed_after = (stale.finished - started if stale.disconnected and stale.finished
                        else None)
        assert answer is not None
        return Divergence(took, bool(stale.disconnected), closed_after)


async def run_all(*, quick: bool = False) -> tuple[list[Result], Divergence]:
    """Every editor, concurrently (each with its own simulator and engine), then the
    divergence. `quick`: the first five lines of the script only (two pauses of each kind,
    the last line end with nothing after it to suggest, so not counted)."""
    script = "".join(SCRIPT.splitlines(keepends=True)[:5]) if quick else SCRIPT
    results = list(await asyncio.gather(*(play(e, script=script) for e in EDITORS)))
    return results, await divergence()


def table(results: list[Result], div: Divergence) -> str:
    def cell(r: Result, kind: str) -> str:
        values = r.latencies[kind]
        median = f"{statistics.median(values):.0f}" if values else "–"
        return f"{len(values)}/{r.pauses[kind]}, {median}"

    rows = ["| editor | mid-line pauses (ghost text / pauses, median ms) | line ends | "
            "requests / keystroke |", "|---|---|---|---|"]
    for r in results:
        rows.append(f"| {r.name} | {cell(r, 'mid-line')} | {cell(r, 'line end')} | "
                    f"{r.requests / max(1, r.keystrokes):.3f} ({r.requests}) |")
    closed = (f"closed {div.stale_closed_after_s * 1000:.0f} ms after the keystroke"
              if div.stale_closed and div.stale_closed_after_s is not None
              else "closed" if div.stale_closed else "NOT closed")
    rows.append("")
    rows.append(f"A diverging keystroke while a 1.5 s call is in flight: the new suggestion "
                f"{div.seconds_to_new_answer * 1000:.0f} ms after it (upstream 150 ms); the "
                f"stale call's connection {closed}.")
    return "\n".join(rows)
