"""Completion cache, shared in-flight calls, and the key scrubbed from logs."""

from __future__ import annotations

import asyncio
import logging

import pytest

from deepseek_lsp.completion.cache import CompletionCache, SharedCalls
from deepseek_lsp.logging_setup import RedactingFilter, redact_key


async def test_identical_calls_share_one_upstream_call():
    shared: SharedCalls[str] = SharedCalls()
    calls = 0

    async def upstream() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return "result"

    results = await asyncio.gather(*(shared.run("k", upstream) for _ in range(5)))
    assert results == ["result"] * 5
    assert calls == 1


async def test_upstream_cancelled_only_when_last_waiter_leaves():
    shared: SharedCalls[str] = SharedCalls()
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def upstream() -> str:
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    first = asyncio.ensure_future(shared.run("k", upstream))
    second = asyncio.ensure_future(shared.run("k", upstream))
    await started.wait()
    first.cancel()
    await asyncio.sleep(0.01)
    assert not cancelled.is_set()  # the second caller still waits
    second.cancel()
    await asyncio.wait_for(cancelled.wait(), 1)
    assert not shared.in_flight("k")


async def test_failures_reach_every_waiter():
    shared: SharedCalls[str] = SharedCalls()

    async def upstream() -> str:
        await asyncio.sleep(0.01)
        raise ValueError("boom")

    results = await asyncio.gather(shared.run("k", upstream), shared.run("k", upstream),
                                   return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in results)


def test_cache_roundtrip_and_clear():
    cache: CompletionCache[str] = CompletionCache(maxsize=2)
    cache.put("a", "1")
    cache.put("b", "2")
    cache.put("c", "3")
    assert cache.get("a") is None  # least recently used went first
    assert cache.get("c") == "3"
    cache.clear()
    assert len(cache) == 0


@pytest.mark.parametrize("arg_style", [True, False])
def test_key_is_scrubbed_from_log_records(arg_style):
    redact_key("sk-test-this-is-secret-0001")
    record = logging.LogRecord(
        "pygls", logging.INFO, __file__, 1,
        "init %s" if arg_style else "init {'apiKey': 'sk-test-this-is-secret-0001'}",
        ({"apiKey": "sk-test-this-is-secret-0001"},) if arg_style else None, None,
    )
    RedactingFilter().filter(record)
    assert "secret-0001" not in record.getMessage()


def test_error_responses_are_not_logged_as_tracebacks():
    from pygls.exceptions import JsonRpcRequestCancelled

    from deepseek_lsp.logging_setup import ExpectedErrorFilter

    try:
        raise JsonRpcRequestCancelled("cancelled")
    except JsonRpcRequestCancelled:
        import sys

        exc_info = sys.exc_info()
    record = logging.LogRecord("pygls.protocol.json_rpc", logging.ERROR, __file__, 1,
                               "Exception occurred for message %s", ("1",), exc_info)
    root = logging.getLogger()
    old = root.level
    try:
        root.setLevel(logging.WARNING)
        assert ExpectedErrorFilter().filter(record) is False
        root.setLevel(logging.DEBUG)
        assert ExpectedErrorFilter().filter(record) is True
    finally:
        root.setLevel(old)
