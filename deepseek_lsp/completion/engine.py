"""The inline completion engine: when to call the API, and when not to.

One request from the editor goes through, in order:
1. type-ahead — the user typed the start of a suggestion already known for this document
   (shown, landed, or still streaming): answer with the rest at once, no wait, no request;
2. the document's upstream call in flight — if the user only typed at its cursor since, wait
   for its answer; if they did anything else, cancel it at once (the HTTP connection closes);
3. the "don't ask" rules and the prompt (`context.build_fim_request`); a skip is remembered
   with its reason for `deepseek.status`;
4. the cache, keyed by the exact request and the model;
5. the wait, counted from the last edit of the document (not from the request: an editor
   that waits itself, or a request sent late, is not made to wait twice) — none where a pause
   is likely (a new line, after an opener, `=` or `,`, right after an accepted suggestion),
   `debounceMs` mid-line, longer for a typist whose gaps are longer (`adaptiveDebounce`);
   a newer request for the same document supersedes one still waiting;
6. one upstream call per document at a time (identical requests share it), streamed: a
   multi-line answer is given as soon as its first line is complete and settled, and the
   stream goes on feeding type-ahead until the block is complete, then hangs up;
7. post-processing, and the confidence check on the answer's logprobs.

Speculation within a budget: when the user accepts or types through a suggestion to the end
of a line, the next line is asked for at once (a "next line" call anchored at the line end),
because that is exactly where they pause next. A call nobody waits for any more survives
`ORPHAN_GRACE_S` (editors cancel the old request just before sending the next keystroke's),
except a speculative or already-answered one, which runs until it is complete or the user
diverges from it.

Failures become one message per kind and a pause (see `failures.py`); the caller always gets
an answer (possibly None).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from deepseek_lsp.api.errors import DeepSeekError
from deepseek_lsp.api.types import FimParams, FimResult, Usage
from deepseek_lsp.completion.cache import CompletionCache, SharedCalls
from deepseek_lsp.completion.confidence import confident_text
from deepseek_lsp.completion.context import (
    SINGLE_LINE_MAX_TOKENS,
    FimPlan,
    Neighbor,
    Skip,
    build_fim_request,
    stop_sequences,
)
from deepseek_lsp.completion.postprocess import advance_suggestion, is_complete, postprocess
from deepseek_lsp.completion.tokens import CHARS_PER_TOKEN
from deepseek_lsp.config import Settings
from deepseek_lsp.failures import FailurePolicy
from deepseek_lsp.languages import language_for
from deepseek_lsp.stats import Stats

log = logging.getLogger(__name__)

#: How much text before a known suggestion must be unchanged for type-ahead to trust it.
TYPEAHEAD_GUARD_CHARS = 256
#: How long an upstream call nobody waits for survives, for the next keystroke's request.
ORPHAN_GRACE_S = 0.15
#: A multi-line answer is given this long after its first line is complete, with the lines
#: complete by then (or at once when the block is complete); the rest keeps streaming.
EARLY_ANSWER_S = 0.05
#: On a line where the model just guessed (its answer hidden as unsure), ask again mid-line
#: only after a pause at least this long: typing on there is not worth a request per word.
QUIET_WAIT_S = 0.45
#: Alternatives asked for when the user invokes a suggestion explicitly.
MAX_ALTERNATIVES = 3
ALTERNATIVE_TEMPERATURE = 0.8


@dataclass(frozen=True)
class EngineOptions:
    """Switches for the benchmark's baselines; users always get the defaults."""

    typeahead: bool = True
    cache: bool = True
    anchored_prefix: bool = True
    speculate: bool = True  # ask at once at likely pauses, next-line calls, early answers


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


#: Why a request got no suggestion without asking (`deepseek.status` `lastSkip.reason`): the
#: engine's own reasons, then `context.Skip` codes.
SKIP_REASONS = ("disabled", "misconfigured", "paused", "excluded", "disabledLanguage",
                "midWord", "textRight", "tooLarge")


@dataclass(frozen=True)
class LastSkip:
    """The last request that got no suggestion without asking, and why."""

    reason: str  # `disabled`, `paused`, `misconfigured`, or a `Skip.code`
    uri: str
    detail: str | None = None  # e.g. the failure a pause is for

    def to_json(self) -> dict[str, str]:
        out = {"reason": self.reason, "uri": self.uri}
        if self.detail:
            out["detail"] = self.detail
        return out


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
        """What the user typed at the anchor since, or None if they did anything else."""
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
    """The suggestions known for a document's cursor position (the first is the one shown
    automatically; alternatives follow), for type-ahead."""

    anchor: _Anchor
    texts: tuple[str, ...]
    replace: int
    complete: bool = True  # False while the call behind it still streams
    ends_line: bool = False  # accepting it leaves the cursor at the end of its line

    def rest(self, typed: str) -> str | None:
        """The rest of a suggestion (the first one, or an alternative) after `typed`: "" when
        typed completely, None when the typing diverged."""
        for text in self.texts:
            rest = advance_suggestion(text, typed)
            if rest is not None:
                return rest
        return None


@dataclass(eq=False)
class _Flight:
    """The document's upstream call. Requests typed at its anchor wait for it instead of
    asking again; it is cancelled once nobody can use it."""

    anchor: _Anchor
    plan: FimPlan
    settings: Settings
    lead: str = ""  # text put before the suggestion (the line break of a next-line call)
    speculative: bool = False  # started without a request (next line): kept until diverged
    query: CompletionQuery | None = None  # the request it was started for (none: speculative)
    task: asyncio.Task[FimResult | None] | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)  # an answer can be given
    waiters: int = 0
    answered: bool = False
    dropped: bool = False  # cancelled because nobody could use it any more


#: A line ending in one of these is not finished, whatever the model says (`total =`, `f(a,`).
_LINE_GOES_ON = frozenset("=,([{+-*/%&|\\.<>!~^?")


class _Superseded(Exception):
    """The call a request waited for was cancelled by a newer keystroke."""


@dataclass
class _Document:
    """What the engine knows of one document between requests."""

    rhythm: TypingRhythm
    shown: _Shown | None = None
    flight: _Flight | None = None
    pending: asyncio.Future[object] | None = None  # a request waiting out its wait
    accepted_at: float = -1.0  # when the user last completed a suggestion
    quiet: _Anchor | None = None  # where the model last guessed (its answer hidden)


class TypingRhythm:
    """The gaps between one document's edits, from which the mid-line wait is derived.

    The wait counts from the last edit. Mid-line it is `debounceMs`, or with
    `adaptiveDebounce` a gap clearly longer than this typist's usual one (1.2 × the 90th
    percentile of their recent gaps; a gap over `BREAK_S` is a pause, not rhythm, so the wait
    stays under 0.6 s), so a steady typist is answered soon
    after they stop and a fast one does not pay for a request per word.
    """

    WINDOW = 32
    FACTOR = 1.2
    PERCENTILE = 0.9
    MIN_SAMPLES = 6
    BREAK_S = 0.5  # longer gaps are pauses (reading, thinking), not the rhythm of typing

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.last_edit: float | None = None
        self._gaps: list[float] = []

    def edited(self) -> None:
        now = self._clock()
        if self.last_edit is not None and now - self.last_edit < self.BREAK_S:
            self._gaps.append(now - self.last_edit)
            del self._gaps[: -self.WINDOW]
        self.last_edit = now

    def target_s(self, minimum_s: float, adaptive: bool) -> float:
        """How long after the last edit a mid-line request should go out."""
        if not adaptive or len(self._gaps) < self.MIN_SAMPLES:
            return minimum_s
        gaps = sorted(self._gaps)
        usual = gaps[int(self.PERCENTILE * (len(gaps) - 1))]
        return max(minimum_s, self.FACTOR * usual)

    def remaining_s(self, target_s: float) -> float:
        """What is left of `target_s` since the last edit (all of it if none was seen)."""
        if self.last_edit is None:
            return target_s
        return max(0.0, target_s - (self._clock() - self.last_edit))


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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._backend = backend
        self.options = options
        self._settings = settings
        self._clock = clock
        self.stats = stats or Stats()
        self.failures = failures or FailurePolicy()
        self._notify = notify
        self.cache: CompletionCache[tuple[str | None, FimParams], FimResult] = CompletionCache()
        self._shared: SharedCalls[FimResult] = SharedCalls()
        self._docs: dict[str, _Document] = {}
        self.enabled = True
        self.last_result: FimResult | None = None  # the last upstream answer, raw
        self.last_skip: LastSkip | None = None

    # -- public -------------------------------------------------------------------------------

    def document_changed(self, query: CompletionQuery) -> None:
        """An edit arrived (`query.offset`: where the last change ended). Feeds the typing
        rhythm; when the edit completed a suggestion at the end of a line (accepted, or typed
        to its end), asks for the next line at once."""
        doc = self._doc(query.uri)
        doc.rhythm.edited()
        shown = doc.shown
        if shown is None or not shown.complete or not self.options.speculate:
            return
        typed = shown.anchor.typed(query, shown.replace)
        if typed is None or shown.rest(typed) != "":
            return
        doc.accepted_at = self._clock()
        if shown.ends_line and self.enabled and not self._switched_off(self._settings()):
            self._speculate_next_line(doc, query)

    async def complete(self, query: CompletionQuery, *,
                       invoked: bool = False) -> CompletionAnswer | None:
        """Answer one inline completion request (`invoked`: the user asked explicitly, so
        there is no wait); never raises for API failures."""
        settings = self._settings()
        doc = self._doc(query.uri)
        skip = self._switched_off(settings)
        if skip:
            return self._skipped(query, skip)
        self._cancel_pending(doc)
        answer = self._typeahead(doc, query)
        if answer is not None:
            self.stats.typeahead_hits += 1
            return self._showing(answer)
        try:
            joined = self.options.typeahead and await self._join_flight(doc, query)
        except _Superseded:
            return None
        if joined:
            answer = self._typeahead(doc, query)
            if answer is not None:
                self.stats.flight_hits += 1
                return self._showing(answer)
        plan = self._plan(query, settings)
        if isinstance(plan, Skip):
            doc.shown = None
            return self._skipped(query, LastSkip(plan.code, query.uri))
        if self.options.cache:
            cached = self.cache.get(self._cache_key(plan, settings))
            if cached is not None:
                self.stats.cache_hits += 1
                self._remember_at(doc, _Anchor.at(query.text, query.offset, query.offset), plan,
                                  cached, settings, complete=True)
                if self._ended_line(plan, cached) and self._speculate_next_line(doc, query):
                    try:
                        await self._join_flight(doc, query)
                    except _Superseded:
                        return None
                return self._showing(self._typeahead(doc, query))
        if self.failures.paused():
            kind = self.failures.last_error.kind if self.failures.last_error else None
            return self._skipped(query, LastSkip("paused", query.uri, kind))
        wait = 0.0 if invoked else self._wait_s(doc, query, plan, settings)
        work = asyncio.ensure_future(self._wait_then_fly(doc, query, plan, settings, wait))
        doc.pending = work
        try:
            landed = await work
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                self.stats.cancelled += 1
                raise  # the client cancelled this request
            return None  # superseded by a newer keystroke
        finally:
            if doc.pending is work:
                doc.pending = None
        if not landed:
            return None
        return self._showing(self._typeahead(doc, query))

    async def alternatives(self, query: CompletionQuery) -> list[CompletionAnswer]:
        """Up to `MAX_ALTERNATIVES` distinct suggestions, for a request the user invoked
        explicitly: the usual one, the other mode (a line instead of a block, or a block
        instead of a line), and a sampled variant. Costs up to two more calls, only then."""
        query = replace(query, neighbors=list(query.neighbors))  # read twice below
        first = await self.complete(query, invoked=True)
        settings = self._settings()
        doc = self._doc(query.uri)
        plan = self._plan(query, settings)
        if first is None or isinstance(plan, Skip) or self.failures.paused():
            return [first] if first is not None else []
        variants = [_other_mode(plan, settings, query.language_id), replace(
            plan, params=replace(plan.params, temperature=ALTERNATIVE_TEMPERATURE))]
        results = await asyncio.gather(*(self._fetch(v, settings) for v in variants),
                                       return_exceptions=True)
        texts = [first.text]
        for variant, result in zip(variants, results, strict=True):
            if isinstance(result, FimResult):
                suggestion, _ = self._suggestion(variant, result, settings)
                if suggestion is not None and suggestion[0] not in texts:
                    texts.append(suggestion[0])
        shown = doc.shown
        if shown is not None and shown.anchor.offset == first.start:
            doc.shown = replace(shown, texts=tuple(texts[:MAX_ALTERNATIVES]))
        return [CompletionAnswer(t, first.start, first.end, first.source)
                for t in texts[:MAX_ALTERNATIVES]]

    def clear_cache(self) -> None:
        self.cache.clear()
        for doc in self._docs.values():
            doc.shown = None

    def forget_document(self, uri: str) -> None:
        doc = self._docs.pop(uri, None)
        if doc is not None:
            self._cancel_pending(doc)
            self._drop_flight(doc)

    def settings_changed(self) -> None:
        self.failures.settings_changed()
        self.clear_cache()

    # -- steps --------------------------------------------------------------------------------

    def _doc(self, uri: str) -> _Document:
        doc = self._docs.get(uri)
        if doc is None:
            doc = self._docs[uri] = _Document(TypingRhythm(self._clock))
        return doc

    def _plan(self, q: CompletionQuery, settings: Settings) -> FimPlan | Skip:
        """The request for `q` (`context.build_fim_request`), or why none is sent."""
        return build_fim_request(
            q.text, q.offset, path=q.path, language_id=q.language_id, settings=settings,
            neighbors=q.neighbors, anchored=self.options.anchored_prefix,
            real_paths=q.real_paths)

    def _switched_off(self, settings: Settings) -> LastSkip | None:
        if not (self.enabled and settings.enable):
            return LastSkip("disabled", "")
        if settings.base_url_problem:  # told once, as a settings problem; nothing is sent
            return LastSkip("misconfigured", "", "baseUrl")
        return None

    def _skipped(self, query: CompletionQuery, skip: LastSkip) -> None:
        """Count a request not asked upstream and remember why (logged when the reason or the
        document changes: no document text, only the reason and the URI)."""
        self.stats.skipped += 1
        skip = replace(skip, uri=query.uri)
        if skip != self.last_skip:
            log.info("no suggestion asked for: %s%s (%s)", skip.reason,
                     f" ({skip.detail})" if skip.detail else "", query.uri)
        self.last_skip = skip
        return None

    def _cancel_pending(self, doc: _Document) -> None:
        """A newer keystroke supersedes a request still waiting out its wait."""
        pending, doc.pending = doc.pending, None
        if pending is not None and not pending.done():
            pending.cancel()

    def _showing(self, answer: CompletionAnswer | None) -> CompletionAnswer | None:
        if answer is not None:
            self.stats.suggestions_shown += 1
        return answer

    def _typeahead(self, doc: _Document, q: CompletionQuery) -> CompletionAnswer | None:
        """The rest of a known suggestion the user typed the start of (or all of it, at its
        anchor); None if they typed something else or all of it. Without type-ahead (a
        baseline) only a suggestion for exactly this position counts."""
        shown = doc.shown
        if shown is None:
            return None
        typed = shown.anchor.typed(q, shown.replace)
        if typed is None or (typed and not self.options.typeahead):
            return None
        rest = shown.rest(typed)
        if not rest:
            return None
        return CompletionAnswer(rest, q.offset, q.offset + shown.replace,
                                "typeahead" if typed else "api")

    async def _join_flight(self, doc: _Document, q: CompletionQuery) -> bool:
        """Wait for the document's upstream call if the user only typed at its anchor since
        (and, for a next-line call, began with its line break): True once it can answer;
        cancel it at once if they did anything else. Raises
        `_Superseded` when the call is cancelled while this request waits (a newer keystroke
        diverged from it: this request is stale)."""
        flight = doc.flight
        if flight is None or flight.task is None or flight.task.done():
            return False
        typed = flight.anchor.typed(q)
        if (typed is None or ("\n" in typed and flight.plan.mode == "single")
                or typed[: len(flight.lead)] != flight.lead[: len(typed)]):
            self._drop_flight(doc)  # diverged: nobody can use it; the connection closes now
            return False
        flight.waiters += 1
        try:
            await flight.ready.wait()
        except asyncio.CancelledError:
            self._release(doc, flight)
            raise  # the client cancelled this request
        finally:
            flight.waiters -= 1
        if flight.dropped:
            raise _Superseded
        return True

    def _drop_flight(self, doc: _Document) -> None:
        flight, doc.flight = doc.flight, None
        if flight is not None and flight.task is not None and not flight.task.done():
            flight.dropped = True
            flight.task.cancel()

    def _release(self, doc: _Document, flight: _Flight) -> None:
        """A waiter left: once nobody waits, cancel the call — after a moment, because editors
        cancel the previous request just before they send the next keystroke's. A call that
        already answered, or a next-line call, goes on: it feeds type-ahead."""
        if flight.speculative or flight.answered:
            return

        def cancel_if_orphaned() -> None:
            if flight.waiters == 0 and not flight.answered and doc.flight is flight:
                self._drop_flight(doc)

        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().call_later(ORPHAN_GRACE_S, cancel_if_orphaned)

    def _wait_s(self, doc: _Document, q: CompletionQuery, plan: FimPlan,
                settings: Settings) -> float:
        """How long to wait before asking, counted from the last edit: nothing right after
        an accepted suggestion or on a fresh line (where people pause), `debounceMs` after a
        block opener at the end of a line, the typist's mid-line wait elsewhere — and at
        least `QUIET_WAIT_S` on a line where the model just had nothing to offer."""
        minimum = settings.debounce_ms / 1000
        if not self.options.speculate:
            return doc.rhythm.remaining_s(
                doc.rhythm.target_s(minimum, settings.adaptive_debounce))
        last_edit = doc.rhythm.last_edit
        if last_edit is not None and doc.accepted_at >= last_edit:
            return 0.0
        quiet = doc.quiet.typed(q) if doc.quiet is not None else None
        if quiet is not None and "\n" not in quiet:  # on the line the model guessed on
            target = max(QUIET_WAIT_S, doc.rhythm.target_s(minimum, settings.adaptive_debounce))
        elif not plan.line_prefix.strip():
            return 0.0
        elif plan.mode == "multi":
            target = minimum
        else:
            target = doc.rhythm.target_s(minimum, settings.adaptive_debounce)
        return doc.rhythm.remaining_s(target)

    async def _wait_then_fly(self, doc: _Document, q: CompletionQuery, plan: FimPlan,
                             settings: Settings, wait_s: float) -> bool:
        """Wait, then start the document's upstream call and wait until it can answer."""
        if wait_s > 0:
            await asyncio.sleep(wait_s)
        flight = self._start_flight(doc, _Anchor.at(q.text, q.offset, q.offset), plan,
                                    settings, query=q)
        flight.waiters += 1
        try:
            await flight.ready.wait()
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                self._release(doc, flight)
            raise
        finally:
            flight.waiters -= 1
        return doc.shown is not None

    def _start_flight(self, doc: _Document, anchor: _Anchor, plan: FimPlan,
                      settings: Settings, *, lead: str = "", speculative: bool = False,
                      query: CompletionQuery | None = None) -> _Flight:
        """The document's one upstream call: an older one is cancelled first (superseded)."""
        self._drop_flight(doc)
        flight = _Flight(anchor, plan, settings, lead=lead, speculative=speculative,
                         query=query)
        flight.task = asyncio.ensure_future(self._fly(doc, flight))
        # however the task ends — even cancelled before its first step, when `_fly` never
        # runs — whoever waits for it is woken
        flight.task.add_done_callback(lambda _task: flight.ready.set())
        doc.flight = flight
        return flight

    def _speculate_next_line(self, doc: _Document, at: CompletionQuery) -> _Flight | None:
        """Ask now for the line after `at` (the end of a line the user just finished): the
        call is anchored at the line end and its suggestion starts with the line break. The
        call, or None when none was needed (answered from the cache) or possible."""
        line_end = at.text.find("\n", at.offset)
        rest = at.text[at.offset : len(at.text) if line_end < 0 else line_end]
        if rest.strip() or self.failures.paused():
            return None
        eol = "\r\n" if at.text[line_end - 1 : line_end] == "\r" else "\n"
        text = at.text[: at.offset] + eol + at.text[at.offset :]
        settings = self._settings()
        plan = self._plan(replace(at, text=text, offset=at.offset + len(eol)), settings)
        if isinstance(plan, Skip):
            return None
        self.stats.prefetches += 1
        cached = self.cache.get(self._cache_key(plan, settings)) if self.options.cache else None
        anchor = _Anchor.at(at.text, at.offset, at.offset)
        if cached is not None:
            self._remember_at(doc, anchor, plan, cached, settings, lead=eol, complete=True)
            return None
        return self._start_flight(doc, anchor, plan, settings, lead=eol, speculative=True)

    def _ended_line(self, plan: FimPlan, result: FimResult) -> bool:
        """The model's answer at the end of a line is to end it (a line break first): the
        line is finished, and what the user wants to see is the next one."""
        first_line, newline, _ = result.text.partition("\n")
        last = plan.line_prefix[-1:]
        return (self.options.speculate and plan.mode == "single" and not first_line.strip()
                and bool(last.strip()) and last not in _LINE_GOES_ON
                and not plan.line_suffix.strip()
                and (bool(newline) or result.finish_reason == "stop"))

    async def _next_line_instead(self, doc: _Document, flight: _Flight) -> None:
        """The line-end call `flight` only ended the line: ask for the next line in its place
        and wait for that answer (the requests waiting for `flight` then get it). The next-line
        call is anchored at the line end, so pressing Enter types into it."""
        if flight.query is None or flight.lead or doc.flight is not flight:
            return
        doc.flight = None  # detached first: starting the next call must not cancel this one
        follow = self._speculate_next_line(doc, flight.query)
        if follow is not None:
            await follow.ready.wait()

    async def _fly(self, doc: _Document, flight: _Flight) -> FimResult | None:
        """Run one upstream call; keep `doc.shown` up to date as its answer grows."""
        try:
            result = await self._fetch(flight.plan, flight.settings, doc, flight)
            if result is not None and self._ended_line(flight.plan, result):
                await self._next_line_instead(doc, flight)
            return result
        finally:
            flight.ready.set()
            if doc.flight is flight:
                doc.flight = None

    async def _fetch(self, plan: FimPlan, settings: Settings, doc: _Document | None = None,
                     flight: _Flight | None = None) -> FimResult | None:
        """The answer for `plan` from a shared upstream call; None after a failure (which is
        recorded and, once per kind, shown)."""
        if self._shared.in_flight(plan.params):
            self.stats.shared_hits += 1
        try:
            result = await self._shared.run(
                plan.params, lambda: self._call(plan, settings, doc, flight))
        except DeepSeekError as error:
            message = self.failures.record_failure(error)
            log.warning("completion failed: %s", error.kind)
            if message:
                self._notify(message)
            return None
        self.failures.record_success()
        self.last_result = result
        if self.options.cache and result.finish_reason != "early_answer":
            # keyed after the call: with `auto`, the model is known only once it was resolved
            self.cache.put(self._cache_key(plan, settings), result)
        if doc is not None and flight is not None:
            self._remember_at(doc, flight.anchor, plan, result, settings, lead=flight.lead,
                              complete=True, flight=flight)
        return result

    async def _call(self, plan: FimPlan, settings: Settings, doc: _Document | None,
                    flight: _Flight | None) -> FimResult:
        self.stats.upstream_requests += 1
        started = self._clock()
        try:
            if settings.stream_completions:
                result = await self._call_streaming(plan, settings, doc, flight)
            else:
                result = await self._backend.fim(plan.params, settings)
        finally:
            self.stats.add_latency((self._clock() - started) * 1000)
        self.stats.add_usage(result.usage)
        return result

    async def _call_streaming(self, plan: FimPlan, settings: Settings, doc: _Document | None,
                              flight: _Flight | None) -> FimResult:
        """Stream the answer and hang up once the suggestion cannot change any more. A
        multi-line answer feeds type-ahead line by line and is given to the waiting request
        `EARLY_ANSWER_S` after its first line is complete (with the lines complete by then)."""
        early = None
        if doc is not None and flight is not None and self.options.speculate \
                and plan.mode == "multi":
            early = _EarlyAnswer(self, doc, flight, plan, settings)
        try:
            async with self._backend.fim_stream(plan.params, settings) as stream:
                async for _piece in stream:
                    text = stream.text
                    if is_complete(text, plan.postprocess_context):
                        self.stats.early_stops += 1
                        return FimResult(text, "early_stop", _estimated_usage(plan, text),
                                         logprobs=stream.logprobs)
                    if early is not None:
                        early.grew(text, stream.logprobs)
                return stream.result
        finally:
            if early is not None:
                early.stop()

    def _suggestion(self, plan: FimPlan, result: FimResult,
                    settings: Settings) -> tuple[tuple[str, int] | None, bool]:
        """The text to show for a raw answer and how many characters after the cursor it
        replaces (None when nothing is worth showing), and whether that is because the
        model was unsure of it (the confidence check)."""
        raw = confident_text(result.text, result.logprobs, settings.min_confidence)
        if raw is None:
            self.stats.unsure_hidden += 1
            return None, True
        if raw != result.text:
            self.stats.unsure_cut += 1
        suggestion = postprocess(raw, plan.postprocess_context)
        if suggestion is None:
            return None, False
        return (suggestion.text, suggestion.replace_suffix_chars), False

    def _remember_at(self, doc: _Document, anchor: _Anchor, plan: FimPlan, result: FimResult,
                     settings: Settings, *, lead: str = "", complete: bool,
                     flight: _Flight | None = None) -> None:
        """Keep a (possibly partial) answer as the document's known suggestion at `anchor`:
        the answer of the current request, or of the document's current call (a call that
        was cancelled meanwhile has nothing to say any more)."""
        if flight is not None and doc.flight is not flight:
            return
        current = doc.shown
        suggestion, unsure = self._suggestion(plan, result, settings)
        if suggestion is None:
            if complete:
                if unsure:  # a guess: ask again on this line only at a real pause
                    doc.quiet = anchor
                if current is None or current.anchor == anchor:
                    doc.shown = None
            return
        text, replaced = suggestion
        if lead:
            text, replaced = lead + text, 0
        tail = anchor.tail[replaced:]
        doc.shown = _Shown(replace(anchor, tail=tail), (text,), replaced, complete=complete,
                           ends_line=not tail.strip())

    def _cache_key(self, plan: FimPlan, settings: Settings) -> tuple[str | None, FimParams]:
        """The exact request, model included: `auto` switching models must not serve the old
        model's answers."""
        return self._backend.fim_model(settings), plan.params


class _EarlyAnswer:
    """The lines of a streaming multi-line answer that are complete, kept as the document's
    suggestion as they come; the waiting request is answered `EARLY_ANSWER_S` after the
    first one (a timer: a slow stream must not hold the answer back)."""

    def __init__(self, engine: CompletionEngine, doc: _Document, flight: _Flight,
                 plan: FimPlan, settings: Settings) -> None:
        self._engine, self._doc, self._flight = engine, doc, flight
        self._plan, self._settings = plan, settings
        self._lines = ""
        self._logprobs: Any = None
        self._timer: asyncio.TimerHandle | None = None

    def grew(self, text: str, logprobs: Any) -> None:
        lines = text[: text.rfind("\n") + 1]
        if not lines.strip() or lines == self._lines:
            return
        self._lines, self._logprobs = lines, logprobs
        if self._flight.answered:
            self._remember()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(EARLY_ANSWER_S, self._answer)

    def _remember(self) -> None:
        partial = FimResult(self._lines, "early_answer", Usage(), logprobs=self._logprobs)
        self._engine._remember_at(self._doc, self._flight.anchor, self._plan, partial,
                                  self._settings, lead=self._flight.lead, complete=False,
                                  flight=self._flight)

    def _answer(self) -> None:
        self._remember()
        shown = self._doc.shown
        if shown is not None and shown.anchor.offset == self._flight.anchor.offset:
            self._flight.answered = True
            self._engine.stats.early_answers += 1
            self._flight.ready.set()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


def _other_mode(plan: FimPlan, settings: Settings, language_id: str) -> FimPlan:
    """The same request in the other mode: one line instead of a block, or a block."""
    params = plan.params
    eol = plan.postprocess_context.eol
    if plan.mode == "multi":
        single = replace(params, stop=stop_sequences("single", language_for(language_id), eol),
                         max_tokens=min(params.max_tokens, SINGLE_LINE_MAX_TOKENS))
        return replace(plan, params=single, mode="single",
                       postprocess_context=replace(plan.postprocess_context, mode="single"))
    block = replace(params, stop=stop_sequences("multi", language_for(language_id), eol),
                    max_tokens=settings.max_tokens)
    return replace(plan, params=block, mode="multi",
                   postprocess_context=replace(plan.postprocess_context, mode="multi"))


def _estimated_usage(plan: FimPlan, text: str) -> Usage:
    """Usage of a stream we hung up on (DeepSeek sends usage only at the end): an estimate,
    counted as cache misses so that cost estimates err on the high side."""
    prompt = len(plan.params.prompt) + len(plan.params.suffix or "")
    prompt_tokens = round(prompt / CHARS_PER_TOKEN)
    completion_tokens = max(1, round(len(text) / CHARS_PER_TOKEN))
    return Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                 total_tokens=prompt_tokens + completion_tokens,
                 prompt_cache_miss_tokens=prompt_tokens)
