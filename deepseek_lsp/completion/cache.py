"""Remembered completions and shared in-flight calls.

The cache key is the exact request (the model and `FimParams`); the cache is cleared whenever
the settings change. The same context asked twice, e.g. after undo or when
moving the cursor back, is answered without a request. Identical requests
that arrive while one is in flight wait for that one instead of calling the API again; the
upstream call is cancelled only when nobody waits for it any more.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from cachetools import TTLCache

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


class CompletionCache(Generic[K, T]):
    def __init__(self, maxsize: int = 512, ttl_s: float = 900.0) -> None:
        self._cache: TTLCache[K, T] = TTLCache(maxsize=maxsize, ttl=ttl_s)

    def get(self, key: K) -> T | None:
        return self._cache.get(key)

    def put(self, key: K, value: T) -> None:
        self._cache[key] = value

    def clear(self) -> None:
        self._cache.clear()

    def __len__(self) -> int:
        return len(self._cache)


class SharedCalls(Generic[T]):
    """Run one call per key at a time; every caller with that key awaits the same result."""

    def __init__(self) -> None:
        self._calls: dict[Hashable, tuple[asyncio.Task[T], list[int]]] = {}

    def in_flight(self, key: Hashable) -> bool:
        return key in self._calls

    async def run(self, key: Hashable, make: Callable[[], Awaitable[T]]) -> T:
        entry = self._calls.get(key)
        if entry is None:
            task = asyncio.ensure_future(make())
            entry = (task, [0])
            self._calls[key] = entry
            task.add_done_callback(lambda _t, k=key, e=entry: self._forget(k, e))
        task, waiters = entry
        waiters[0] += 1
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.done() and waiters[0] == 1:
                task.cancel()  # the last caller went away: stop the upstream call now
            raise
        finally:
            waiters[0] -= 1

    def _forget(self, key: Hashable, entry: tuple[asyncio.Task[T], list[int]]) -> None:
        if self._calls.get(key) is entry:
            del self._calls[key]
        task = entry[0]
        if not task.cancelled():
            task.exception()  # mark retrieved: a failure is re-raised to the waiters instead
