"""The inline completion engine: when to call the API, and when not to.

One request from the editor goes through, in order:
1. type-ahead — the user typed the start of the suggestion just shown: answer with the rest
   at once (no debounce, no request);
2. the "don't ask" rules and the prompt (`context.build_fim_request`);
3. the cache, keyed by the exact request;
4. the per-document debounce; a newer request for the same document supersedes this one and
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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class EngineOptions:
    """Switches for the benchmark's baselines; users always get the defaults."""

    typeahead: bool = True
    cache: bool = True
    anchored_prefix: bool = True


@dataclass(frozen=True)
class CompletionQuery:
    """One editor request, already converted to code-point offsets."""

    uri: str
    version: int
    text: str
    offset: int
    path: str
    language_id: str
    neighbors: Sequence[Neighbor] = ()


@dataclass(frozen=True)
class CompletionAnswer:
    """Insert `text` over `[start, end)` (end > start when an auto-closed tail is replaced)."""

    text: str
    start: int
    end: int
    source: str  # "api", "cache", "typeahead"


@dataclass(frozen=True)
class _Shown:
    """The suggestion last shown in a document, for type-ahead."""

    anchor: int
    guard: str  # text just before the anchor
    suffix: str  # the line's text after the replaced tail
    text: str
    replace: int


class Backend:
    """What the engine needs of the API (see `backend.py`); an interface for tests."""

    async def fim(self, params: FimParams, settings: Settings) -> FimResult: ...

    def fim_stream(self, params: FimParams, settings: Settings): ...  # async context manager


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
        self.cache: CompletionCache[FimResult] = CompletionCache()
        self._shared: SharedCalls[FimResult] = SharedCalls()
        self._shown: dict[str, _Shown] = {}
        self._pending: dict[str, asyncio.Future[object]] = {}
        self.enabled = True

    # -- public -------------------------------------------------------------------------------

    async def complete(self, query: CompletionQuery) -> CompletionAnswer | None:
        """Answer one inline completion request; never raises for API failures."""
        self.stats.completion_requests += 1
        settings = self._settings()
        if not (self.enabled and settings.enable):
            return None
        self._supersede(query.uri)
        answer = self._typeahead(query) if self.options.typeahead else None
        if answer is not None:
            self.stats.typeahead_hits += 1
            return self._remember(query, answer)
        plan = build_fim_request(
            query.text, query.offset, path=query.path, language_id=query.language_id,
            settings=settings, neighbors=query.neighbors,
            anchored=self.options.anchored_prefix,
        )
        if isinstance(plan, Skip):
            self.stats.skipped += 1
            self._shown.pop(query.uri, None)
            return None
        cached = self.cache.get(plan.params) if self.options.cache else None
        if cached is not None:
            self.stats.cache_hits += 1
            return self._remember(query, self._answer(query, plan, cached, "cache"))
        if self.failures.paused():
            return None
        work = asyncio.ensure_future(self._debounced_fetch(plan, settings))
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
        self._supersede(uri)
        self._shown.pop(uri, None)

    def settings_changed(self) -> None:
        self.failures.settings_changed()
        self.clear_cache()

    # -- steps --------------------------------------------------------------------------------

    def _supersede(self, uri: str) -> None:
        pending = self._pending.pop(uri, None)
        if pending is not None and not pending.done():
            pending.cancel()

    def _typeahead(self, q: CompletionQuery) -> CompletionAnswer | None:
        shown = self._shown.get(q.uri)
        if shown is None or q.offset < shown.anchor:
            return None
        if q.text[max(0, shown.anchor - TYPEAHEAD_GUARD_CHARS) : shown.anchor] != shown.guard:
            return None
        typed = q.text[shown.anchor : q.offset]
        rest = advance_suggestion(shown.text, typed)
        if not rest:
            return None
        tail_end = q.offset + shown.replace
        if q.text[tail_end : tail_end + len(shown.suffix)] != shown.suffix:
            return None
        return CompletionAnswer(rest, q.offset, tail_end, "typeahead")

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
        line_end = q.text.find("\n", answer.end)
        suffix = q.text[answer.end : len(q.text) if line_end < 0 else line_end]
        self._shown[q.uri] = _Shown(
            anchor=answer.start,
            guard=q.text[max(0, answer.start - TYPEAHEAD_GUARD_CHARS) : answer.start],
            suffix=suffix,
            text=answer.text,
            replace=answer.end - answer.start,
        )
        self.stats.suggestions_shown += 1
        return answer

    async def _debounced_fetch(self, plan: FimPlan, settings: Settings) -> FimResult | None:
        if settings.debounce_ms:
            await asyncio.sleep(settings.debounce_ms / 1000)
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
            self.cache.put(plan.params, result)
        return result

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
