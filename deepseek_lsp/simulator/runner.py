"""Running the simulator: in a background thread (tests, benchmarks, demo) or as a server (CLI).

`SimulatorThread` owns a private event loop in its own thread, so it works the same from plain
synchronous tests, pytest-asyncio tests and pytest-lsp tests, whose loops it never touches.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .app import FakeDeepSeek, start_site
from .state import RecordedRequest, Rule


async def serve(host: str = "127.0.0.1", port: int = 8765, **config: Any) -> None:
    """Run a simulator with these settings until cancelled (what `deepseek-lsp fake-api` runs)."""
    await FakeDeepSeek(**config).serve(host, port)


class SimulatorThread:
    """The simulator on 127.0.0.1 in a daemon thread; a context manager.

    The scripting methods (`script`, `requests`, `wait_for`, `configure`, `reset`,
    `cache_stats`) are safe to call from any thread.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **config: Any) -> None:
        self.fake = FakeDeepSeek(**config)
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`, without a trailing slash."""
        if self._thread is None:
            raise RuntimeError("the simulator is not running; call start() first")
        return f"http://{self.host}:{self.port}"

    def start(self) -> SimulatorThread:
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._run, name="deepseek-simulator", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            self._thread = None
            raise RuntimeError(f"the simulator could not start: {self._error}") from self._error
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._runner, self.port = loop.run_until_complete(
                start_site(self.fake, self.host, self.port))
        except BaseException as exc:  # reported to start() in the caller's thread
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._runner.cleanup())
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        self.fake.state.closing = True
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._thread = None
        self._loop = None
        self.fake.state.closing = False

    def __enter__(self) -> SimulatorThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting -------------------------------------------------------------------------------

    def script(self, *rules: Rule) -> None:
        """Append rules; the first matching rule (in scripting order) answers a request."""
        self.fake.script(*rules)

    def requests(self, path: str | None = None) -> list[RecordedRequest]:
        return self.fake.requests(path)

    def wait_for(self, predicate: Callable[[list[RecordedRequest]], bool],
                 timeout: float = 5.0) -> bool:
        """Poll the recorded requests until `predicate(requests)` is true; False on timeout.

        This blocks the calling thread: from a coroutine use `await wait_for_async(...)`, or
        the caller's own event loop (an LSP client, say) stops while it waits.
        """
        deadline = time.monotonic() + timeout
        while True:
            if predicate(self.fake.requests()):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    async def wait_for_async(self, predicate: Callable[[list[RecordedRequest]], bool],
                             timeout: float = 5.0) -> bool:
        """`wait_for` for async tests: polls without blocking the caller's event loop."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate(self.fake.requests()):
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.01)

    def configure(self, **changes: Any) -> None:
        self.fake.configure(**changes)

    def reset(self) -> None:
        self.fake.reset()

    def cache_stats(self) -> dict[str, int]:
        return self.fake.cache_stats()


def main() -> None:  # pragma: no cover - convenience: python -m deepseek_lsp.simulator
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8765
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(port=port))
