"""The one DeepSeek client and model resolver for the current settings.

Rebuilt when the key or base URL changes; the resolver turns `model: auto` into a FIM-capable
model (asking `GET /models` once) and re-discovers once on "Model Not Exist".
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from deepseek_lsp.api.models import ModelResolver
from deepseek_lsp.api.types import FimParams, FimResult
from deepseek_lsp.config import Settings

if TYPE_CHECKING:  # httpx is imported on first use: `initialize` must not wait for it
    from deepseek_lsp.api.client import DeepSeekClient


class ApiBackend:
    def __init__(self, settings: Callable[[], Settings]) -> None:
        self._settings = settings
        self._client: DeepSeekClient | None = None
        self._resolver: ModelResolver | None = None
        self._identity: tuple[str | None, str] | None = None
        self.current_fim_model: str | None = None

    def session(self, settings: Settings | None = None) -> tuple[DeepSeekClient, ModelResolver]:
        """The client and resolver for these settings (made anew when key or URL change)."""
        settings = settings or self._settings()
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
        if (settings.api_key, settings.base_url) != self._identity:
            self.session(settings)
        elif self._resolver is not None:
            self._resolver.invalidate()

    async def fim(self, params: FimParams, settings: Settings) -> FimResult:
        client, resolver = self.session(settings)

        async def call(model: str) -> FimResult:
            self.current_fim_model = model
            return await client.fim(params, model=model, deadline_s=settings.timeout_ms / 1000)

        return await resolver.call_with_rediscovery(settings.model, call)

    @asynccontextmanager
    async def fim_stream(self, params: FimParams, settings: Settings) -> AsyncIterator[Any]:
        """A streamed FIM answer; leaving the block early hangs up at once."""
        client, resolver = self.session(settings)

        async def open_stream(model: str) -> tuple[Any, Any]:
            self.current_fim_model = model
            cm = client.fim_stream(params, model=model, deadline_s=settings.timeout_ms / 1000)
            return cm, await cm.__aenter__()

        cm, stream = await resolver.call_with_rediscovery(settings.model, open_stream)
        try:
            yield stream
        except BaseException as error:
            if not await cm.__aexit__(type(error), error, error.__traceback__):
                raise
        else:
            await cm.__aexit__(None, None, None)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _close_later(client: DeepSeekClient) -> None:
    with contextlib.suppress(RuntimeError):  # no loop: nothing was ever opened on it
        asyncio.get_running_loop().create_task(client.aclose())
