"""The inline completion engine: when to call the API, and when not to.

One request from the editor goes through, in order:
1. type-ahead — the user typed the start of the suggestion just shown: answer with the rest
   at once (no debounce, no request);
2. the "don't ask" rules and the prompt (`context.build_fim_request`);
3. the cache, keyed by the exact request;
4. the per-document debounce, adapted to the typist's rhythm (short where people pause: at the
   start of a line or after an opener; mid-line, until a gap longer than their usual one); a
   newer request for the same document supersedes this one and
   cancels its upstream call at once (so does `$/cancelRequest`);
5. one upstream call per distinct request (identical ones share it), streamed when enabled and
   stopped as soon as the post-processor knows the suggestion is complete;
6. post-processing into the text to insert and the range it replaces.
Failures are turned into one message per kind and a pause (see `failures.py`); the caller
always gets an answer (possibly None).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from deepseek_lsp.api.errors import DeepSeekError
from deepseek_lsp.api.types import FimParams, FimResult, Usage
from deepseek_lsp.completion.cache import CompletionCache, SharedCalls
from deepseek_lsp.completion.context import FimPlan, Neighbor, Skip, build_fim_request
from deepseek_lsp.completion.postprocess import advance_suggestion, is_complete, postprocess
from deepseek_lsp.completion.tokens import CHARS_PER_TOKEN
from deepseek_lsp.config import Settings
from deepseek_lsp.failures import FailurePolicy
from deepseek_lsp.stats import Stats

log = logging.getLogger(__name__)

#: How much text before a shown suggestion must be unchanged for type-ahead to trust it.
TYPEAHEAD_GUARD_CHARS = 256
#: How long an upstream call nobody waits for survives, for the next keystroke's request.
ORPHAN_GRACE_S = 0.15


@dataclass(frozen=True)
class EngineOptions:
    """Switches for the benchmark's baselines; users always get the defaults."""

    typeahead: bool = True
    cache: bool = True
    anchored_prefix: bool = True
    adaptive_debounce: bool = True


@dataclass(frozen=True)
class CompletionQuery:
    """One editor request, already converted to code-point offsets."""

    uri: str
    version: int
    text: str
    offset: int
    path: str
    language_id: str
    #: Other open documents, most recently used first; may be lazy (read once, when the
    #: request is built).
    neighbors: Iterable[Neighbor] = ()
    #: The file's absolute and symlink-resolved paths, judged by `exclude` like `path`.
    real_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class CompletionAnswer:
    """Insert `text` over `[start, end)` (end > start when an auto-closed tail is replaced)."""

    text: str
    start: int
    end: int
    source: str  # "api", "cache", "typeahead"


@dataclass(frozen=True)
class _Anchor:
    """A cursor position, with the text around it that must stay as it was: then whatever
    lies between the anchor and a later cursor is what the user typed there since."""

    offset: int
    guard: str  # the text just before the anchor
    tail: str  # the rest of the line after the cursor (after a replaced tail)

    @classmethod
    def at(cls, text: str, offset: int, tail_start: int) -> _Anchor:
        line_end = text.find("\n", tail_start)
        return cls(offset, text[max(0, offset - TYPEAHEAD_GUARD_CHARS) : offset],
                   text[tail_start : len(text) if line_end < 0 else line_end])

    def typed(self, q: CompletionQuery, replaced: int = 0) -> str | None:
        if q.offset < self.offset:
            return None
        if q.text[max(0, self.offset - TYPEAHEAD_GUARD_CHARS) : self.offset] != self.guard:
            return None
        tail_start = q.offset + replaced
        if q.text[tail_start : tail_start + len(self.tail)] != self.tail:
            return None
        return q.text[self.offset : q.offset]


@dataclass(frozen=True)
class _Shown:
    """The suggestion last shown (or landed) in a document, for type-ahead."""

    anchor: _Anchor
    text: str
    replace: int


@dataclass
class _Flight:
    """An upstream call for one document: later keystrokes that only type at its anchor wait
    for it instead of asking again, and it is cancelled once nobody can use it."""

    anchor: _Anchor
    task: asyncio.Future[FimResult | None]
    waiters: int = 0


#: Where typists pause: after these at the end of the text before the cursor.
_PAUSE_AFTER = re.compile(r"(?:[:{(\[,=]|=>|->)\s*$")


class TypingRhythm:
    """The gaps between one document's completion requests (one per keystroke in editors).

    Mid-line, a request waits for a gap clearly longer than this typist's usual one, so a
    fast typist does not pay for a request per word; where people pause anyway (a fresh
    line, after an opener or `=`), only the configured minimum applies.
    """

    WINDOW = 24
    FACTOR = 2.5
    MAX_S = 1.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last: float | None = None
        self._gaps: list[float] = []

    def debounce_s(self, line_prefix: str, minimum_ms: int) -> float:
        now = self._clock()
        if self._last is not None and now - self._last < self.MAX_S:
            self._gaps.append(now - self._last)
            del self._gaps[: -self.WINDOW]
        self._last = now
        minimum = minimum_ms / 1000
        if not line_prefix.strip() or _PAUSE_AFTER.search(line_prefix) or len(self._gaps) < 4:
            return minimum
        typical = sorted(self._gaps)[len(self._gaps) // 2]
        return max(minimum, min(self.FACTOR * typical, self.MAX_S))


_NO_FLIGHT, _LANDED, _SUPERSEDED = object(), object(), object()


class Backend(Protocol):
    """What the engine needs of the API (`api.backend.ApiBackend` in the server)."""

    def fim_model(self, settings: Settings) -> str | None: ...

    async def fim(self, params: FimParams, settings: Settings) -> FimResult: ...

    def fim_stream(
        self, params: FimParams, settings: Settings
    ) -> AbstractAsyncContextManager[Any]: ...


class CompletionEngine:
    def __init__(
        self,
        backend: Backend,
        settings: Callable[[], Settings],
        *,
        stats: Stats | None = None,
        failures: FailurePolicy | None = None,
        notify: Callable[[str], None] = lambda _msg: None,
        options: EngineOptions = EngineOptions(),
    ) -> None:
        self._backend = backend
        self.options = options
        self._settings = settings
        self.stats = stats or Stats()
        self.failures = failures or FailurePolicy()
        self._notify = notify
        self.cache: CompletionCache[tuple[str | None, FimParams], FimResult] = CompletionCache()
        self._shared: SharedCalls[FimResult] = SharedCalls()
        self._shown: dict[str, _Shown] = {}
        self._pending: dict[str, asyncio.Future[object]] = {}
        self._flights: dict[str, _Flight] = {}
        self._rhythm: dict[str, TypingRhythm] = {}
        self.enabled = True

    # -- public -------------------------------------------------------------------------------

    async def complete(self, query: CompletionQuery) -> CompletionAnswer | None:
        """Answer one inline completion request; never raises for API failures."""
        self.stats.completion_requests += 1
        settings = self._settings()
        if not (self.enabled and settings.enable):
            return None
        if settings.base_url_problem:  # told once, as a settings problem; nothing is sent
            self.stats.skipped += 1
            return None
        self._cancel_pending(query.uri)
        if self.options.typeahead:
            answer = self._typeahead(query)
            if answer is not None:
                self.stats.typeahead_hits += 1
                return self._remember(query, answer)
            joined = await self._join_flight(query)
            if joined is _SUPERSEDED:
                return None
            if joined is _LANDED:
                answer = self._typeahead(query)
                if answer is not None:
                    self.stats.flight_hits += 1
                    return self._remember(query, answer)
        plan = build_fim_request(
            query.text, query.offset, path=query.path, language_id=query.language_id,
            settings=settings, neighbors=query.neighbors,
            anchored=self.options.anchored_prefix, real_paths=query.real_paths,
        )
        if isinstance(plan, Skip):
            self.stats.skipped += 1
            self._shown.pop(query.uri, None)
            return None
        cached = (self.cache.get(self._cache_key(plan, settings)) if self.options.cache
                  else None)
        if cached is not None:
            self.stats.cache_hits += 1
            return self._remember(query, self._answer(query, plan, cached, "cache"))
        if self.failures.paused():
            return None
        delay = settings.debounce_ms / 1000
        if self.options.adaptive_debounce:
            delay = self._rhythm.setdefault(query.uri, TypingRhythm()).debounce_s(
                plan.line_prefix, settings.debounce_ms)
        work = asyncio.ensure_future(self._debounce_then_fly(query, plan, settings, delay))
        self._pending[query.uri] = work
        try:
            result = await work
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                self.stats.cancelled += 1
                raise  # the client cancelled this request
            return None  # superseded by a newer keystroke
        finally:
            if self._pending.get(query.uri) is work:
                del self._pending[query.uri]
        if result is None:
            return None
        return self._remember(query, self._answer(query, plan, result, "api"))

    def clear_cache(self) -> None:
        self.cache.clear()
        self._shown.clear()

    def forget_document(self, uri: str) -> None:
        self._cancel_pending(uri)
        flight = self._flights.pop(uri, None)
        if flight is not None:
            flight.task.cancel()
        self._shown.pop(uri, None)
        self._rhythm.pop(uri, None)

    def settings_changed(self) -> None:
        self.failures.settings_changed()
        self.clear_cache()

    # -- steps --------------------------------------------------------------------------------

    def _cancel_pending(self, uri: str) -> None:
        """A newer keystroke supersedes a request still waiting out its debounce."""
        pending = self._pending.pop(uri, None)
        if pending is not None and not pending.done():
            pending.cancel()

    async def _join_flight(self, q: CompletionQuery) -> object:
        """Wait for the document's upstream call if the user only typed at its anchor since
        (`_LANDED` once it did); cancel it if they did something else (`_NO_FLIGHT`).
        `_SUPERSEDED`: a newer keystroke cancelled the call while this request waited."""
        flight = self._flights.get(q.uri)
        if flight is None or flight.task.done():
            return _NO_FLIGHT
        if flight.anchor.typed(q) is None:
            self._flights.pop(q.uri, None)
            flight.task.cancel()
            return _NO_FLIGHT
        flight.waiters += 1
        try:
            await asyncio.shield(flight.task)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                self._release(q.uri, flight)
                raise  # the client cancelled this request
            return _SUPERSEDED
        finally:
            flight.waiters -= 1
        return _LANDED

    def _release(self, uri: str, flight: _Flight) -> None:
        """A waiter left: once nobody waits, cancel the call — after a moment, because editors
        cancel the previous request just before they send the next keystroke's."""
        def cancel_if_orphaned() -> None:
            if flight.waiters == 0 and not flight.task.done():
                if self._flights.get(uri) is flight:
                    del self._flights[uri]
                flight.task.cancel()

        if flight.waiters <= 1:
            asyncio.get_running_loop().call_later(ORPHAN_GRACE_S, cancel_if_orphaned)

    def _typeahead(self, q: CompletionQuery) -> CompletionAnswer | None:
        shown = self._shown.get(q.uri)
        if shown is None:
            return None
        typed = shown.anchor.typed(q, shown.replace)
        rest = advance_suggestion(shown.text, typed) if typed is not None else None
        if not rest:
            return None
        return CompletionAnswer(rest, q.offset, q.offset + shown.replace, "typeahead")

    def _answer(
        self, q: CompletionQuery, plan: FimPlan, result: FimResult, source: str
    ) -> CompletionAnswer | None:
        suggestion = postprocess(result.text, plan.postprocess_context)
        if suggestion is None:
            return None
        return CompletionAnswer(
            suggestion.text, q.offset, q.offset + suggestion.replace_suffix_chars, source
        )

    def _remember(
        self, q: CompletionQuery, answer: CompletionAnswer | None
    ) -> CompletionAnswer | None:
        if answer is None:
            self._shown.pop(q.uri, None)
            return None
        self._shown[q.uri] = _Shown(_Anchor.at(q.text, answer.start, answer.end), answer.text,
                                    answer.end - answer.start)
        self.stats.suggestions_shown += 1
        return answer

    async def _debounce_then_fly(
        self, q: CompletionQuery, plan: FimPlan, settings: Settings, delay_s: float
    ) -> FimResult | None:
        """Wait out the debounce, then start the document's upstream call and wait for it."""
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        old = self._flights.pop(q.uri, None)
        if old is not None:
            old.task.cancel()
        task = asyncio.ensure_future(self._debounced_fetch(plan, settings, 0))
        flight = _Flight(_Anchor.at(q.text, q.offset, q.offset), task, waiters=1)
        self._flights[q.uri] = flight
        task.add_done_callback(lambda t: self._landed(q, plan, flight))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                self._release(q.uri, flight)
            raise
        finally:
            flight.waiters -= 1

    def _landed(self, q: CompletionQuery, plan: FimPlan, flight: _Flight) -> None:
        """An upstream call ended: its suggestion is kept for type-ahead even if the request
        that started it is gone, so keystrokes typed meanwhile are answered from it."""
        if self._flights.get(q.uri) is flight:
            del self._flights[q.uri]
        if flight.task.cancelled() or flight.task.exception() is not None:
            return
        result = flight.task.result()
        if result is None or not self.options.typeahead:
            return
        current = self._shown.get(q.uri)
        if current is not None and current.anchor.offset > q.offset:
            return  # a suggestion for a later cursor position is already there
        suggestion = postprocess(result.text, plan.postprocess_context)
        if suggestion is not None:
            end = q.offset + suggestion.replace_suffix_chars
            self._shown[q.uri] = _Shown(_Anchor.at(q.text, q.offset, end), suggestion.text,
                                        suggestion.replace_suffix_chars)

    async def _debounced_fetch(
        self, plan: FimPlan, settings: Settings, delay_s: float
    ) -> FimResult | None:
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        if self._shared.in_flight(plan.params):
            self.stats.shared_hits += 1
        try:
            result = await self._shared.run(plan.params, lambda: self._call(plan, settings))
        except DeepSeekError as error:
            message = self.failures.record_failure(error)
            log.warning("completion failed: %s", error.kind)
            if message:
                self._notify(message)
            return None
        self.failures.record_success()
        if self.options.cache:
            self.cache.put(self._cache_key(plan, settings), result)
        return result

    def _cache_key(self, plan: FimPlan, settings: Settings) -> tuple[str | None, FimParams]:
        """The exact request, model included: `auto` switching models must not serve the old
        model's answers."""
        return self._backend.fim_model(settings), plan.params

    async def _call(self, plan: FimPlan, settings: Settings) -> FimResult:
        self.stats.upstream_requests += 1
        started = time.monotonic()
        try:
            if settings.stream_completions:
                result = await self._call_streaming(plan, settings)
            else:
                result = await self._backend.fim(plan.params, settings)
        finally:
            self.stats.add_latency((time.monotonic() - started) * 1000)
        self.stats.add_usage(result.usage)
        return result

    async def _call_streaming(self, plan: FimPlan, settings: Settings) -> FimResult:
        """Stream the answer and hang up once the suggestion cannot change any more."""
        async with self._backend.fim_stream(plan.params, settings) as stream:
            async for _piece in stream:
                if is_complete(stream.text, plan.postprocess_context):
                    self.stats.early_stops += 1
                    return FimResult(stream.text, "early_stop", _estimated_usage(plan, stream.text))
            return stream.result


def _estimated_usage(plan: FimPlan, text: str) -> Usage:
    """Usage of a stream we hung up on (DeepSeek sends usage only at the end): an estimate,
    counted as cache misses so that cost estimates err on the high side."""
    prompt = len(plan.params.prompt) + len(plan.params.suffix or "")
    prompt_tokens = round(prompt / CHARS_PER_TOKEN)
    completion_tokens = max(1, round(len(text) / CHARS_PER_TOKEN))
    return Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                 total_tokens=prompt_tokens + completion_tokens,
                 prompt_cache_miss_tokens=prompt_tokens)
