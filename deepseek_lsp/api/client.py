"""The async DeepSeek client: one thin, honest layer over httpx.

It owns the HTTP details every caller would otherwise get wrong:

- HTTP/1.1 only: cancelling a request closes its connection at once, so DeepSeek stops
  generating (over HTTP/2 httpcore sends no RST_STREAM and the tokens keep costing).
- One overall deadline per call (connect → last byte). httpx's read timeout is per gap
  between chunks, so `: keep-alive` lines would extend it for ever; we use
  `asyncio.timeout_at` instead.
- Bounded by the request, never by the upstream: a body is read incrementally and abandoned
  once it passes what an honest answer of the requested `max_tokens` can take (`Bounds`); an
  SSE line is cut off at `MAX_SSE_LINE_BYTES`; an answer's text at `max_tokens` ×
  `MAX_CHARS_PER_TOKEN` characters (FIM: cut there and ended as `length`, as DeepSeek ends
  one; chat: `ResponseTooLargeError`, which says where). Memory and the time a JSON body
  takes to parse on the event loop follow from the settings, whatever the server sends.
- Redirects are reported (`RedirectError`, with the `Location`), never followed.
- Every failure becomes one error of `errors.py`; the key goes only into the
  `Authorization` header and never into a message, repr or log: every text taken from an
  upstream is scrubbed of it (and of anything key-shaped) before it is cut short.
- No retries: callers decide (they know whether a keystroke is still worth answering).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import math
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Generic, Self, TypedDict, TypeVar, Unpack

import httpx

from .. import __version__
from ..config import DEFAULT_BASE_URL
from .errors import (
    MAX_RETRY_AFTER_S,
    APIConnectionError,
    DeepSeekError,
    InvalidKeyError,
    InvalidRequestError,
    MalformedResponseError,
    MissingKeyError,
    RequestTimeoutError,
    ResponseTooLargeError,
    ServerError,
    error_for_status,
    redact_secrets,
)
from .sse import LineTooLongError, SSEEvent, iter_events, iter_lines
from .types import (
    MAX_STOP_SEQUENCES,
    Balance,
    BalanceInfo,
    ChatDelta,
    ChatResult,
    FimParams,
    FimResult,
    Model,
    Usage,
)

__all__ = [
    "MAX_CHARS_PER_TOKEN",
    "MAX_SSE_LINE_BYTES",
    "USER_AGENT",
    "Bounds",
    "ChatOptions",
    "ChatStream",
    "DeepSeekClient",
    "FimOptions",
    "FimStream",
    "parse_retry_after",
]

USER_AGENT = f"deepseek-lsp/{__version__}"
MAX_LOGPROBS = 20
#: After `[DONE]`, how long to wait for the body's end so the connection can be reused.
_DRAIN_S = 0.5
_KEY_OK = re.compile(r"^[\x21-\x7e]+$")

#: The longest SSE line read. DeepSeek's stream chunks carry a token or a few and their
#: envelope: well under 4 KB even with 20 logprobs. A megabyte is hundreds of times that and
#: cheap to hold; a longer line is not DeepSeek's, and reading on would grow without bound.
MAX_SSE_LINE_BYTES = 1 << 20
#: Characters one token may stand for when an answer is judged against `max_tokens`. Code
#: averages 3.6 (completion/tokens.py); the longest token of DeepSeek's V4 vocabulary is a
#: run of 128 dots, but only 30 of its 129,283 tokens pass 32 characters. Sixteen is four
#: times typical: an answer DeepSeek itself ended at `max_tokens` never comes near it.
MAX_CHARS_PER_TOKEN = 16
#: FIM's largest output (DeepSeek's docs), for a request that does not say.
FIM_MAX_TOKENS = 4096
#: The longest chat output DeepSeek documents (deepseek-reasoner, 64K tokens): the bound of
#: an answer whose request sets no `max_tokens`, and of any answer's reasoning.
CHAT_MAX_TOKENS = 65_536
#: An error response is read this far (its message comes first); the rest is dropped.
ERROR_BODY_BYTES = 64 * 1024
#: `GET /models` and `GET /user/balance` answer with a few hundred bytes.
ACCOUNT_BODY_BYTES = 1 << 20
_JSON_BYTES_PER_CHAR = 6  # `\uXXXX`, the most one character can take in JSON
_LOGPROB_BYTES = 256  # one logprobs entry: token, its bytes, logprob, offset
_CHUNK_BYTES = 512  # one stream chunk's envelope: id, model, choices, finish_reason, ...
_BODY_OVERHEAD_BYTES = 64 * 1024  # ids, usage, keep-alive blank lines
_STREAM_OVERHEAD_BYTES = 256 * 1024  # the same, plus `: keep-alive` comments and the usage chunk

log = logging.getLogger(__name__)

Piece = TypeVar("Piece")


class FimOptions(TypedDict, total=False):
    """FIM options beyond `FimParams`; omitted ones are not sent (DeepSeek's defaults apply)."""

    logprobs: int | None  # 0-20
    frequency_penalty: float | None
    presence_penalty: float | None


class ChatOptions(TypedDict, total=False):
    """Chat options; omitted or None ones are not sent (DeepSeek's defaults apply)."""

    max_tokens: int | None
    stop: Sequence[str] | None  # at most 16
    temperature: float | None
    top_p: float | None
    frequency_penalty: float | None
    presence_penalty: float | None
    response_format: str | None  # "json_object" or "text"
    tools: list[dict[str, Any]] | None
    tool_choice: str | dict[str, Any] | None
    logprobs: bool | None
    top_logprobs: int | None  # 0-20
    thinking: bool | None  # V4 models: True/False → "thinking": {"type": "enabled"/"disabled"}
    prefix_completion: bool  # last message is an assistant prefix; uses /beta


@dataclass(frozen=True)
class Bounds:
    """What an honest answer to one request can take; past that, the client stops reading.

    `answer_tokens` is the request's `max_tokens` (or the largest output DeepSeek documents
    when it sets none); `reasoning_tokens` is room for chat reasoning, which `max_tokens` may
    not cover; `logprobs` the alternatives per token when logprobs were asked for.
    """

    answer_tokens: int
    reasoning_tokens: int = 0
    logprobs: int | None = None
    sent_max_tokens: bool = True  # whether `answer_tokens` is the request's own `max_tokens`

    @property
    def answer_chars(self) -> int:
        return self.answer_tokens * MAX_CHARS_PER_TOKEN

    @property
    def reasoning_chars(self) -> int:
        return self.reasoning_tokens * MAX_CHARS_PER_TOKEN

    @property
    def body_bytes(self) -> int:
        """A whole JSON answer: every token's text escaped, its logprobs, the envelope."""
        return _BODY_OVERHEAD_BYTES + self._tokens * self._token_bytes

    @property
    def stream_bytes(self) -> int:
        """A whole stream, where the worst case is one chunk per token."""
        return _STREAM_OVERHEAD_BYTES + self._tokens * (_CHUNK_BYTES + self._token_bytes)

    @property
    def _tokens(self) -> int:
        return self.answer_tokens + self.reasoning_tokens

    @property
    def _token_bytes(self) -> int:
        logprobs = 0 if self.logprobs is None else _LOGPROB_BYTES * (1 + self.logprobs)
        return MAX_CHARS_PER_TOKEN * _JSON_BYTES_PER_CHAR + logprobs

    def tokens_text(self, tokens: int | None = None) -> str:
        """How a bound in characters was derived, for messages."""
        if tokens is None and self.sent_max_tokens:
            return f"max_tokens {self.answer_tokens:,} × {MAX_CHARS_PER_TOKEN} characters"
        tokens = self.answer_tokens if tokens is None else tokens
        return (f"{tokens:,} tokens, the longest answer DeepSeek documents, × "
                f"{MAX_CHARS_PER_TOKEN} characters")

    def bytes_text(self) -> str:
        """Why a body is too large, for messages."""
        return f"more than an answer of {self._tokens:,} tokens can take"


def _fim_bounds(params: FimParams, options: Mapping[str, Any]) -> Bounds:
    given = params.max_tokens is not None and params.max_tokens > 0
    return Bounds(params.max_tokens if given else FIM_MAX_TOKENS,
                  logprobs=options.get("logprobs"), sent_max_tokens=given)


def _chat_bounds(options: Mapping[str, Any]) -> Bounds:
    max_tokens = options.get("max_tokens")
    given = isinstance(max_tokens, int) and max_tokens > 0
    logprobs = (options.get("top_logprobs") or 0) if options.get("logprobs") else None
    return Bounds(int(max_tokens) if given else CHAT_MAX_TOKENS,
                  reasoning_tokens=CHAT_MAX_TOKENS, logprobs=logprobs, sent_max_tokens=given)


class DeepSeekClient:
    """DeepSeek's HTTP API: models, balance, FIM (plain or streamed) and streamed chat.

    One `httpx.AsyncClient` (keep-alive pool) per object; close it with `aclose()` or use
    `async with`. Use it from one event loop.
    """

    def __init__(
        self,
        api_key: str | None,
        base_url: str = DEFAULT_BASE_URL,
        *,
        connect_timeout_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._api_key = (api_key or "").strip() or None
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            http1=True,
            http2=False,
            trust_env=True,
            verify=True,
            follow_redirects=False,
            # Only connecting has its own limit; everything else is under the call's deadline.
            timeout=httpx.Timeout(None, connect=connect_timeout_s),
            limits=httpx.Limits(max_keepalive_connections=8, keepalive_expiry=30.0),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            transport=transport,
        )

    def __repr__(self) -> str:
        key = "set" if self._api_key else "missing"
        return f"DeepSeekClient(base_url={self.base_url!r}, api_key=<{key}>)"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- account ------------------------------------------------------------------------------

    async def list_models(self, *, deadline_s: float = 10.0) -> list[Model]:
        """`GET /models`: the models this key may use."""
        data = await self._call_json("GET", "/models", None, deadline_s, ACCOUNT_BODY_BYTES,
                                     "far more than a list of models needs")
        items = data.get("data")
        if not isinstance(items, list):
            raise MalformedResponseError("GET /models sent no `data` list")
        return [
            Model(id=str(m["id"]), owned_by=str(m.get("owned_by") or ""))
            for m in items
            if isinstance(m, dict) and m.get("id")
        ]

    async def balance(self, *, deadline_s: float = 10.0) -> Balance:
        """`GET /user/balance`: every currency, with its granted and topped-up parts."""
        data = await self._call_json("GET", "/user/balance", None, deadline_s,
                                     ACCOUNT_BODY_BYTES, "far more than a balance needs")
        infos = data.get("balance_infos")
        if not isinstance(infos, list):
            raise MalformedResponseError("GET /user/balance sent no `balance_infos` list")
        return Balance(
            is_available=bool(data.get("is_available")),
            infos=tuple(
                BalanceInfo(
                    currency=str(i.get("currency") or ""),
                    total_balance=str(i.get("total_balance") or "0"),
                    granted_balance=str(i.get("granted_balance") or "0"),
                    topped_up_balance=str(i.get("topped_up_balance") or "0"),
                )
                for i in infos
                if isinstance(i, dict)
            ),
        )

    # -- FIM ------------------------------------------------------------------------------------

    async def fim(
        self, params: FimParams, *, model: str, deadline_s: float, **options: Unpack[FimOptions]
    ) -> FimResult:
        """`POST /beta/completions`: one fill-in-the-middle completion."""
        body = _fim_body(params, model, options)
        bounds = _fim_bounds(params, options)
        data = await self._call_json("POST", "/beta/completions", body, deadline_s,
                                     bounds.body_bytes, bounds.bytes_text())
        choice = _first_choice(data)
        text = choice.get("text")
        if not isinstance(text, str):
            raise MalformedResponseError(
                "the completion's `text` is null" if "text" in choice
                else "the completion has no `text`")
        finish_reason = choice.get("finish_reason")
        if len(text) > bounds.answer_chars:
            text, finish_reason = text[: bounds.answer_chars], "length"
            _log_cut(bounds)
        return FimResult(
            text=text,
            finish_reason=finish_reason,
            usage=Usage.from_json(data.get("usage")),
            model=str(data.get("model") or model),
            logprobs=choice.get("logprobs") or None,
        )

    def fim_stream(
        self, params: FimParams, *, model: str, deadline_s: float, **options: Unpack[FimOptions]
    ) -> FimStream:
        """`POST /beta/completions` streamed: `async with ... as s: async for text in s`.

        Leaving the block early closes the connection, which stops the generation.
        """
        body = _fim_body(params, model, options)
        return FimStream(self, "/beta/completions", _streaming(body), deadline_s, model,
                         _fim_bounds(params, options))

    # -- chat -----------------------------------------------------------------------------------

    def chat_stream(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        model: str,
        deadline_s: float,
        **options: Unpack[ChatOptions],
    ) -> ChatStream:
        """`POST /chat/completions` (or `/beta/...` for prefix completion), streamed:
        `async with ... as s: async for delta in s` (`ChatDelta`s), then `s.result`.

        Chat is streamed only: every caller shows the answer as it comes or can be cancelled
        while it comes, and the whole answer object is `result` at the end.
        """
        path, body = _chat_body(messages, model, options)
        return ChatStream(self, path, _streaming(body), deadline_s, model, _chat_bounds(options))

    # -- transport ------------------------------------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        """The Authorization header; fails before any I/O when the key cannot be used."""
        if not self._api_key:
            raise MissingKeyError()
        if not _KEY_OK.match(self._api_key):
            raise InvalidKeyError()
        return {"Authorization": f"Bearer {self._api_key}"}

    def _redact(self, text: str) -> str:
        """Servers and proxies may echo the key; it must never reach a message. Scrub whole
        texts, before cutting them short, so that no part of a key survives the cut."""
        return redact_secrets(text, self._api_key)

    async def _send(
        self, method: str, path: str, body: dict[str, Any] | None, deadline: float,
        deadline_s: float,
    ) -> httpx.Response:
        """Send a request and return the open response once its status is a success.

        The caller must close it. Error statuses are read (their first `ERROR_BODY_BYTES`),
        closed and raised here; redirects are reported, not followed.
        """
        headers = self._auth_headers()
        try:
            request = self._http.build_request(
                method, self.base_url + path, json=body, headers=headers
            )
        except httpx.InvalidURL as exc:
            raise APIConnectionError(f"invalid base URL {self.base_url!r}: {exc}") from None
        try:
            async with asyncio.timeout_at(deadline):
                response = await self._http.send(request, stream=True)
                if response.is_success:
                    return response
                try:
                    raw = await _read_at_most(response, ERROR_BODY_BYTES)
                finally:
                    await response.aclose()
        except TimeoutError:
            raise _timeout(deadline_s) from None
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, request) from exc
        status = response.status_code
        if 300 <= status < 400:
            location = response.headers.get("location")
            to = f" to {self._redact(location)[:200]}" if location else " without a Location"
            message = f"{request.url.host}{request.url.path} answered HTTP {status}{to}"
        else:
            message = _error_message(self._redact(raw.decode("utf-8", "replace")), response)
        raise error_for_status(
            status, message, parse_retry_after(response.headers.get("retry-after")))

    async def _call_json(
        self, method: str, path: str, body: dict[str, Any] | None, deadline_s: float,
        limit: int, limit_text: str,
    ) -> dict[str, Any]:
        """A non-streaming call: the whole JSON body, keep-alive blank lines stripped.

        The body is read chunk by chunk and given up once it passes `limit` bytes (one
        `limit_text` says why that many), so neither memory nor the parse on the event loop
        grow with what the server sends.
        """
        deadline = asyncio.get_running_loop().time() + deadline_s
        response = await self._send(method, path, body, deadline, deadline_s)
        try:
            async with asyncio.timeout_at(deadline):
                raw = await _read_within(response, limit, limit_text)
        except TimeoutError:
            raise _timeout(deadline_s) from None
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, response.request) from exc
        finally:
            await response.aclose()
        return _parse_json_object(raw, response.headers.get("content-type", ""), self._redact)

    def _transport_error(self, exc: httpx.HTTPError, request: httpx.Request) -> DeepSeekError:
        """Map httpx's failures to the tree: timeouts, bad bodies, everything else a connection."""
        reason = self._redact(str(exc)) or type(exc).__name__
        where = f"{request.method} {request.url.host}{request.url.path}"
        if isinstance(exc, httpx.DecodingError):
            return MalformedResponseError(f"{where}: {reason}")
        if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
            return RequestTimeoutError(f"{where}: {reason}")
        if isinstance(exc, httpx.ConnectTimeout):
            reason = "connecting timed out"
        elif isinstance(exc, httpx.ReadError | httpx.RemoteProtocolError):
            reason = f"the connection dropped: {reason}"
        return APIConnectionError(f"{where}: {reason}")


class _EventStream(ABC, Generic[Piece]):
    """An open SSE response, read chunk by chunk under one deadline and within `Bounds`.

    Subclasses turn each JSON chunk into a piece for the caller and build the final result.
    """

    def __init__(
        self, client: DeepSeekClient, path: str, body: dict[str, Any], deadline_s: float,
        model: str, bounds: Bounds,
    ) -> None:
        self._client = client
        self._path = path
        self._body = body
        self._deadline_s = deadline_s
        self._deadline = 0.0
        self._model = model
        self._bounds = bounds
        self._response: httpx.Response | None = None
        self._events: AsyncGenerator[SSEEvent, None] | None = None
        self._saw_done = False
        self._saw_choice = False
        self._saw_text = False  # a chunk carried text (even ""), not only nulls
        self._cut = False  # the answer reached its bound and was ended there
        self._complete = False
        self._finish_reason: str | None = None
        self._usage: dict[str, Any] | None = None
        self._logprobs: dict[str, Any] | None = None

    async def __aenter__(self) -> Self:
        self._deadline = asyncio.get_running_loop().time() + self._deadline_s
        self._response = await self._client._send(
            "POST", self._path, self._body, self._deadline, self._deadline_s
        )
        chunks = _bytes_within(self._response, self._bounds.stream_bytes,
                               self._bounds.bytes_text())
        self._events = iter_events(iter_lines(chunks, MAX_SSE_LINE_BYTES))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Piece:
        while not self._complete:
            chunk = await self._next_chunk()
            if chunk is None:
                self._finish()
                break
            piece = self._take(chunk)
            if self._cut:  # hang up at once: the generation stops, and so does the reading
                self._finish_reason = "length"
                self._complete = True
                await self._close()
            if piece is not None:
                return piece
        raise StopAsyncIteration

    @property
    def complete(self) -> bool:
        """True once the stream ended properly (`[DONE]`, a finish reason, or its bound)."""
        return self._complete

    @abstractmethod
    def _take(self, chunk: dict[str, Any]) -> Piece | None:
        """Accumulate one chunk; return what the caller should see now, if anything.

        Set `_saw_text` when the chunk carries text, and `_cut` (FIM) or raise (chat) when
        the answer passes its bound."""

    @abstractmethod
    def _no_text(self) -> str:
        """What to say when the stream ended without any text, only nulls."""

    def _choice(self, chunk: dict[str, Any]) -> dict[str, Any] | None:
        """The first choice of a chunk, with the bookkeeping every stream shares."""
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        if chunk.get("model"):
            self._model = str(chunk["model"])
        choices = chunk.get("choices")
        if not (isinstance(choices, list) and choices and isinstance(choices[0], dict)):
            return None  # the usage-only chunk at the end
        choice: dict[str, Any] = choices[0]
        self._saw_choice = True
        if choice.get("finish_reason"):
            self._finish_reason = str(choice["finish_reason"])
        self._logprobs = _merge_logprobs(self._logprobs, choice.get("logprobs"))
        return choice

    async def _next_chunk(self) -> dict[str, Any] | None:
        """The next JSON chunk, or None at a proper end; raises on anything else."""
        assert self._events is not None and self._response is not None, "use `async with`"
        if self._saw_done:
            return None
        try:
            async with asyncio.timeout_at(self._deadline):
                event = await anext(self._events, None)
        except TimeoutError:
            raise _timeout(self._deadline_s) from None
        except LineTooLongError as exc:
            raise ResponseTooLargeError(
                f"{exc}; the rest was not read") from None
        except httpx.HTTPError as exc:
            raise self._client._transport_error(exc, self._response.request) from exc
        if event is None:
            if self._finish_reason is None:
                raise MalformedResponseError("the stream ended before [DONE]")
            return None
        if event.is_done:
            self._saw_done = True
            await self._drain()
            return None
        try:
            chunk = json.loads(event.data)
        except ValueError:
            shown = self._client._redact(event.data)[:80]
            raise MalformedResponseError(f"a chunk is not JSON: {shown!r}") from None
        if not isinstance(chunk, dict):
            raise MalformedResponseError("a stream chunk is not a JSON object")
        if "error" in chunk:
            raise ServerError(self._client._redact(_message_of(chunk) or "error in stream"))
        return chunk

    def _finish(self) -> None:
        if not self._saw_choice:
            raise MalformedResponseError("the stream carried no choices")
        if not self._saw_text:
            raise MalformedResponseError(self._no_text())
        self._complete = True

    async def _drain(self) -> None:
        """Read the body's end after `[DONE]` so the connection goes back to the pool."""
        assert self._events is not None
        remaining = self._deadline - asyncio.get_running_loop().time()
        try:
            async with asyncio.timeout(max(0.0, min(_DRAIN_S, remaining))):
                async for _ in self._events:
                    pass
        except (TimeoutError, httpx.HTTPError, LineTooLongError, DeepSeekError):
            pass  # the answer is complete; the connection is simply not reused

    async def _close(self) -> None:
        if self._events is not None:
            await self._events.aclose()
        if self._response is not None:
            await self._response.aclose()

    def _require_complete(self) -> None:
        if not self._complete:
            raise RuntimeError("the stream has not been read to its end")


class FimStream(_EventStream[str]):
    """A streamed FIM completion; yields text pieces, then `result` is the `FimResult`.

    Text past `max_tokens` × `MAX_CHARS_PER_TOKEN` characters is cut off and the stream ends
    there as `length`, as DeepSeek ends an answer at `max_tokens`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._parts: list[str] = []
        self._length = 0

    @property
    def text(self) -> str:
        """The text received so far (also after leaving early)."""
        return "".join(self._parts)

    @property
    def logprobs(self) -> dict[str, Any] | None:
        """The logprobs received so far, if asked for (also after leaving early)."""
        return self._logprobs

    @property
    def result(self) -> FimResult:
        self._require_complete()
        return FimResult(
            text=self.text,
            finish_reason=self._finish_reason,
            usage=Usage.from_json(self._usage),
            model=self._model,
            logprobs=self._logprobs,
        )

    def _take(self, chunk: dict[str, Any]) -> str | None:
        choice = self._choice(chunk)
        text = choice.get("text") if choice else None
        if not isinstance(text, str):
            return None
        self._saw_text = True
        room = self._bounds.answer_chars - self._length
        if len(text) > room:
            text = text[:room]
            self._cut = True
            _log_cut(self._bounds)
        if not text:
            return None
        self._parts.append(text)
        self._length += len(text)
        return text

    def _no_text(self) -> str:
        return "every chunk's `text` was null: the stream carried no completion"


class ChatStream(_EventStream[ChatDelta]):
    """A streamed chat answer; yields `ChatDelta`s, then `result` is the `ChatResult`.

    An answer (or its reasoning) that passes its bound raises `ResponseTooLargeError`, which
    says where it was cut; the connection is closed by leaving the block.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._content: list[str] = []
        self._reasoning: list[str] = []
        self._tool_calls: dict[int, dict[str, Any]] = {}
        self._answer_chars = 0  # content and tool-call fragments
        self._reasoning_chars = 0

    @property
    def content(self) -> str:
        """The answer received so far (also after leaving early)."""
        return "".join(self._content)

    @property
    def reasoning_content(self) -> str:
        """The reasoning received so far; shown apart, never sent back."""
        return "".join(self._reasoning)

    @property
    def result(self) -> ChatResult:
        self._require_complete()
        return ChatResult(
            content=self.content,
            reasoning_content=self.reasoning_content or None,
            finish_reason=self._finish_reason,
            usage=Usage.from_json(self._usage),
            model=self._model,
            tool_calls=tuple(self._tool_calls[i] for i in sorted(self._tool_calls)),
            logprobs=self._logprobs,
        )

    def _take(self, chunk: dict[str, Any]) -> ChatDelta | None:
        choice = self._choice(chunk)
        delta = choice.get("delta") if choice else None
        if not isinstance(delta, dict):
            return None
        content, reasoning = delta.get("content"), delta.get("reasoning_content")
        if isinstance(content, str) or isinstance(reasoning, str):
            self._saw_text = True
        content = content if isinstance(content, str) else ""
        reasoning = reasoning if isinstance(reasoning, str) else ""
        if isinstance(delta.get("tool_calls"), list):
            self._saw_text = True
            self._answer_chars += _merge_tool_calls(self._tool_calls, delta["tool_calls"])
        self._answer_chars += len(content)
        self._reasoning_chars += len(reasoning)
        _check_chat_size(self._answer_chars, self._reasoning_chars, self._bounds)
        if not content and not reasoning:
            return None
        self._content.append(content)
        self._reasoning.append(reasoning)
        return ChatDelta(content=content, reasoning_content=reasoning)

    def _no_text(self) -> str:
        return "the answer's `content` was null in every chunk"


# -- request bodies -------------------------------------------------------------------------------


def _without_nones(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


def _check_stop(stop: Sequence[str] | None) -> list[str] | None:
    if not stop:
        return None
    if isinstance(stop, str):
        return [stop]
    if len(stop) > MAX_STOP_SEQUENCES:
        raise InvalidRequestError(
            f"at most {MAX_STOP_SEQUENCES} stop strings are allowed, got {len(stop)}")
    return list(stop)


def _check_options(given: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise TypeError(f"unknown option(s): {', '.join(unknown)}")


def _check_logprobs(name: str, value: int | None) -> None:
    if value is not None and not 0 <= value <= MAX_LOGPROBS:
        raise InvalidRequestError(f"`{name}` must be 0-{MAX_LOGPROBS}, got {value}")


def _fim_body(params: FimParams, model: str, options: FimOptions) -> dict[str, Any]:
    _check_options(options, FimOptions.__optional_keys__)
    _check_logprobs("logprobs", options.get("logprobs"))
    return _without_nones({
        "model": model,
        "prompt": params.prompt,
        "suffix": params.suffix,
        "max_tokens": params.max_tokens,
        "stop": _check_stop(params.stop),
        "temperature": params.temperature,
        "top_p": params.top_p,
        "logprobs": options.get("logprobs"),
        "frequency_penalty": options.get("frequency_penalty"),
        "presence_penalty": options.get("presence_penalty"),
    })


def _outgoing_messages(
    messages: Sequence[Mapping[str, Any]], prefix_completion: bool, thinking: bool | None
) -> list[dict[str, Any]]:
    """Copies without `reasoning_content`, except where thinking mode needs it back.

    DeepSeek ignores an earlier answer's reasoning sent back (legacy `deepseek-reasoner`
    refuses it: 400), but in thinking mode (V4, `thinking` on) every assistant message that
    made tool calls must keep its `reasoning_content` in all later requests, or the request is
    refused (400).
    """
    out = []
    for m in messages:
        keep = (thinking is True and m.get("role") == "assistant" and bool(m.get("tool_calls"))
                and m.get("reasoning_content") is not None)
        out.append({k: v for k, v in m.items() if keep or k != "reasoning_content"})
    if prefix_completion:
        if not out or out[-1].get("role") != "assistant":
            raise InvalidRequestError("prefix completion needs an assistant message last")
        out[-1]["prefix"] = True
    return out


def _chat_body(
    messages: Sequence[Mapping[str, Any]], model: str, options: ChatOptions
) -> tuple[str, dict[str, Any]]:
    """The chat request's path and body (prefix completion lives under `/beta`)."""
    _check_options(options, ChatOptions.__optional_keys__)
    _check_logprobs("top_logprobs", options.get("top_logprobs"))
    prefix = options.get("prefix_completion", False)
    response_format = options.get("response_format")
    thinking = options.get("thinking")
    body = _without_nones({
        "model": model,
        "messages": _outgoing_messages(messages, prefix, thinking),
        "max_tokens": options.get("max_tokens"),
        "stop": _check_stop(options.get("stop")),
        "temperature": options.get("temperature"),
        "top_p": options.get("top_p"),
        "frequency_penalty": options.get("frequency_penalty"),
        "presence_penalty": options.get("presence_penalty"),
        "response_format": {"type": response_format} if response_format else None,
        "tools": options.get("tools"),
        "tool_choice": options.get("tool_choice"),
        "logprobs": options.get("logprobs"),
        "top_logprobs": options.get("top_logprobs"),
        "thinking": None if thinking is None
        else {"type": "enabled" if thinking else "disabled"},
    })
    return ("/beta/chat/completions" if prefix else "/chat/completions"), body


def _streaming(body: dict[str, Any]) -> dict[str, Any]:
    """Ask for a stream, with the usage chunk at its end (DeepSeek sends it only if asked)."""
    return {**body, "stream": True, "stream_options": {"include_usage": True}}


# -- responses ------------------------------------------------------------------------------------


def _timeout(deadline_s: float) -> RequestTimeoutError:
    return RequestTimeoutError(f"no complete answer within {deadline_s:g} s")


async def _read_at_most(response: httpx.Response, limit: int) -> bytes:
    """The first `limit` bytes of a body (about: whole chunks); the rest is never read."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) >= limit:
            break
    return bytes(body[:limit])


async def _bytes_within(response: httpx.Response, limit: int, why: str) -> AsyncIterator[bytes]:
    """The body's chunks, until more than `limit` bytes came: then `ResponseTooLargeError`."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ResponseTooLargeError(
            f"the body is {int(declared):,} bytes, {why} ({limit:,}); it was not read")
    seen = 0
    async for chunk in response.aiter_bytes():
        seen += len(chunk)
        if seen > limit:
            raise ResponseTooLargeError(
                f"the body went past {limit:,} bytes, {why}; the rest was not read")
        yield chunk


async def _read_within(response: httpx.Response, limit: int, why: str) -> bytes:
    body = bytearray()
    async for chunk in _bytes_within(response, limit, why):
        body += chunk
    return bytes(body)


def _log_cut(bounds: Bounds) -> None:
    log.warning("the completion went past %d characters (%s); it was cut there",
                bounds.answer_chars, bounds.tokens_text())


def _check_chat_size(answer_chars: int, reasoning_chars: int, bounds: Bounds) -> None:
    """A chat answer (or its reasoning) longer than its request allows: cut, and say where."""
    if answer_chars > bounds.answer_chars:
        raise ResponseTooLargeError(
            f"the answer went past {bounds.answer_chars:,} characters "
            f"({bounds.tokens_text()}) without ending; it was cut there")
    if reasoning_chars > bounds.reasoning_chars:
        raise ResponseTooLargeError(
            f"the reasoning went past {bounds.reasoning_chars:,} characters "
            f"({bounds.tokens_text(bounds.reasoning_tokens)}) without ending; it was cut there")


def _parse_json_object(
    raw: bytes, content_type: str, redact: Callable[[str], str]
) -> dict[str, Any]:
    """A success body as a JSON object; blank keep-alive lines before it are fine.

    The body is already within its bound (`_read_within`), so parsing it here on the event
    loop costs what the settings allow, not what the server sends.
    """
    text = raw.strip()
    try:
        data = json.loads(text)
    except ValueError:
        if not text:
            raise MalformedResponseError("the body is empty") from None
        decoded = redact(text.decode("utf-8", "replace"))
        if "json" in content_type:
            raise MalformedResponseError(f"broken JSON: {decoded[:80]!r}…") from None
        raise MalformedResponseError(
            f"expected JSON, got {content_type or 'no content type'}: {_page_text(decoded)}"
        ) from None
    if not isinstance(data, dict):
        raise MalformedResponseError("the body is not a JSON object")
    return data


def _first_choice(data: dict[str, Any]) -> dict[str, Any]:
    choices = data.get("choices")
    if not (isinstance(choices, list) and choices and isinstance(choices[0], dict)):
        raise MalformedResponseError("the answer carried no choices")
    choice: dict[str, Any] = choices[0]
    return choice


def _message_of(data: Any) -> str | None:
    """DeepSeek's `{"error": {"message": ...}}` (or a few near variants) → the message."""
    if not isinstance(data, dict):
        return None
    err = data.get("error", data)
    if isinstance(err, str):
        return err
    if isinstance(err, dict):
        for key in ("message", "detail", "msg"):
            if isinstance(err.get(key), str) and err[key]:
                return str(err[key])
    return None


def _page_text(text: str) -> str:
    """A short readable line from a non-JSON body: an HTML page's title, or its first text."""
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    has_title = title is not None and title.group(1).strip()
    text = title.group(1) if title and has_title else re.sub(r"<[^>]*>", " ", text)
    text = " ".join(text.split())
    return text[:200] + ("…" if len(text) > 200 else "")


def _error_message(text: str, response: httpx.Response) -> str:
    """The message of an error response (its body's start, scrubbed), JSON or not."""
    text = text.strip()
    if not text:
        return f"HTTP {response.status_code} {response.reason_phrase}".strip()
    try:
        message = _message_of(json.loads(text))
    except ValueError:
        message = None
    return message or _page_text(text)


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` as seconds from now: delta-seconds or an HTTP date; None if unusable.

    At most `MAX_RETRY_AFTER_S`: the upstream does not get to pause completions for years.
    """
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _merge_logprobs(acc: dict[str, Any] | None, piece: Any) -> dict[str, Any] | None:
    """Streamed logprobs arrive per chunk: concatenate their list fields."""
    if not isinstance(piece, dict):
        return acc
    acc = {} if acc is None else acc
    for key, value in piece.items():
        if isinstance(value, list):
            if not isinstance(acc.get(key), list):
                acc[key] = []
            acc[key].extend(value)
        else:
            acc.setdefault(key, value)
    return acc


def _merge_tool_calls(acc: dict[int, dict[str, Any]], deltas: list[Any]) -> int:
    """Streamed tool calls arrive as fragments keyed by `index`; join their arguments.

    Returns the characters added (they count towards the answer's bound)."""
    added = 0
    for delta in deltas:
        if not isinstance(delta, dict):
            continue
        call = acc.setdefault(
            int(delta.get("index", len(acc))),
            {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
        )
        if delta.get("id"):
            call["id"] = delta["id"]
        if delta.get("type"):
            call["type"] = delta["type"]
        function = delta.get("function")
        if isinstance(function, dict):
            name, arguments = function.get("name"), function.get("arguments")
            name = name if isinstance(name, str) else ""
            arguments = arguments if isinstance(arguments, str) else ""
            call["function"]["name"] += name
            call["function"]["arguments"] += arguments
            added += len(name) + len(arguments)
    return added
