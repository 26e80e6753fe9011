"""The one DeepSeek client and model resolver for the current settings, and the one way to
open a stream: with the model resolved and re-discovered once on "Model Not Exist".

Rebuilt when the key or base URL changes; the resolver turns `model: auto` into a FIM-capable
model and `chatModel: auto` into a chat model (asking `GET /models` once). Completion and chat
both open their streams through `ApiBackend._open`, so re-discovery and the closing of a
stream left early (which stops DeepSeek's generation) are written once.

What a chat request may carry depends on the model it goes to, known only here: legacy
`deepseek-reasoner` gets no tools (it had no function calling), and `max_tokens` is held to a
model's known output limit. The backend also remembers per base URL whether chat prefix
completion (`/beta/chat/completions`) is missing there, so it is tried once per server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from deepseek_lsp.api.errors import (
    DeepSeekError,
    InvalidBaseUrlError,
    InvalidRequestError,
    ModelNotFoundError,
)
from deepseek_lsp.api.models import ModelResolver, is_auto, uses_thinking_flag
from deepseek_lsp.api.types import Balance, FimParams, FimResult, Model
from deepseek_lsp.config import Settings

if TYPE_CHECKING:  # httpx is imported on first use: `initialize` must not wait for it
    from deepseek_lsp.api.client import ChatOptions, ChatStream, DeepSeekClient, FimStream

log = logging.getLogger(__name__)
S = TypeVar("S")

#: Output limits of model names that refuse a larger `max_tokens` (400).
OUTPUT_LIMITS: dict[str, int] = {"deepseek-chat": 8192}


def fit_max_tokens(model: str, wanted: int | None) -> int | None:
    """`max_tokens` held to the model's known output limit."""
    limit = OUTPUT_LIMITS.get(model)
    return min(wanted, limit) if wanted is not None and limit is not None else wanted


def supports_tools(model: str) -> bool:
    """Whether `model` may be offered tools: the legacy reasoner (R1) had no function calling."""
    return "reasoner" not in model.rsplit("/", 1)[-1].lower().split("-")


def chat_prefix_missing(error: DeepSeekError) -> bool:
    """Whether a failed prefix-completion request says the server has no `/beta` chat route:
    404/405 for the path, or DeepSeek's 400 naming the prefix or the beta API."""
    if not isinstance(error, InvalidRequestError) or isinstance(error, ModelNotFoundError):
        return False
    detail = (error.detail or "").lower()
    return error.status in (404, 405) or "prefix" in detail or "beta" in detail


#: While the user types, an idle connection is re-opened by a cheap request this often, so
#: the next suggestion does not pay for TCP and TLS set-up (connections idle out after 30 s).
KEEP_WARM_S = 20.0


class ApiBackend:
    """DeepSeek as the engine and chat see it: FIM and chat streams, account calls."""

    def __init__(self, settings: Callable[[], Settings]) -> None:
        self._settings = settings
        self._client: DeepSeekClient | None = None
        self._resolver: ModelResolver | None = None
        self._identity: tuple[str | None, str] | None = None
        self.current_fim_model: str | None = None
        self._last_used = -KEEP_WARM_S
        self._warming: asyncio.Task[None] | None = None
        self._no_chat_prefix: set[str] = set()

    def session(self, settings: Settings | None = None) -> tuple[DeepSeekClient, ModelResolver]:
        """The client and resolver for these settings (made anew when key or URL change)."""
        settings = settings or self._settings()
        problem = settings.base_url_problem
        if problem:  # the key must not go to a URL the user did not mean
            raise InvalidBaseUrlError(problem)
        identity = (settings.api_key, settings.base_url)
        if self._client is None or self._resolver is None or identity != self._identity:
            from deepseek_lsp.api.client import DeepSeekClient

            old = self._client
            self._client = DeepSeekClient(settings.api_key, settings.base_url)
            self._resolver = ModelResolver(self._client)
            self._identity = identity
            self.current_fim_model = None
            if old is not None:
                _close_later(old)
        return self._client, self._resolver

    def settings_changed(self) -> None:
        settings = self._settings()
        if settings.base_url_problem:
            return
        if (settings.api_key, settings.base_url) != self._identity:
            self.session(settings)
        elif self._resolver is not None:
            self._resolver.invalidate()

    def fim_model(self, settings: Settings) -> str | None:
        """The FIM model answers come from now: the configured name, or `auto`'s last pick
        (None before the first call). Part of the completion cache's key."""
        return self.current_fim_model if is_auto(settings.model) else settings.model.strip()

    # -- warm ---------------------------------------------------------------------------------

    async def warm(self, settings: Settings | None = None) -> None:
        """Discover the `auto` model and open the connection before a keystroke needs them
        (at `initialized` and after a settings change). Failures are left to the first real
        call, which reports them."""
        settings = settings or self._settings()
        if not settings.api_key or settings.base_url_problem:
            return
        self._last_used = time.monotonic()
        client, resolver = self.session(settings)
        try:
            if is_auto(settings.model) and resolver.discovered is None:
                await resolver.fim_model(settings.model)  # GET /models opens the connection
            else:
                await client.list_models(deadline_s=settings.timeout_ms / 1000)
        except Exception as error:  # best effort (the client may be closing): never raise
            log.debug("warming the connection failed: %s", type(error).__name__)

    def keep_warm(self) -> None:
        """The user is typing: if the connection has idled for a while, re-open it now, in
        the background, so that it is ready when they pause."""
        if time.monotonic() - self._last_used >= KEEP_WARM_S:
            self._replace_connection()
    def chat_prefix_usable(self, settings: Settings) -> bool:
        """Whether to ask edits through chat prefix completion at this base URL."""
        return settings.base_url not in self._no_chat_prefix

    def chat_prefix_is_missing(self, settings: Settings) -> None:
        """Remember that this base URL has no chat prefix completion (for this session)."""
        self._no_chat_prefix.add(settings.base_url)

    # -- streams and calls ------------------------------------------------------------------

    @asynccontextmanager
    async def _open(
        self,
        settings: Settings,
        make: Callable[[DeepSeekClient, str], AbstractAsyncContextManager[S]],
        *,
        chat: bool = False,
        reasoning: bool = False,
    ) -> AsyncIterator[S]:
        """Open `make(client, model)` with the configured model (re-discovered once on
        "Model Not Exist"); leaving the block closes the stream, early or not."""
        client, resolver = self.session(settings)
        self._last_used = time.monotonic()

        async def enter(model: str) -> tuple[AsyncExitStack, S]:
            stack = AsyncExitStack()
            stream = await stack.enter_async_context(make(client, model))
            return stack, stream

        configured = settings.chat_model if chat else settings.model
        stack, stream = await resolver.call_with_rediscovery(
            configured, enter, chat=chat, reasoning=reasoning)
        try:
            async with stack:
                yield stream
        finally:
            if not getattr(stream, "complete", True):
                self._replace_connection()

    def _replace_connection(self) -> None:
        """A stream left early took its HTTP/1.1 connection with it (closing it is what
        stops DeepSeek's generation): open another in the background, so the next request
        does not pay for TCP and TLS set-up."""
        if self._warming is not None and not self._warming.done():
            return
        with contextlib.suppress(RuntimeError):  # no running loop
            self._warming = asyncio.get_running_loop().create_task(self.warm())

    def fim_stream(
        self, params: FimParams, settings: Settings
    ) -> AbstractAsyncContextManager[FimStream]:
        """A streamed FIM answer; leaving the block early hangs up at once."""
        def make(client: DeepSeekClient, model: str) -> FimStream:
            self.current_fim_model = model
            return client.fim_stream(params, model=model, deadline_s=settings.timeout_ms / 1000,
                                     **_fim_options(params))

        return self._open(settings, make)

    async def fim(self, params: FimParams, settings: Settings) -> FimResult:
        """One FIM answer, not streamed."""
        client, resolver = self.session(settings)
        self._last_used = time.monotonic()

        async def call(model: str) -> FimResult:
            self.current_fim_model = model
            return await client.fim(params, model=model, deadline_s=settings.timeout_ms / 1000,
                                    **_fim_options(params))

        return await resolver.call_with_rediscovery(settings.model, call)

    def chat_stream(
        self,
        messages: Sequence[Mapping[str, Any]],
        settings: Settings,
        *,
        reasoning: bool,
        deadline_s: float,
        **options: Any,
    ) -> AbstractAsyncContextManager[ChatStream]:
        """A streamed chat answer with the chat model and its thinking mode (SPEC §1)."""
        chat_options: ChatOptions = options  # type: ignore[assignment]

        def make(client: DeepSeekClient, model: str) -> ChatStream:
            thinking = reasoning if uses_thinking_flag(model) else None
            fitted: ChatOptions = dict(chat_options)  # type: ignore[assignment]
            if not supports_tools(model):
                fitted.pop("tools", None)
                fitted.pop("tool_choice", None)
            if fitted.get("max_tokens") is not None:
                fitted["max_tokens"] = fit_max_tokens(model, fitted.get("max_tokens"))
            return client.chat_stream(messages, model=model, deadline_s=deadline_s,
                                      thinking=thinking, **fitted)

        return self._open(settings, make, chat=True, reasoning=reasoning)

    async def balance(self, settings: Settings | None = None) -> Balance:
        client, _ = self.session(settings)
        return await client.balance()

    async def list_models(self, settings: Settings | None = None) -> list[Model]:
        client, _ = self.session(settings)
        return await client.list_models()

    async def aclose(self) -> None:
        if self._warming is not None:
            self._warming.cancel()
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _fim_options(params: FimParams) -> dict[str, Any]:
    return {} if params.logprobs is None else {"logprobs": params.logprobs}


def _close_later(client: DeepSeekClient) -> None:
    with contextlib.suppress(RuntimeError):  # no loop: nothing was ever opened on it
        asyncio.get_running_loop().create_task(client.aclose())
