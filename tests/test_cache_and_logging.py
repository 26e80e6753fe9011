"""Completion cache, shared in-flight calls, and the key scrubbed from logs."""

from __future__ import annotations

import asyncio
import contextlib
import json
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
    with contextlib.suppress(asyncio.CancelledError):
        await first
    await asyncio.sleep(0)  # a wrongly cancelled upstream call would have seen it by now
    assert not cancelled.is_set() and not second.done()  # the second caller still waits
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


ODD_KEY = "gw\"q'uote\\back\\\\slash-ключ-TAIL7Hq2"


def _logged(msg: str, *args: object, name: str = "pygls") -> str:
    record = logging.LogRecord(name, logging.INFO, __file__, 1, msg, args or None, None)
    RedactingFilter().filter(record)
    return record.getMessage()


@pytest.mark.parametrize("shown", [
    lambda k: repr({"apiKey": k}),  # pygls logs `initialize` params as a repr
    lambda k: json.dumps({"apiKey": k}),  # messages as JSON
    lambda k: json.dumps({"apiKey": k}, ensure_ascii=False),
    lambda k: repr([{"deepseek": {"apiKey": k}}]),  # a workspace/configuration answer
    lambda k: repr({"DEEPSEEK_API_KEY": k}),
    lambda k: f"Settings(api_key={k!r})",
], ids=["repr", "json", "json-unicode", "configuration", "env-name", "keyword"])
def test_an_unknown_key_is_scrubbed_whole_from_an_api_key_field(shown):
    """Before the server has read the key it cannot know it: the whole value of an `apiKey`
    field goes, quotes, backslashes and all (it used to stop at the first quote)."""
    assert "TAIL7Hq2" not in _logged("params %s", shown(ODD_KEY))


def test_a_known_key_is_scrubbed_in_every_escaped_form():
    key = "gw\"known'key\\with-ключ-TAIL5Rt1"
    redact_key(key)
    for form in (key, json.dumps(key), repr(key), json.dumps(json.dumps(key)),
                 repr(json.dumps(key)), json.dumps(repr(key)), repr(key.encode())):
        assert "TAIL5Rt1" not in _logged("echoed %s by a proxy", form), form


def test_settings_reprs_still_say_whether_a_key_is_set():
    assert _logged("settings changed: %s", "Settings(api_key='<set>')").endswith("'<set>')")


def test_message_content_is_summarised_above_debug():
    from deepseek_lsp.logging_setup import ContentFilter

    body = json.dumps({"id": 7, "jsonrpc": "2.0",
                       "result": {"items": [{"insertText": "return secret_sauce()"}]}})
    record = logging.LogRecord("pygls.protocol.json_rpc", logging.INFO, __file__, 1,
                               "Sending data: %s", (body,), None)
    ContentFilter().filter(record)
    assert record.getMessage() == f"Sending data: <id=7 result, {len(body)} characters>"
    note = json.dumps({"method": "$/progress", "jsonrpc": "2.0",
                       "params": {"value": {"message": "def secret_sauce():"}}})
    record = logging.LogRecord("pygls.protocol.json_rpc", logging.INFO, __file__, 1,
                               "Sending data: %s", (note,), None)
    ContentFilter().filter(record)
    assert "secret_sauce" not in record.getMessage() and "$/progress" in record.getMessage()
