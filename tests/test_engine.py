"""The completion engine on its own, with a scripted `Backend`: when it calls, when it
reuses, when it cancels, and what a cancelled call leaves behind.

The fake backend streams scripted pieces with scripted delays and records, for every call,
when it started, whether it ended, and whether it was closed before its end (what closing an
HTTP/1.1 connection does to DeepSeek's generation). No network: these are the engine's rules.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from deepseek_lsp.api.errors import ServerError
from deepseek_lsp.api.types import FimParams, FimResult, Usage
from deepseek_lsp.completion.engine import (
    ORPHAN_GRACE_S,
    CompletionEngine,
    CompletionQuery,
    EngineOptions,
    _Anchor,
)
from deepseek_lsp.config import Settings

PATH = "app.py"
URI = "file:///work/app.py"


@dataclass
class Call:
    params: FimParams
    started: float
    closed_early: bool = False
    ended: float | None = None


@dataclass
class Script:
    """What the fake model answers: the text in pieces, the wait before the first piece and
    between pieces, and per-piece token probabilities (None: no logprobs)."""

    text: str
    first_s: float = 0.0
    gap_s: float = 0.0
    pieces: int = 1
    probabilities: list[float] | None = None


class FakeStream:
    def __init__(self, script: Script, call: Call) -> None:
        self._script, self._call = script, call
        size = max(1, math.ceil(len(script.text) / script.pieces))
        self._pieces = [script.text[i:i + size] for i in range(0, len(script.text), size)]
        self._sent: list[str] = []

    @property
    def text(self) -> str:
        return "".join(self._sent)

    @property
    def logprobs(self) -> dict[str, Any] | None:
        if self._script.probabilities is None:
            return None
        probs = self._script.probabilities[: len(self._sent)]
        return {"tokens": list(self._sent), "token_logprobs": [math.log(p) for p in probs]}

    @property
    def result(self) -> FimResult:
        return FimResult(self.text, "stop", Usage(prompt_tokens=10, completion_tokens=5),
                         logprobs=self.logprobs)

    def __aiter__(self) -> FakeStream:
        return self

    async def __anext__(self) -> str:
        if len(self._sent) == len(self._pieces):
            raise StopAsyncIteration
        await asyncio.sleep(self._script.first_s if not self._sent else self._script.gap_s)
        piece = self._pieces[len(self._sent)]
        self._sent.append(piece)
        return piece


@dataclass
class FakeBackend:
    """Answers every FIM call with `script(params)`; records the calls."""

    answer: Any = None  # Script, or a callable params -> Script, or an exception to raise
    calls: list[Call] = field(default_factory=list)
    model: str | None = "deepseek-v4-flash"

    def fim_model(self, settings: Settings) -> str | None:
        return self.model

    def _script(self, params: FimParams) -> Script:
        answer = self.answer(params) if callable(self.answer) else self.answer
        if isinstance(answer, Exception):
            raise answer
        return answer if isinstance(answer, Script) else Script(answer or "")

    async def fim(self, params: FimParams, settings: Settings) -> FimResult:
        async with self.fim_stream(params, settings) as stream:
            async for _ in stream:
                pass
            return stream.result

    @asynccontextmanager
    async def fim_stream(self, params: FimParams, settings: Settings) -> AsyncIterator[Any]:
        call = Call(params, time.monotonic())
        self.calls.append(call)
        script = self._script(params)
        stream = FakeStream(script, call)
        try:
            yield stream
        finally:
            call.ended = time.monotonic()
            call.closed_early = len(stream._sent) < len(stream._pieces)


def settings(**changes: Any) -> Settings:
    base = Settings(api_key="sk-test", debounce_ms=0, neighbor_files=False, min_confidence=0.01)
    return base.replace(**changes)


def engine_with(backend: FakeBackend, *, options: EngineOptions | None = None,
                **changes: Any) -> CompletionEngine:
    current = settings(**changes)
    return CompletionEngine(backend, lambda: current, options=options or EngineOptions())


class Doc:
    """A document being typed into at its end, as an editor reports it."""

    def __init__(self, engine: CompletionEngine, text: str) -> None:
        self.engine, self.text = engine, text

    def query(self) -> CompletionQuery:
        return CompletionQuery(URI, 1, self.text, len(self.text), PATH, "python")

    def type(self, chars: str) -> None:
        self.text += chars
        self.engine.document_changed(self.query())

    def ask(self) -> asyncio.Task[Any]:
        return asyncio.ensure_future(self.engine.complete(self.query()))


async def until(check: Any, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


# -- reuse ----------------------------------------------------------------------------------------


async def test_keystrokes_typed_at_a_call_in_flight_wait_for_it_instead_of_asking():
    backend = FakeBackend(Script("total = sum(values)", first_s=0.2))
    engine = engine_with(backend)
    doc = Doc(engine, "values = [1, 2]\n")
    first = doc.ask()
    await until(lambda: backend.calls)
    later = []
    for ch in "tot":
        doc.type(ch)
        later.append(doc.ask())
        await asyncio.sleep(0.02)
    answers = await asyncio.gather(first, *later)
    # the first request was superseded while waiting out its wait (editors cancel it anyway);
    # each later one, typed at the call's cursor, gets the rest of the call's answer
    assert [a.text if a else None for a in answers] == [
        None, "otal = sum(values)", "tal = sum(values)", "al = sum(values)"]
    assert len(backend.calls) == 1
    assert engine.stats.flight_hits >= 1


async def test_typing_through_a_landed_suggestion_asks_nothing():
    backend = FakeBackend(Script("return a + b"))
    engine = engine_with(backend)
    doc = Doc(engine, "def add(a, b):\n    ")
    assert (await doc.ask()).text == "return a + b"
    for ch in "return a":
        doc.type(ch)
        answer = await doc.ask()
        assert answer is not None and "return a + b".endswith(answer.text)
    assert len(backend.calls) == 1
    assert engine.stats.typeahead_hits == len("return a")


async def test_the_same_request_again_is_answered_by_the_cache_keyed_with_the_model():
    backend = FakeBackend(Script("return a + b"))
    engine = engine_with(backend)
    doc = Doc(engine, "def add(a, b):\n    ")
    await doc.ask()
    engine.clear_cache()  # nothing shown any more
    engine.cache.put(engine._cache_key(*_plan(engine, doc)), FimResult("return b + a", "stop",
                                                                        Usage()))
    assert (await doc.ask()).text == "return b + a"  # from the cache, not a new call
    assert len(backend.calls) == 1 and engine.stats.cache_hits == 1
    backend.model = "deepseek-v4-pro"  # `auto` switched models: the old answers do not count
    engine.clear_cache()
    assert (await doc.ask()).text == "return a + b"
    assert len(backend.calls) == 2


async def test_moving_back_is_answered_from_the_cache_filled_by_the_first_call():
    """Only the cache can answer here: type-ahead holds the later position's suggestion."""
    def answer(params: FimParams) -> Script:
        return Script("return a + b" if params.prompt.endswith("    ") else "= 1")

    backend = FakeBackend(answer)
    engine = engine_with(backend)
    doc = Doc(engine, "def add(a, b):\n    ")
    assert (await doc.ask()).text == "return a + b"
    doc.type("x")  # something else than the suggestion
    await doc.ask()
    doc.text = doc.text[:-1]  # backspace
    engine.document_changed(doc.query())
    again = await doc.ask()
    assert again is not None and again.text == "return a + b"
    assert len(backend.calls) == 2 and engine.stats.cache_hits == 1
    assert len(engine.cache) == 2
    engine.clear_cache()
    assert len(engine.cache) == 0


def _plan(engine: CompletionEngine, doc: Doc) -> tuple[Any, Settings]:
    plan = engine._plan(doc.query(), engine._settings())
    return plan, engine._settings()


# -- cancellation ---------------------------------------------------------------------------------


async def test_a_diverging_keystroke_closes_the_call_at_once_and_never_waits_for_it():
    slow = Script("total = sum(values)", first_s=1.5)

    def answer(params: FimParams) -> Script:
        return slow if "[1, 2]\n" in params.prompt else Script("print(values)")

    backend = FakeBackend(answer)
    engine = engine_with(backend)
    doc = Doc(engine, "values = [1, 2]\n")
    first = doc.ask()
    await until(lambda: backend.calls)
    started = time.monotonic()
    doc.text = "values = [1, 2, 3]\n"  # an edit before the call's cursor: it is useless
    doc.engine.document_changed(doc.query())
    answer_b = await doc.ask()
    elapsed = time.monotonic() - started
    assert backend.calls[0].closed_early and backend.calls[0].ended is not None
    assert backend.calls[0].ended - started < 0.05  # closed at once, not 1.5 s later
    assert answer_b is not None and answer_b.text == "print(values)"
    assert elapsed < 0.5  # the new call did not queue behind the stale one
    assert await first is None


async def test_divergence_cancels_the_call_even_while_a_typed_request_waits_on_it():
    backend = FakeBackend(Script("total = sum(values)", first_s=1.5))
    engine = engine_with(backend)
    doc = Doc(engine, "values = [1, 2]\n")
    first = doc.ask()
    await until(lambda: backend.calls)
    first.cancel()  # the editor cancels its request as the next keystroke comes
    doc.type("t")
    waiting = doc.ask()  # typed at the call's cursor: waits for it
    await asyncio.sleep(0.02)
    doc.text = "values = [1, 2, 3]\nt"  # then edits before the call's cursor
    doc.engine.document_changed(doc.query())
    diverged = doc.ask()
    await until(lambda: backend.calls[0].ended is not None, timeout=0.5)
    assert backend.calls[0].closed_early
    assert await waiting is None
    await diverged


async def test_a_line_break_typed_past_a_single_line_call_does_not_wait_for_it():
    """A one-line suggestion cannot match typing that went on to the next line."""
    def answer(params: FimParams) -> Script:
        if params.prompt.endswith("= "):
            return Script("compute(values)", first_s=1.5)
        return Script("print(total)")

    backend = FakeBackend(answer)
    engine = engine_with(backend)
    doc = Doc(engine, "values = [1, 2]\ntotal = ")
    first = doc.ask()
    await until(lambda: backend.calls)
    first.cancel()
    doc.type("0\n")
    started = time.monotonic()
    answer_b = await doc.ask()
    assert time.monotonic() - started < 0.5
    assert answer_b is not None and answer_b.text == "print(total)"
    assert backend.calls[0].closed_early


async def test_a_call_nobody_waits_for_is_closed_after_the_grace():
    backend = FakeBackend(Script("total = sum(values)", first_s=2.0))
    engine = engine_with(backend)
    doc = Doc(engine, "values = [1, 2]\n")
    task = doc.ask()
    await until(lambda: backend.calls)
    task.cancel()
    cancelled_at = time.monotonic()
    await until(lambda: backend.calls[0].ended is not None, timeout=1.0)
    assert backend.calls[0].closed_early
    assert backend.calls[0].ended - cancelled_at >= ORPHAN_GRACE_S * 0.9


async def test_the_next_keystrokes_request_within_the_grace_keeps_the_call():
    backend = FakeBackend(Script("total = sum(values)", first_s=0.4))
    engine = engine_with(backend)
    doc = Doc(engine, "values = [1, 2]\n")
    task = doc.ask()
    await until(lambda: backend.calls)
    task.cancel()  # as editors do, just before the next keystroke's request
    doc.type("t")
    answer = await doc.ask()
    assert answer is not None and answer.text == "otal = sum(values)"
    assert len(backend.calls) == 1 and not backend.calls[0].closed_early


async def test_a_newer_request_supersedes_one_still_waiting():
    backend = FakeBackend(Script("x = 1"))
    engine = engine_with(backend, debounce_ms=300, adaptive_debounce=False)
    doc = Doc(engine, "import os\nvalue = o")
    first = doc.ask()
    await asyncio.sleep(0.05)
    doc.type("s")
    second = doc.ask()
    assert await first is None
    await second
    assert len(backend.calls) == 1


async def test_one_call_per_document_a_new_one_closes_the_old_at_once():
    """The invariant behind every cancellation path: a document never has two calls."""
    backend = FakeBackend(Script("total = sum(values)", first_s=2.0))
    engine = engine_with(backend)
    doc = Doc(engine, "values = [1, 2]\n")
    settings_now = engine._settings()
    plan = engine._plan(doc.query(), settings_now)
    state = engine._doc(URI)
    anchor = _Anchor.at(doc.text, len(doc.text), len(doc.text))
    engine._start_flight(state, anchor, plan, settings_now)
    await until(lambda: backend.calls)
    engine._start_flight(state, anchor, plan, settings_now)
    await until(lambda: backend.calls[0].ended is not None, timeout=0.5)
    assert backend.calls[0].closed_early
    engine.forget_document(URI)
    await until(lambda: all(c.ended is not None for c in backend.calls), timeout=0.5)


# -- the wait -------------------------------------------------------------------------------------


async def test_the_wait_counts_from_the_last_edit():
    backend = FakeBackend(Script("path.join(a, b)"))
    engine = engine_with(backend, debounce_ms=300, adaptive_debounce=False)
    doc = Doc(engine, "import os\nvalue = os.")
    doc.type("p")
    await asyncio.sleep(0.35)  # the editor asks late (it waited itself)
    started = time.monotonic()
    await doc.ask()
    assert time.monotonic() - started < 0.1  # not another 300 ms
    doc.type("a")
    started = time.monotonic()
    await doc.ask()
    assert time.monotonic() - started >= 0.25  # asked at once after the keystroke: it waits


async def test_a_fresh_line_is_asked_for_at_once():
    backend = FakeBackend(Script("return 1"))
    engine = engine_with(backend, debounce_ms=500, adaptive_debounce=False)
    doc = Doc(engine, "def f():\n")
    doc.type("    ")
    started = time.monotonic()
    await doc.ask()
    assert time.monotonic() - started < 0.2


# -- speculation and streaming --------------------------------------------------------------------


async def test_completing_a_suggestion_at_a_line_end_asks_for_the_next_line_at_once():
    def answer(params: FimParams) -> Script:
        if params.prompt.endswith("total = 0\n"):
            return Script("    for v in values:\n        total += v")
        return Script("total = 0")

    backend = FakeBackend(answer)
    engine = engine_with(backend)
    doc = Doc(engine, "def sum_of(values):\n    ")
    shown = await doc.ask()
    assert shown.text == "total = 0"
    doc.type(shown.text)  # Tab
    await until(lambda: len(backend.calls) == 2)  # before the editor asks anything
    assert engine.stats.prefetches == 1
    at_line_end = await doc.ask()
    assert at_line_end.text == "\n    for v in values:\n        total += v"
    doc.type("\n")
    after_enter = await doc.ask()
    assert after_enter.text == "    for v in values:\n        total += v"
    assert len(backend.calls) == 2


async def test_a_pause_at_the_end_of_a_finished_line_shows_the_next_line():
    # the user typed the whole line themselves and stops before Enter: the model's answer
    # for the rest of the line is to end it, so the next line is asked for and shown
    def answer(params: FimParams) -> Script:
        if params.prompt.endswith("total = 0\n"):
            return Script("    return total")
        return Script("")  # the model ends the line (DeepSeek stops at the line break)

    backend = FakeBackend(answer)
    engine = engine_with(backend)
    doc = Doc(engine, "def sum_of(values):\n    total = 0")
    shown = await doc.ask()
    assert shown is not None and shown.text == "\n    return total"
    assert len(backend.calls) == 2
    doc.type("\n    ")  # Enter, and the editor's indentation: typed into the suggestion
    after_enter = await doc.ask()
    assert after_enter.text == "return total"
    assert len(backend.calls) == 2
    # the same pause again is answered from the cache, next line and all
    engine.forget_document(URI)
    doc = Doc(engine, "def sum_of(values):\n    total = 0")
    again = await doc.ask()
    assert again is not None and again.text == "\n    return total"
    assert len(backend.calls) == 2


async def test_typing_on_after_a_line_end_answer_drops_the_next_line_call():
    def answer(params: FimParams) -> Script:
        if params.prompt.endswith("total = 0\n"):
            return Script("    return total", first_s=1.0)
        return Script("")

    backend = FakeBackend(answer)
    engine = engine_with(backend)
    doc = Doc(engine, "def sum_of(values):\n    total = 0")
    first = doc.ask()
    await until(lambda: len(backend.calls) == 2)
    doc.type("  # start")  # the line was not finished after all
    first.cancel()
    await doc.ask()
    assert backend.calls[1].closed_early  # the next-line call was hung up at once
    await asyncio.gather(first, return_exceptions=True)


@pytest.mark.parametrize("line, answer", [
    ("    total = ", ""),  # not a finished line: nothing to add is nothing to show
    ("    total = 0", "  # zero"),  # the model went on with the line itself
])
async def test_no_next_line_call_unless_the_model_ended_a_line(line, answer):
    backend = FakeBackend(Script(answer))
    engine = engine_with(backend)
    doc = Doc(engine, "def sum_of(values):\n" + line)
    await doc.ask()
    assert len(backend.calls) == 1


async def test_a_block_is_answered_at_its_first_line_and_the_rest_follows_by_type_ahead():
    block = "for v in values:\n        total += v\n    return total\n"
    backend = FakeBackend(Script(block, first_s=0.05, gap_s=0.15, pieces=6))
    engine = engine_with(backend)
    doc = Doc(engine, "def sum_of(values):\n    total = 0\n    ")
    started = time.monotonic()
    first = await doc.ask()
    assert first.text.startswith("for v in values:")
    assert time.monotonic() - started < 0.6  # not after the whole block (about 0.8 s)
    assert engine.stats.early_answers == 1
    await until(lambda: backend.calls[0].ended is not None)
    doc.type("f")
    rest = await doc.ask()
    assert rest.text == "or v in values:\n        total += v\n    return total"
    assert len(backend.calls) == 1


# -- what is shown --------------------------------------------------------------------------------


async def test_an_answer_the_model_is_unsure_of_is_not_shown():
    backend = FakeBackend(Script("x = 1", pieces=3, probabilities=[0.9, 0.0025, 0.9]))
    engine = engine_with(backend)
    doc = Doc(engine, "import os\n")
    assert await doc.ask() is None
    assert engine.stats.unsure_hidden == 1
    sure = engine_with(FakeBackend(Script("x = 1", pieces=3, probabilities=[0.9, 0.6, 0.9])))
    assert (await Doc(sure, "import os\n").ask()).text == "x = 1"


async def test_a_block_is_cut_where_the_models_confidence_collapses():
    block = "a = 1\nb = 2\nc = wat\n"
    backend = FakeBackend(Script(block, pieces=3, probabilities=[0.9, 0.8, 0.003]))
    engine = engine_with(backend)
    assert (await Doc(engine, "import os\n").ask()).text == "a = 1\nb = 2"
    assert engine.stats.unsure_cut == 1


async def test_a_skip_is_remembered_with_its_reason():
    backend = FakeBackend(Script("x"))
    engine = engine_with(backend, disabled_languages=("python",))
    assert await Doc(engine, "import os\n").ask() is None
    assert engine.last_skip is not None and engine.last_skip.to_json() == {
        "reason": "disabledLanguage", "uri": URI}
    engine = engine_with(backend)
    assert await Doc(engine, "value = fo|o".replace("|", "")).ask() is not None or True
    doc = Doc(engine, "x = ")
    doc.text += "abc"
    assert await engine.complete(CompletionQuery(URI, 1, doc.text, len(doc.text) - 3, PATH,
                                                 "python")) is None
    assert engine.last_skip.reason == "midWord"
    assert backend.calls == [] or all(not c.closed_early for c in backend.calls)


async def test_a_failure_pauses_and_the_skip_says_so():
    backend = FakeBackend(ServerError("boom", status=500))
    engine = engine_with(backend)
    doc = Doc(engine, "import os\n")
    assert await doc.ask() is None
    doc.type("x")
    assert await doc.ask() is None
    assert engine.last_skip is not None and engine.last_skip.reason == "paused"
    assert engine.last_skip.detail == "server"
    assert len(backend.calls) == 1


async def test_an_explicit_request_gets_up_to_three_distinct_suggestions():
    def answer(params: FimParams) -> Script:
        if params.temperature > 0:
            return Script("y = compute(x)")
        if params.stop == ("\n",):
            return Script("y = x + 1")
        return Script("y = x + 1\n    z = y * 2")

    backend = FakeBackend(answer)
    engine = engine_with(backend)
    doc = Doc(engine, "def f(x):\n    ")
    answers = await engine.alternatives(doc.query())
    assert [a.text for a in answers] == ["y = x + 1\n    z = y * 2", "y = x + 1", "y = compute(x)"]
    doc.type("y = c")  # typing into the third keeps it
    answer = await doc.ask()
    assert answer is not None and answer.text == "ompute(x)"
    assert len(backend.calls) == 3


@pytest.mark.parametrize(("typed", "rest"), [("", "\n\ndef g():\n    pass"),
                                           ("\n", "\ndef g():\n    pass"),
                                           ("\n\n", "def g():\n    pass")])
async def test_blank_lines_the_model_put_first_are_kept_and_may_be_typed(typed, rest):
    """At column 0 the model's blank lines before a new function are part of the
    suggestion (Tab keeps the file's blank lines), and typing them is typing through it."""
    backend = FakeBackend(Script("\n\ndef g():\n    pass"))
    engine = engine_with(backend)
    doc = Doc(engine, "def f():\n    pass\n")
    shown = await doc.ask()
    assert shown.text == "\n\ndef g():\n    pass"
    if typed:
        doc.type(typed)
    answer = await doc.ask()
    assert answer is not None and answer.text == rest
    assert len(backend.calls) == 1
