"""The DeepSeek client over real loopback HTTP against the simulator, plus its pure parts.

The `sim` fixture (tests/conftest.py) is the session's one simulator thread, reset per test.
Timing assertions are loose (CI machines are slow) but tight enough to prove the deadline is
overall, not per chunk.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
import traceback
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from reliability.hostile_upstream import REDIRECT_TO, HostileUpstream

from deepseek_lsp import __version__
from deepseek_lsp.api.client import MAX_CHARS_PER_TOKEN, DeepSeekClient, parse_retry_after
from deepseek_lsp.api.errors import (
    MAX_RETRY_AFTER_S,
    APIConnectionError,
    AuthenticationError,
    DeepSeekError,
    InsufficientBalanceError,
    InvalidKeyError,
    InvalidRequestError,
    MalformedResponseError,
    MissingKeyError,
    ModelNotFoundError,
    RateLimitError,
    RedirectError,
    RequestTimeoutError,
    ResponseTooLargeError,
    ServerBusyError,
    ServerError,
    redact_secrets,
)
from deepseek_lsp.api.models import ModelResolver
from deepseek_lsp.api.sse import LineTooLongError, SSEEvent, SSEParser, iter_events, iter_lines
from deepseek_lsp.api.types import ChatDelta, FimParams
from deepseek_lsp.simulator import Rule, SimulatorThread

KEY = "sk-test-0123456789abcdef"
FIM = "/beta/completions"
CHAT = "/chat/completions"
PARAMS = FimParams(prompt="def add(a, b):\n", suffix="\n\nprint(add(1, 2))\n", max_tokens=64)


# -- pure parts ---------------------------------------------------------------------------------


def feed_all(lines: list[str]) -> list[SSEEvent]:
    parser = SSEParser()
    events = [e for e in map(parser.feed, lines) if e is not None]
    last = parser.flush()
    return [*events, last] if last else events


def test_sse_parser_skips_comments_and_blank_lines() -> None:
    events = feed_all([": keep-alive", "", "", 'data: {"a":1}', "", ": keep-alive", "",
                       "data: [DONE]", ""])
    assert [e.data for e in events] == ['{"a":1}', "[DONE]"]
    assert events[-1].is_done and not events[0].is_done


def test_sse_parser_joins_multiline_data_and_reads_fields() -> None:
    events = feed_all(["event: delta", "data: line one", "data:line two", "id: 7", "", "data: x"])
    assert events == [SSEEvent("line one\nline two", "delta"), SSEEvent("x")]


def test_sse_parser_dispatches_pending_event_at_end_and_strips_cr() -> None:
    assert feed_all(["data: [DONE]\r"]) == [SSEEvent("[DONE]")]
    assert feed_all([": only a comment", ""]) == []


async def test_iter_events_over_async_lines() -> None:
    async def lines() -> AsyncIterator[str]:
        for line in ["data: 1", "", ": ping", "data: 2", ""]:
            yield line

    assert [e.data async for e in iter_events(lines())] == ["1", "2"]


def test_parse_retry_after() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("-3") == 0.0
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (parse_retry_after(soon) or 0) <= 31
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    for bad in (None, "", "soon", "nan"):
        assert parse_retry_after(bad) is None


async def test_invalid_requests_fail_before_any_io() -> None:
    client = DeepSeekClient(KEY, "http://127.0.0.1:9")
    try:
        many_stops = FimParams("x", None, stop=tuple(str(i) for i in range(17)))
        with pytest.raises(InvalidRequestError, match="16 stop"):
            await client.fim(many_stops, model="m", deadline_s=1)
        with pytest.raises(InvalidRequestError, match="logprobs"):
            client.fim_stream(PARAMS, model="m", deadline_s=1, logprobs=21)
        with pytest.raises(InvalidRequestError, match="top_logprobs"):
            client.chat_stream([{"role": "user", "content": "q"}], model="m", deadline_s=1,
                               top_logprobs=21)
        with pytest.raises(InvalidRequestError, match="assistant"):
            client.chat_stream([{"role": "user", "content": "q"}], model="m", deadline_s=1,
                               prefix_completion=True)
        with pytest.raises(TypeError, match="temprature"):
            client.chat_stream([], model="m", deadline_s=1, temprature=0.1)  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="echo"):  # FIM's echo is not offered: nothing used it
            client.fim_stream(PARAMS, model="m", deadline_s=1, echo=True)  # type: ignore[call-arg]
    finally:
        await client.aclose()


# -- simulator fixture ----------------------------------------------------------------------------


@pytest.fixture
async def client(sim: SimulatorThread) -> AsyncIterator[DeepSeekClient]:
    async with DeepSeekClient(KEY, sim.base_url) as c:
        yield c


async def fim_call(client: DeepSeekClient, streamed: bool, deadline_s: float = 5) -> None:
    """One FIM call, plain or streamed and read to its end."""
    if not streamed:
        await client.fim(PARAMS, model="deepseek-v4-flash", deadline_s=deadline_s)
        return
    async with client.fim_stream(PARAMS, model="deepseek-v4-flash",
                                 deadline_s=deadline_s) as stream:
        async for _ in stream:
            pass


async def chat_call(client: DeepSeekClient, streamed: bool, deadline_s: float = 5) -> None:
    """One call read to its end: a streamed chat, or for the plain (JSON body) path a FIM call,
    since chat is streamed only."""
    if not streamed:
        await fim_call(client, False, deadline_s)
        return
    async with client.chat_stream(MESSAGES, model="deepseek-v4-flash",
                                  deadline_s=deadline_s) as stream:
        async for _ in stream:
            pass


def assert_key_hidden(*texts: str) -> None:
    for text in texts:
        assert KEY not in text


# -- account endpoints ----------------------------------------------------------------------------


async def test_list_models_on_both_generations(sim: SimulatorThread,
                                               client: DeepSeekClient) -> None:
    assert [m.id for m in await client.list_models()] == ["deepseek-v4-flash", "deepseek-v4-pro"]
    sim.configure(generation="legacy", api_key=KEY)  # now only the right Bearer key passes
    assert [m.id for m in await client.list_models()] == ["deepseek-chat", "deepseek-reasoner"]
    request = sim.requests("/models")[0]
    assert request.method == "GET"
    assert request.headers["authorization"].startswith("Bearer ")  # recorded masked
    assert request.headers["user-agent"] == f"deepseek-lsp/{__version__}"


async def test_balance_reports_every_currency(client: DeepSeekClient) -> None:
    balance = await client.balance()
    assert balance.is_available
    assert [(i.currency, i.total_balance, i.granted_balance, i.topped_up_balance)
            for i in balance.infos] == [("CNY", "110.00", "10.00", "100.00"),
                                        ("USD", "15.00", "0.00", "15.00")]


# -- FIM -------------------------------------------------------------------------------------------


async def test_fim_sends_the_documented_body(sim: SimulatorThread,
                                             client: DeepSeekClient) -> None:
    sim.script(Rule(path=FIM, text="    return a + b"))
    params = FimParams(prompt=PARAMS.prompt, suffix=PARAMS.suffix, max_tokens=32,
                       stop=("\n\n", "def "), temperature=0.2, top_p=0.9)
    result = await client.fim(params, model="deepseek-v4-flash", deadline_s=5, logprobs=2,
                              frequency_penalty=0.5)
    assert result.text == "    return a + b"
    assert result.finish_reason == "stop"
    assert result.model == "deepseek-v4-flash"
    assert sim.requests(FIM)[0].json == {
        "model": "deepseek-v4-flash", "prompt": params.prompt, "suffix": params.suffix,
        "max_tokens": 32, "stop": ["\n\n", "def "], "temperature": 0.2, "top_p": 0.9,
        "logprobs": 2, "frequency_penalty": 0.5,
    }


async def test_fim_usage_reports_prefix_cache_hits(client: DeepSeekClient) -> None:
    prompt = "".join(f"def function_{i}(value):\n    return value * {i}\n\n" for i in range(40))
    params = FimParams(prompt=prompt, suffix=None)
    first = await client.fim(params, model="deepseek-v4-flash", deadline_s=5)
    second = await client.fim(params, model="deepseek-v4-flash", deadline_s=5)
    assert first.usage.prompt_tokens > 128 and first.usage.prompt_cache_hit_tokens == 0
    assert second.usage.prompt_cache_hit_tokens >= 64
    assert (second.usage.prompt_cache_hit_tokens + second.usage.prompt_cache_miss_tokens
            == second.usage.prompt_tokens)


async def test_fim_stream_yields_pieces_then_the_result(sim: SimulatorThread,
                                                        client: DeepSeekClient) -> None:
    sim.script(Rule(path=FIM, text="    total = a + b\n    return total"))
    async with client.fim_stream(PARAMS, model="deepseek-v4-flash", deadline_s=5) as stream:
        pieces = [piece async for piece in stream]
    assert len(pieces) > 1
    assert "".join(pieces) == stream.result.text == "    total = a + b\n    return total"
    assert stream.result.finish_reason == "stop"
    assert stream.result.usage.prompt_tokens > 0
    body = sim.requests(FIM)[0].json
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


async def test_fim_logprobs_plain_and_streamed(client: DeepSeekClient) -> None:
    plain = await client.fim(PARAMS, model="deepseek-v4-flash", deadline_s=5, logprobs=2)
    async with client.fim_stream(PARAMS, model="deepseek-v4-flash", deadline_s=5,
                                 logprobs=2) as stream:
        async for _ in stream:
            pass
    streamed = stream.result
    assert plain.logprobs is not None and streamed.logprobs is not None
    for result, logprobs in ((plain, plain.logprobs), (streamed, streamed.logprobs)):
        assert "".join(logprobs["tokens"]) == result.text
        assert len(logprobs["token_logprobs"]) == len(logprobs["tokens"])
    for key in ("tokens", "text_offset"):  # the fake's values differ by position, not tokens
        assert streamed.logprobs[key] == plain.logprobs[key]


async def test_streams_reuse_the_pooled_connection(sim: SimulatorThread,
                                                   client: DeepSeekClient) -> None:
    for _ in range(3):
        async with client.fim_stream(PARAMS, model="deepseek-v4-flash", deadline_s=5) as stream:
            async for _ in stream:
                pass
        await client.fim(PARAMS, model="deepseek-v4-flash", deadline_s=5)
    assert len(client._http._transport._pool.connections) == 1  # type: ignore[attr-defined]


async def test_leaving_a_stream_early_hangs_up_at_once(sim: SimulatorThread,
                                                       client: DeepSeekClient) -> None:
    sim.script(Rule(path=FIM, text="x = 1\n" * 50, chunk_delay_s=0.05))
    async with client.fim_stream(PARAMS, model="deepseek-v4-flash", deadline_s=10) as stream:
        async for piece in stream:
            assert piece
            break
    assert stream.text and not stream.complete
    with pytest.raises(RuntimeError):
        _ = stream.result
    assert sim.wait_for(lambda reqs: any(r.disconnected for r in reqs), timeout=1.0)


# -- chat ------------------------------------------------------------------------------------------


MESSAGES = [
    {"role": "system", "content": "You are terse; answer in JSON when asked."},
    {"role": "user", "content": "9.11 or 9.8?"},
    {"role": "assistant", "content": "9.8", "reasoning_content": "compare decimals"},
    {"role": "user", "content": "Why?"},
]


async def test_chat_keeps_reasoning_apart_and_never_sends_it_back(
    sim: SimulatorThread, client: DeepSeekClient
) -> None:
    sim.script(Rule(path=CHAT, text="Because 0.8 > 0.11.", reasoning="Compare tenths first."))
    async with client.chat_stream(MESSAGES, model="deepseek-v4-flash", deadline_s=5,
                                  thinking=True, max_tokens=100, response_format="json_object",
                                  stop=["END"]) as stream:
        async for _ in stream:
            pass
    result = stream.result
    assert result.content == "Because 0.8 > 0.11."
    assert result.reasoning_content == "Compare tenths first."
    assert result.usage.prompt_tokens > 0
    body = sim.requests(CHAT)[0].json
    assert all("reasoning_content" not in m for m in body["messages"])
    assert body["messages"][2] == {"role": "assistant", "content": "9.8"}
    assert body["thinking"] == {"type": "enabled"}
    assert body["response_format"] == {"type": "json_object"}
    assert body["stop"] == ["END"] and body["max_tokens"] == 100
    assert "temperature" not in body
    assert "reasoning_content" in MESSAGES[2]  # the caller's history is left alone


@pytest.mark.parametrize(("model", "thinking"), [("deepseek-v4-flash", True),
                                               ("deepseek-v4-flash", False),
                                               ("deepseek-chat", None)])
async def test_thinking_mode_gets_the_reasoning_of_tool_call_turns_back(
    sim: SimulatorThread, client: DeepSeekClient, model: str, thinking: bool | None
) -> None:
    """V4 in thinking mode refuses (400) tool-call turns without their reasoning, in all later
    requests; other reasoning, and any reasoning outside thinking mode, is never sent back
    (legacy models refuse it anywhere)."""
    if model == "deepseek-chat":
        sim.configure(generation="legacy")
    def call(n: int) -> dict[str, object]:
        return {"id": f"call_0{n}_x", "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}

    messages = [MESSAGES[0], MESSAGES[1],
                {"role": "assistant", "content": "", "reasoning_content": "An earlier turn.",
                 "tool_calls": [call(0)]},
                {"role": "tool", "tool_call_id": "call_00_x", "content": "Rain."},
                {"role": "assistant", "content": "9.8", "reasoning_content": "Not a call."},
                {"role": "user", "content": "And the weather now?"},
                {"role": "assistant", "content": "", "reasoning_content": "I need the weather.",
                 "tool_calls": [call(1)]},
                {"role": "tool", "tool_call_id": "call_01_x", "content": "Sunny."}]
    async with client.chat_stream(messages, model=model, deadline_s=5, thinking=thinking,
                                  tools=TOOLS) as stream:
        async for _ in stream:
            pass
    assert stream.result.finish_reason == "stop"
    sent = sim.requests(CHAT)[0].json["messages"]
    assert [i for i, m in enumerate(sent) if "reasoning_content" in m] == (
        [2, 6] if thinking else [])
    if thinking:
        assert sent[6]["reasoning_content"] == "I need the weather."


async def test_chat_stream_yields_reasoning_and_answer_deltas(
    sim: SimulatorThread, client: DeepSeekClient
) -> None:
    sim.script(Rule(path=CHAT, text="The answer is 9.8.", reasoning="Tenths: 8 beats 1."))
    async with client.chat_stream(MESSAGES, model="deepseek-v4-flash", deadline_s=5,
                                  thinking=False) as stream:
        deltas = [d async for d in stream]
    assert all(isinstance(d, ChatDelta) for d in deltas)
    assert "".join(d.reasoning_content for d in deltas) == "Tenths: 8 beats 1."
    assert "".join(d.content for d in deltas) == "The answer is 9.8."
    result = stream.result
    assert result.content == "The answer is 9.8."
    assert result.reasoning_content == "Tenths: 8 beats 1."
    assert result.finish_reason == "stop" and result.usage.completion_tokens > 0
    body = sim.requests(CHAT)[0].json
    assert body["thinking"] == {"type": "disabled"} and body["stream"] is True


TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather of a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]


async def test_tool_calls_streamed(sim: SimulatorThread,
                                             client: DeepSeekClient) -> None:
    messages = [{"role": "user", "content": "Please call the get_weather tool for Paris"}]
    async with client.chat_stream(messages, model="deepseek-v4-flash", deadline_s=5,
                                  tools=TOOLS, tool_choice="auto") as stream:
        async for _ in stream:
            pass
    assert stream.result.finish_reason == "tool_calls"
    (call,) = stream.result.tool_calls
    assert call["function"]["name"] == "get_weather" and "Paris" in call["function"]["arguments"]
    assert sim.requests(CHAT)[0].json["tools"] == TOOLS


async def test_prefix_completion_goes_to_beta(sim: SimulatorThread,
                                              client: DeepSeekClient) -> None:
    messages = [{"role": "user", "content": "Write a quicksort"},
                {"role": "assistant", "content": "```python\n"}]
    async with client.chat_stream(messages, model="deepseek-v4-flash", deadline_s=5,
                                  prefix_completion=True) as stream:
        async for _ in stream:
            pass
    request = sim.requests()[-1]
    assert request.path == "/beta/chat/completions"
    assert request.json["messages"][-1] == {"role": "assistant", "content": "```python\n",
                                            "prefix": True}


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error", "retryable"),
    [
        (400, InvalidRequestError, False),
        (401, AuthenticationError, False),
        (402, InsufficientBalanceError, False),
        (422, InvalidRequestError, False),
        (429, RateLimitError, True),
        (500, ServerError, True),
        (503, ServerBusyError, True),
    ],
)
@pytest.mark.parametrize("streamed", [False, True])
async def test_error_statuses_map_to_the_tree(
    sim: SimulatorThread, client: DeepSeekClient, status: int, error: type[DeepSeekError],
    retryable: bool, streamed: bool,
) -> None:
    retry_after = 2.0 if status in (429, 503) else None
    sim.script(Rule(path=FIM, status=status, error_message=f"simulated {status}",
                    retry_after=retry_after))
    with pytest.raises(error) as info:
        await fim_call(client, streamed)
    exc = info.value
    assert type(exc) is error
    assert exc.status == status and exc.retryable is retryable
    assert exc.retry_after == retry_after
    assert f"simulated {status}" in str(exc)
    assert str(exc).startswith(error.default_message)


async def test_model_not_exist_is_its_own_error(client: DeepSeekClient) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        await client.fim(PARAMS, model="deepseek-chat", deadline_s=5)  # not on a V4 account
    assert info.value.status == 400


async def test_html_error_page_becomes_a_readable_message(sim: SimulatorThread,
                                                          client: DeepSeekClient) -> None:
    page = ("<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad "
            "Gateway</h1></center><hr><center>nginx</center></body></html>")
    sim.script(Rule(path=FIM, status=502, body=page, content_type="text/html"))
    with pytest.raises(ServerError) as info:
        await client.fim(PARAMS, model="deepseek-v4-flash", deadline_s=5)
    assert info.value.status == 502 and "(502 Bad Gateway)" in str(info.value)
    assert "<" not in str(info.value)


@pytest.mark.parametrize(
    ("body", "content_type", "fragment"),
    [
        ('{"choices": [{"text": "cut', "application/json", "broken JSON"),
        ("", "application/json", "empty"),
        ("<html><title>Proxy login</title></html>", "text/html", "Proxy login"),
        ("[1, 2]", "application/json", "not a JSON object"),
    ],
)
async def test_success_bodies_that_are_not_deepseeks_format(
    sim: SimulatorThread, client: DeepSeekClient, body: str, content_type: str, fragment: str
) -> None:
    sim.script(Rule(path=FIM, body=body, content_type=content_type))
    with pytest.raises(MalformedResponseError, match=fragment):
        await client.fim(PARAMS, model="deepseek-v4-flash", deadline_s=5)


@pytest.mark.parametrize("streamed", [False, True])
async def test_empty_choices_are_malformed(sim: SimulatorThread, client: DeepSeekClient,
                                           streamed: bool) -> None:
    sim.script(Rule(empty_choices=True))
    with pytest.raises(MalformedResponseError, match="no choices"):
        await chat_call(client, streamed)


async def test_keepalives_before_the_body_are_ignored(sim: SimulatorThread,
                                                      client: DeepSeekClient) -> None:
    sim.script(Rule(path=FIM, text="ok", keepalive_s=0.05, stall_s=0.3, times=2))
    result = await client.fim(PARAMS, model="deepseek-v4-flash", deadline_s=5)
    assert result.text == "ok"
    async with client.fim_stream(PARAMS, model="deepseek-v4-flash", deadline_s=5) as stream:
        assert "".join([p async for p in stream]) == "ok"


async def test_a_stream_dropped_midway_is_a_connection_error(sim: SimulatorThread,
                                                             client: DeepSeekClient) -> None:
    sim.script(Rule(path=FIM, text="a = 1\nb = 2\nc = 3\nd = 4\n", drop_after_chunks=2))
    pieces: list[str] = []
    with pytest.raises(APIConnectionError):
        async with client.fim_stream(PARAMS, model="deepseek-v4-flash", deadline_s=5) as stream:
            async for piece in stream:
                pieces.append(piece)
    assert pieces and "".join(pieces) == stream.text


@pytest.mark.parametrize("chunks", [0, 3])
async def test_a_json_answer_cut_off_is_a_connection_error(
    sim: SimulatorThread, client: DeepSeekClient, chunks: int
) -> None:
    sim.script(Rule(path=FIM, drop_after_chunks=chunks))
    with pytest.raises(APIConnectionError, match="connection dropped"):
        await client.fim(PARAMS, model="deepseek-v4-flash", deadline_s=5)


async def test_a_stream_ending_without_done_is_malformed(sim: SimulatorThread,
                                                         client: DeepSeekClient) -> None:
    sim.script(Rule(path=FIM, text="a = 1\nb = 2\n", truncate=True))
    with pytest.raises(MalformedResponseError, match=r"\[DONE\]"):
        async with client.fim_stream(PARAMS, model="deepseek-v4-flash", deadline_s=5) as stream:
            async for _ in stream:
                pass


@pytest.mark.parametrize("streamed", [False, True])
async def test_deadline_is_overall_even_while_keepalives_flow(
    sim: SimulatorThread, client: DeepSeekClient, streamed: bool
) -> None:
    sim.script(Rule(path=FIM, stall_s=10.0, keepalive_s=0.05))
    started = time.monotonic()
    with pytest.raises(RequestTimeoutError, match=r"0\.5 s"):
        await fim_call(client, streamed, deadline_s=0.5)
    assert 0.45 <= time.monotonic() - started < 1.5
    assert sim.wait_for(lambda reqs: any(r.disconnected for r in reqs), timeout=1.0)


@pytest.mark.parametrize("streamed", [False, True])
async def test_cancellation_propagates_and_hangs_up(
    sim: SimulatorThread, client: DeepSeekClient, streamed: bool
) -> None:
    sim.script(Rule(stall_s=10.0, keepalive_s=0.05))

    task = asyncio.ensure_future(chat_call(client, streamed, deadline_s=30))
    assert await asyncio.to_thread(sim.wait_for, lambda reqs: bool(reqs), 2.0)
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    cancelled_at = time.monotonic()
    assert await asyncio.to_thread(sim.wait_for, lambda reqs: reqs[0].disconnected, 1.0)
    assert time.monotonic() - cancelled_at < 1.0


async def test_unreachable_url_is_a_connection_error() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with DeepSeekClient(KEY, f"http://127.0.0.1:{port}") as client:
        with pytest.raises(APIConnectionError) as info:
            await client.fim(PARAMS, model="deepseek-v4-flash", deadline_s=5)
    assert info.value.retryable and "127.0.0.1" in str(info.value)
    assert_key_hidden(str(info.value), repr(info.value))


async def test_missing_or_unusable_key_fails_before_any_request(sim: SimulatorThread) -> None:
    for key, error in ((None, MissingKeyError), ("  ", MissingKeyError),
                       ("sk-ключ", InvalidKeyError), ("sk one", InvalidKeyError)):
        async with DeepSeekClient(key, sim.base_url) as client:
            with pytest.raises(error):
                await client.list_models()
            with pytest.raises(error):
                async with client.chat_stream(MESSAGES, model="deepseek-v4-flash", deadline_s=5):
                    pass
    assert sim.requests() == []


async def test_the_key_never_shows_in_errors_reprs_or_logs(
    sim: SimulatorThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sim.configure(api_key="sk-the-right-one")
    sim.script(Rule(path=FIM, status=401, error_message=f"Authentication Fails, key {KEY}"))
    texts: list[str] = []
    async with DeepSeekClient(KEY, sim.base_url) as client:
        texts.append(repr(client))
        for call in (client.list_models(),
                     client.fim(PARAMS, model="deepseek-v4-flash", deadline_s=5)):
            with pytest.raises(AuthenticationError) as info:
                await call
            texts += [str(info.value), repr(info.value), info.value.user_message,
                      "".join(traceback.format_exception(info.value))]
    assert any("sk-…(redacted)" in t for t in texts)
    assert_key_hidden(*texts, caplog.text)


# -- model resolution against the simulator --------------------------------------------------------


async def test_auto_resolution_on_both_generations(sim: SimulatorThread,
                                                   client: DeepSeekClient) -> None:
    resolver = ModelResolver(client)
    assert await resolver.fim_model("auto") == "deepseek-v4-flash"
    assert await resolver.chat_model("auto", reasoning=True) == "deepseek-v4-flash"
    sim.configure(generation="legacy")
    resolver.invalidate()
    assert await resolver.fim_model("auto") == "deepseek-chat"
    assert await resolver.chat_model("auto", reasoning=True) == "deepseek-reasoner"
    assert len(sim.requests("/models")) == 2


async def test_model_not_exist_triggers_one_rediscovery(sim: SimulatorThread,
                                                        client: DeepSeekClient) -> None:
    resolver = ModelResolver(client)
    assert await resolver.fim_model("auto") == "deepseek-v4-flash"
    sim.configure(generation="legacy")  # the account changed under us

    async def complete(model: str) -> str:
        return (await client.fim(PARAMS, model=model, deadline_s=5)).model

    assert await resolver.call_with_rediscovery("auto", complete) == "deepseek-chat"
    assert [r.json["model"] for r in sim.requests(FIM)] == ["deepseek-v4-flash", "deepseek-chat"]
    assert len(sim.requests("/models")) == 2
    with pytest.raises(ModelNotFoundError, match=r"deepseek\.model is 'deepseek-v4-pro'"):
        await resolver.call_with_rediscovery("deepseek-v4-pro", complete)
    assert len(sim.requests("/models")) == 2


# -- a hostile upstream: bounded memory, bounded time, honest errors (issue 10) ------------------


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileUpstream]:
    with HostileUpstream() as upstream:
        yield upstream


@pytest.fixture
async def hostile_client(
    hostile: HostileUpstream,
) -> AsyncIterator[Callable[[str], DeepSeekClient]]:
    """A client for one mode of the hostile upstream."""
    clients: list[DeepSeekClient] = []

    def make(mode: str) -> DeepSeekClient:
        clients.append(DeepSeekClient(KEY, hostile.base_url(mode)))
        return clients[-1]

    yield make
    for c in clients:
        await c.aclose()


async def lines_of(chunks: list[bytes], limit: int = 100) -> list[str]:
    async def source() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    return [line async for line in iter_lines(source(), limit)]


async def test_iter_lines_splits_at_every_sse_line_break_across_chunks() -> None:
    assert await lines_of([b"data: a\r", b"\ndata: b\rdata: c\n", b"\n", b"data: d"]) == [
        "data: a", "data: b", "data: c", "", "data: d"]
    snowman = "data: ☃".encode()
    assert await lines_of([snowman[:-2], snowman[-2:] + b"\n"]) == ["data: ☃"]


async def test_iter_lines_gives_up_on_a_line_past_its_limit_before_holding_it() -> None:
    held: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        yield b"data: ok\n"
        for n in range(10_000):
            held.append(n)
            yield b"x" * 64

    with pytest.raises(LineTooLongError, match="1,000 bytes"):
        async for _ in iter_lines(endless(), 1000):
            pass
    assert len(held) == 16  # 1,024 bytes read: the line was given up at once, not at the end


def test_redact_secrets_removes_the_key_and_anything_key_shaped() -> None:
    text = (f"key={KEY} other=sk-0123456789abcdef0123456789abcdef "
            "Authorization: Bearer abc.DEF-123_456789 Basic dXNlcjpwYXNzd29yZA1=")
    scrubbed = redact_secrets(text, KEY)
    for secret in (KEY, "0123456789abcdef0123", "abc.DEF-123_456789", "dXNlcjpwYXNzd29yZA1="):
        assert secret not in scrubbed
    assert scrubbed.count("(redacted)") == 4
    harmless = "Bearer authentication failed; max_tokens exceeded for risk-assessment-0123456"
    assert redact_secrets(harmless) == harmless


def test_retry_after_is_capped_at_a_few_minutes() -> None:
    assert parse_retry_after("99999999") == MAX_RETRY_AFTER_S
    far = format_datetime(datetime.now(UTC) + timedelta(days=3 * 365), usegmt=True)
    assert parse_retry_after(far) == MAX_RETRY_AFTER_S
    assert parse_retry_after("120") == 120.0  # within the cap: as the server says
    assert 60 <= MAX_RETRY_AFTER_S <= 600


@pytest.mark.parametrize("kind", ["chat", "fim"])
async def test_an_endless_sse_line_is_given_up_at_its_bound(
    hostile: HostileUpstream, hostile_client: Callable[[str], DeepSeekClient], kind: str
) -> None:
    client = hostile_client("endless-line")
    started = time.monotonic()
    with pytest.raises(ResponseTooLargeError, match="not read"):
        if kind == "chat":  # a chat stream's bytes bound is larger than the line bound
            await chat_call(client, streamed=True, deadline_s=3)
        else:
            await fim_call(client, streamed=True, deadline_s=3)
    assert time.monotonic() - started < 2.0  # not at the deadline: at once
    path = CHAT if kind == "chat" else FIM
    assert await asyncio.to_thread(
        lambda: wait_until_true(lambda: hostile.recorded("endless-line", path)[-1].disconnected))


async def test_an_endless_chat_answer_is_cut_and_says_where(
    hostile: HostileUpstream, hostile_client: Callable[[str], DeepSeekClient]
) -> None:
    client = hostile_client("endless-content")
    deltas: list[str] = []
    with pytest.raises(ResponseTooLargeError) as info:
        async with client.chat_stream(MESSAGES, model="deepseek-v4-flash", deadline_s=3,
                                      max_tokens=1000) as stream:
            async for delta in stream:
                deltas.append(delta.content)
    message = str(info.value)
    assert "the answer went past 16,000 characters (max_tokens 1,000 × 16 characters)" in message
    assert "cut there" in message
    assert 15_000 < len("".join(deltas)) <= 16_000
    assert await asyncio.to_thread(
        lambda: wait_until_true(
            lambda: hostile.recorded("endless-content", CHAT)[-1].disconnected))


async def test_an_endless_fim_stream_ends_at_max_tokens_worth_of_text(
    hostile: HostileUpstream, hostile_client: Callable[[str], DeepSeekClient]
) -> None:
    client = hostile_client("endless-content")
    async with client.fim_stream(PARAMS, model="deepseek-v4-flash", deadline_s=3) as stream:
        pieces = [piece async for piece in stream]
    result = stream.result
    assert len(result.text) == PARAMS.max_tokens * MAX_CHARS_PER_TOKEN == len("".join(pieces))
    assert result.finish_reason == "length"
    assert await asyncio.to_thread(
        lambda: wait_until_true(
            lambda: hostile.recorded("endless-content", FIM)[-1].disconnected))


async def test_steady_content_cannot_outlast_the_deadline(
    hostile_client: Callable[[str], DeepSeekClient]
) -> None:
    client = hostile_client("endless-content-slow")
    started = time.monotonic()
    with pytest.raises(RequestTimeoutError):
        await chat_call(client, streamed=True, deadline_s=1.0)
    assert 0.9 < time.monotonic() - started < 3.0


@pytest.mark.parametrize(("mode", "fragment"), [
    ("huge-body", "the body is 100,000,000 bytes, more than an answer of 64 tokens can take "
                  "(71,680); it was not read"),
    ("huge-body-unsized", "the body went past 71,680 bytes, more than an answer of 64 tokens "
                          "can take; the rest was not read"),
])
async def test_a_100_mb_body_is_refused_at_its_bound(
    hostile: HostileUpstream, hostile_client: Callable[[str], DeepSeekClient], mode: str,
    fragment: str,
) -> None:
    client = hostile_client(mode)
    started = time.monotonic()
    with pytest.raises(ResponseTooLargeError) as info:
        await client.fim(PARAMS, model="deepseek-v4-flash", deadline_s=10)
    assert fragment in str(info.value)
    assert time.monotonic() - started < 2.0
    assert hostile.recorded(mode, FIM)[-1].bytes_sent < 50_000_000


async def test_a_50_mb_sse_line_is_refused(hostile_client: Callable[[str], DeepSeekClient]) -> None:
    client = hostile_client("huge-line")
    with pytest.raises(ResponseTooLargeError, match="line went past 1,048,576 bytes"):
        async with client.chat_stream(MESSAGES, model="deepseek-v4-flash", deadline_s=10,
                                      max_tokens=8000) as stream:
            async for _ in stream:
                pass


async def test_fim_text_past_max_tokens_is_cut_there(sim: SimulatorThread,
                                                     client: DeepSeekClient) -> None:
    text = "x = 1\n" * 400  # 2,400 characters where 64 tokens were asked for
    sim.script(Rule(path=FIM, content_type="application/json", body=json.dumps(
        {"choices": [{"index": 0, "text": text, "finish_reason": "stop"}]})))
    result = await client.fim(PARAMS, model="deepseek-v4-flash", deadline_s=5)
    assert result.text == text[: 64 * MAX_CHARS_PER_TOKEN]
    assert result.finish_reason == "length"


@pytest.mark.parametrize("call", ["fim", "fim_stream", "chat_stream", "models"])
async def test_a_redirect_is_reported_with_its_target_and_not_followed(
    hostile: HostileUpstream, hostile_client: Callable[[str], DeepSeekClient], call: str
) -> None:
    client = hostile_client("redirect")
    with pytest.raises(RedirectError) as info:
        if call == "fim":
            await fim_call(client, streamed=False)
        elif call == "fim_stream":
            await fim_call(client, streamed=True)
        elif call == "chat_stream":
            await chat_call(client, streamed=True)
        else:
            await client.balance()
    error = info.value
    assert error.status == 302 and error.kind == "redirect" and error.retryable
    assert f"answered HTTP 302 to {REDIRECT_TO}" in str(error)
    assert "invalid" not in str(error)


@pytest.mark.parametrize("call", ["fim", "fim_stream", "chat", "chat_stream"])
async def test_null_text_is_malformed_not_an_empty_success(
    hostile_client: Callable[[str], DeepSeekClient], call: str
) -> None:
    client = hostile_client("null-text")
    with pytest.raises(MalformedResponseError, match="null"):
        if call.startswith("fim"):
            await fim_call(client, streamed=call.endswith("stream"))
        else:
            await chat_call(client, streamed=call.endswith("stream"))


async def test_an_empty_answer_that_is_text_stays_an_answer(sim: SimulatorThread,
                                                            client: DeepSeekClient) -> None:
    sim.script(Rule(path=FIM, text=""))
    async with client.fim_stream(PARAMS, model="deepseek-v4-flash", deadline_s=5) as stream:
        assert [p async for p in stream] == []
    assert stream.result.text == ""


async def test_a_200_body_echoing_the_key_never_carries_it_into_the_error(
    hostile: HostileUpstream, hostile_client: Callable[[str], DeepSeekClient]
) -> None:
    client = hostile_client("echo-auth")
    with pytest.raises(MalformedResponseError) as info:
        await client.balance()
    assert hostile.recorded("echo-auth", "/user/balance")[-1].headers["authorization"] \
        == f"Bearer {KEY}"
    texts = [str(info.value), repr(info.value), info.value.user_message,
             "".join(traceback.format_exception(info.value))]
    assert "authorization: Bearer sk-…(redacted)" in texts[0]
    assert_key_hidden(*texts)


@pytest.mark.parametrize("status", [200, 500])
async def test_no_part_of_the_key_survives_a_cut_error_text(sim: SimulatorThread,
                                                            client: DeepSeekClient,
                                                            status: int) -> None:
    # the key straddles the 200-character cut of a page's text
    page = "<html><body>" + "a" * 185 + f" {KEY} " + "b" * 100 + "</body></html>"
    sim.script(Rule(path=FIM, status=status, body=page, content_type="text/html"))
    with pytest.raises(DeepSeekError) as info:
        await client.fim(PARAMS, model="deepseek-v4-flash", deadline_s=5)
    assert "aaaa" in str(info.value)
    assert KEY[:8] not in str(info.value)  # not even its start


async def test_retry_after_of_three_years_is_capped(
    hostile_client: Callable[[str], DeepSeekClient]
) -> None:
    with pytest.raises(RateLimitError) as info:
        await fim_call(hostile_client("retry-after"), streamed=True)
    assert info.value.retry_after == MAX_RETRY_AFTER_S


def wait_until_true(check: Callable[[], bool], timeout: float = 2.0) -> bool:
    """Poll `check` (from a worker thread) until it holds or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return check()
