"""Which DeepSeek model to use, when the setting says `auto` (SPEC §1).

DeepSeek's model names move: accounts list `deepseek-chat`/`deepseek-reasoner` (legacy),
`deepseek-v4-flash`/`deepseek-v4-pro` (V4, with the old names as aliases for a while), later
`deepseek-flash`, and sooner or later names nobody knows yet. The pure pickers rank whatever
`GET /models` lists; `ModelResolver` asks once, remembers, and re-discovers once when DeepSeek
answers "Model Not Exist".

Fallback when `GET /models` fails or lists nothing usable: `FALLBACK_MODELS` in order
(`deepseek-v4-flash`, then `deepseek-chat`). The first is the current FIM-capable name; the
second is what legacy-compatible servers know. A wrong guess is answered "Model Not Exist",
which marks it bad and moves on to the next guess (one retry per call), so the resolver
converges instead of failing every keystroke. A failed discovery is retried after
`DISCOVERY_RETRY_S`, not on every call, so a broken `/models` does not double every request.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from .errors import DeepSeekError, ModelNotFoundError

if TYPE_CHECKING:
    from .client import DeepSeekClient

T = TypeVar("T")

AUTO = "auto"
FALLBACK_MODELS: tuple[str, ...] = ("deepseek-v4-flash", "deepseek-chat")
DISCOVERY_RETRY_S = 60.0

_VERSION = re.compile(r"^v(\d+(?:\.\d+)*)$")
# Names that cannot answer FIM: reasoning-only models and non-generative ones.
_NOT_FIM = ("reasoner", "think", "embed", "r1", "r2")


def _tokens(model_id: str) -> list[str]:
    """`deepseek/deepseek-v4-flash` → `["deepseek", "v4", "flash"]` (vendor prefix dropped)."""
    return model_id.rsplit("/", 1)[-1].lower().split("-")


def _version(tokens: list[str]) -> tuple[int, ...]:
    """The `vN[.M]` part of a name as a sortable tuple; `()` for unversioned names."""
    for token in tokens:
        match = _VERSION.match(token)
        if match:
            return tuple(int(p) for p in match.group(1).split("."))
    return ()


def _fim_capable(tokens: list[str]) -> bool:
    return not any(t.startswith(bad) for t in tokens for bad in _NOT_FIM)


def _fim_rank(model_id: str) -> tuple[int, tuple[int, ...], str] | None:
    """Sort key for FIM candidates (lower sorts first), or None for unusable names.

    Tiers: `deepseek-vN-flash` (newest N first) < `deepseek-flash` < other flash names <
    `deepseek-chat` < other `deepseek-*` < `*pro*` (dearer and slower: last resort).
    """
    tokens = _tokens(model_id)
    if tokens[0] != "deepseek" or not _fim_capable(tokens):
        return None
    version = _version(tokens)
    newest_first = tuple(-p for p in (*version, 0, 0, 0)[:4])  # v4.1 before v4 before v3
    if "pro" in tokens:
        tier = 5
    elif tokens == ["deepseek", "flash"]:
        tier = 1
    elif len(tokens) == 3 and version and tokens[2] == "flash":
        tier = 0
    elif "flash" in tokens:
        tier = 2
    elif tokens == ["deepseek", "chat"]:
        tier = 3
    else:
        tier = 4
    return tier, newest_first, model_id


def pick_fim_model(ids: list[str]) -> str | None:
    """The best FIM-capable model among `ids`, or None if none is usable."""
    ranked = sorted(r for r in map(_fim_rank, ids) if r is not None)
    return ranked[0][2] if ranked else None


def _is_flash_class(model_id: str) -> bool:
    return "flash" in _tokens(model_id)


def pick_chat_model(ids: list[str], reasoning: bool) -> str | None:
    """The chat model for `ids`.

    V4 accounts (any flash-class model listed) use flash either way: reasoning there is the
    `thinking` flag, see `uses_thinking_flag`. Legacy accounts pick `deepseek-reasoner` (or
    another reasoner) when reasoning is wanted, else the FIM pick (`deepseek-chat`); a
    reasoner is still better than nothing when it is all the account lists.
    """
    reasoners = sorted(
        (i for i in ids if "reasoner" in _tokens(i)),
        key=lambda i: (_tokens(i) != ["deepseek", "reasoner"], i),
    )
    if reasoning and reasoners and not any(_is_flash_class(i) for i in ids):
        return reasoners[0]
    return pick_fim_model(ids) or (reasoners[0] if reasoners else None)


def uses_thinking_flag(model: str) -> bool:
    """Whether a chat request to `model` should carry `"thinking": {...}`.

    V4-era models (flash/pro, or any `vN` with N ≥ 4) switch modes by that flag; the legacy
    names fix the mode by name (`deepseek-chat` off, `deepseek-reasoner` on) and older
    backends may reject an unknown field.
    """
    tokens = _tokens(model)
    if "reasoner" in tokens or tokens == ["deepseek", "chat"]:
        return False
    version = _version(tokens)
    return "flash" in tokens or "pro" in tokens or (bool(version) and version[0] >= 4)


def is_auto(configured: str | None) -> bool:
    return not configured or configured.strip().lower() == AUTO


class ModelResolver:
    """Turns the `model`/`chatModel` settings into model names, asking `GET /models` once.

    Concurrent first calls share one `/models` request. Not thread-safe: use it from the
    event loop that owns the client.
    """

    def __init__(self, client: DeepSeekClient, *, discovery_deadline_s: float = 10.0) -> None:
        self._client = client
        self._deadline_s = discovery_deadline_s
        self._ids: list[str] | None = None
        self._failed_at: float | None = None
        self._bad: set[str] = set()
        self._pending: asyncio.Task[list[str] | None] | None = None

    @property
    def discovered(self) -> list[str] | None:
        """What `/models` listed last time, or None if not asked yet (or it failed)."""
        return None if self._ids is None else list(self._ids)

    def invalidate(self) -> None:
        """Forget everything learnt (settings changed: new key, base URL or account)."""
        self._ids = None
        self._failed_at = None
        self._bad.clear()

    async def fim_model(self, configured: str) -> str:
        """The FIM model: `configured` as given unless it is `auto`."""
        if not is_auto(configured):
            return configured.strip()
        ids = await self._usable_ids()
        return pick_fim_model(ids) or self._fallback()

    async def chat_model(self, configured: str, reasoning: bool) -> str:
        """The chat model: `configured` as given unless it is `auto`."""
        if not is_auto(configured):
            return configured.strip()
        ids = await self._usable_ids()
        return pick_chat_model(ids, reasoning) or self._fallback()

    async def call_with_rediscovery(
        self,
        configured: str,
        fn: Callable[[str], Awaitable[T]],
        *,
        chat: bool = False,
        reasoning: bool = False,
    ) -> T:
        """Call `fn(model)`; on "Model Not Exist" re-discover once and retry once (`auto` only).

        A configured name is never second-guessed: the error is re-raised naming the model and
        the setting to change.
        """
        model = await self._resolve(configured, chat, reasoning)
        try:
            return await fn(model)
        except ModelNotFoundError as exc:
            if not is_auto(configured):
                setting = "deepseek.chatModel" if chat else "deepseek.model"
                raise ModelNotFoundError(
                    f"{setting} is {model!r}: {exc.detail or 'Model Not Exist'}",
                    status=exc.status,
                ) from exc
            self._bad.add(model)
            self._ids = None
            self._failed_at = None
        model = await self._resolve(configured, chat, reasoning)
        try:
            return await fn(model)
        except ModelNotFoundError as exc:
            raise ModelNotFoundError(
                f"`auto` picked {model!r} after asking GET /models again: "
                f"{exc.detail or 'Model Not Exist'}",
                status=exc.status,
            ) from exc

    async def _resolve(self, configured: str, chat: bool, reasoning: bool) -> str:
        if chat:
            return await self.chat_model(configured, reasoning)
        return await self.fim_model(configured)

    def _fallback(self) -> str:
        for name in FALLBACK_MODELS:
            if name not in self._bad:
                return name
        return FALLBACK_MODELS[-1]

    async def _usable_ids(self) -> list[str]:
        ids = await self._discover()
        return [i for i in ids or () if i not in self._bad]

    async def _discover(self) -> list[str] | None:
        if self._ids is not None:
            return self._ids
        if self._failed_at is not None and time.monotonic() - self._failed_at < DISCOVERY_RETRY_S:
            return None
        if self._pending is None:
            self._pending = asyncio.ensure_future(self._ask_models())
        # Shielded: one caller being cancelled must not cancel the request the others share.
        return await asyncio.shield(self._pending)

    async def _ask_models(self) -> list[str] | None:
        try:
            models = await self._client.list_models(deadline_s=self._deadline_s)
        except DeepSeekError:
            self._failed_at = time.monotonic()
            return None
        finally:
            self._pending = None
        self._ids = [m.id for m in models]
        return self._ids
