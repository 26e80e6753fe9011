"""The hostile-upstream matrix: the language server, run as editors run it, against an upstream
that misbehaves on purpose (`hostile_upstream.py`), one mode per server (issue 10, items 5, 9,
10, 15 and 17).

For every mode the user must see: the request answered in bounded time (an inline completion
returns, `deepseek.chat` ends with an error that says what happened, or a cut answer), one
message that names the problem, `deepseek.status` answered promptly while the hostile call is
in flight (the event loop is never blocked), the server's memory bounded by the settings, and
the key nowhere in what the client receives or the server logs.

Bounds are far from both sides: a healthy server grows by a few MB and answers
`deepseek.status` in milliseconds; before these bounds existed the endless line took the
server past 2 GB, the 100 MB body blocked its event loop for over a minute, and the 302 was
"rejected the request as invalid". A watchdog kills a server that passes `KILL_GROWTH_MB`, so
a regression fails fast instead of exhausting the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException

from deepseek_lsp.api.client import MAX_CHARS_PER_TOKEN
from deepseek_lsp.api.errors import MAX_RETRY_AFTER_S
from deepseek_lsp.demo import Editor

from .hostile_upstream import REDIRECT_TO, HostileUpstream
from .support import KEY, launch, server_alive, server_pid, stop

TIMEOUT_MS = 8000  # the default: the deadline a user has
MAX_TOKENS = 128  # the default
COMPLETION_BOUND_S = TIMEOUT_MS / 1000 + 2.0  # an inline completion gives up at its deadline
CHAT_BOUND_S = 30.0  # chat's own limits are longer; the bounds here must end it far sooner
STATUS_BOUND_S = 2.5  # a `deepseek.status` round trip: milliseconds when the loop is free
RSS_GROWTH_BOUND_MB = 100.0  # healthy: a few MB; before the bounds: 190 MB to over 2 GB
KILL_GROWTH_MB = 400.0
PING_WINDOW_S = 1.0  # `deepseek.status` is timed for at least this long
#: A multi-line request (start of a function body), so `maxTokens` applies in full.
DOCUMENT = "import os\n\n\ndef main():\n    "


@pytest.fixture(scope="module")
def upstream() -> Iterator[HostileUpstream]:
    with HostileUpstream() as hostile:
        yield hostile


@dataclass
class Outcome:
    """What one hostile request did to the server, as the editor saw it."""

    result: Any = None
    error: BaseException | None = None
    seconds: float = 0.0
    rss_growth_mb: float = 0.0
    status_round_trips_s: list[float] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)
    killed_at_mb: float | None = None

    def check_server_stayed_healthy(self) -> None:
        assert self.killed_at_mb is None, (
            f"the server grew by {self.killed_at_mb:.0f} MB and was killed")
        assert self.rss_growth_mb < RSS_GROWTH_BOUND_MB, (
            f"the server's peak memory grew by {self.rss_growth_mb:.0f} MB")
        assert self.status_round_trips_s, "deepseek.status was never answered"
        worst = max(self.status_round_trips_s)
        assert worst < STATUS_BOUND_S, f"deepseek.status waited {worst:.2f} s (event loop blocked)"


def memory_mb(pid: int, field_name: str) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field_name} for {pid}")


async def hostile_call(
    upstream: HostileUpstream, root: Path, mode: str,
    request: Callable[[Editor], Awaitable[Any]], bound_s: float,
    settings: dict[str, Any] | None = None, *, record: bool = False,
) -> tuple[Outcome, Editor]:
    """Start a server against `mode`, make one request, and watch the server meanwhile."""
    editor = await asyncio.wait_for(launch(
        upstream.base_url(mode), root, record=record,
        init_options={"timeoutMs": TIMEOUT_MS, "maxTokens": MAX_TOKENS, **(settings or {})}), 60)
    outcome = Outcome()
    pid = server_pid(editor)
    # warm up: httpx is imported on first use and `GET /models` is answered properly
    await asyncio.wait_for(editor.command("deepseek.models"), 30)
    shown = len(editor.client.messages)
    editor.open((root / "app.py").as_uri(), DOCUMENT)
    editor.move_to(len(DOCUMENT))
    start_rss = memory_mb(pid, "VmRSS")
    started = time.monotonic()
    task = asyncio.ensure_future(request(editor))

    async def watch_memory() -> None:
        while not task.done():
            growth = memory_mb(pid, "VmRSS") - start_rss
            if growth > KILL_GROWTH_MB:
                outcome.killed_at_mb = growth
                editor.client._server.kill()
                task.cancel()
                return
            await asyncio.sleep(0.02)

    async def ping() -> None:
        while not task.done() or time.monotonic() - started < PING_WINDOW_S:
            sent = time.monotonic()
            try:
                await asyncio.wait_for(editor.command("deepseek.status"), bound_s + 5)
            finally:  # a round trip that never ended counts for as long as it was waited for
                outcome.status_round_trips_s.append(time.monotonic() - sent)
            await asyncio.sleep(0.02)

    watchdog = asyncio.ensure_future(watch_memory())
    pinger = asyncio.ensure_future(ping())
    try:
        outcome.result = await asyncio.wait_for(asyncio.shield(task), bound_s + 5)
    except (Exception, asyncio.CancelledError) as error:
        outcome.error = error
    outcome.seconds = time.monotonic() - started
    watchdog.cancel()
    with contextlib.suppress(BaseException):
        await watchdog
    if outcome.killed_at_mb is None:
        with contextlib.suppress(TimeoutError):
            await pinger  # the round trip in flight when the request ended counts too
        outcome.rss_growth_mb = memory_mb(pid, "VmHWM") - start_rss
        with contextlib.suppress(TimeoutError):
            outcome.status = await asyncio.wait_for(editor.command("deepseek.status"), 10)
    else:
        pinger.cancel()
    outcome.messages = [m.message for m in editor.client.messages[shown:]]
    assert outcome.seconds < bound_s, f"answered after {outcome.seconds:.1f} s"
    return outcome, editor


@contextlib.asynccontextmanager
async def against(upstream: HostileUpstream, root: Path, mode: str,
                  request: Callable[[Editor], Awaitable[Any]], bound_s: float,
                  settings: dict[str, Any] | None = None, *, record: bool = False
                  ) -> Any:
    """`hostile_call`, then the server must still be alive; it is stopped in any case."""
    editor = None
    try:
        outcome, editor = await hostile_call(upstream, root, mode, request, bound_s, settings,
                                             record=record)
        yield outcome, editor
        assert server_alive(editor), "the server died"
    finally:
        if editor is not None:
            await stop(editor)


def ask_chat(editor: Editor) -> Awaitable[Any]:
    return editor.command("deepseek.chat", {"question": "What does main do?"})


def chat_error(outcome: Outcome) -> JsonRpcException:
    assert isinstance(outcome.error, JsonRpcException), (outcome.error, outcome.result)
    assert outcome.error.code == lsp.LSPErrorCodes.RequestFailed
    return outcome.error


def message_of(error: JsonRpcException) -> str:
    return str(error.args[0] if error.args else error)


# -- memory and liveness (items 9 and 10) ---------------------------------------------------------


async def test_endless_sse_line_in_chat(upstream: HostileUpstream, tmp_path: Path) -> None:
    async with against(upstream, tmp_path, "endless-line", ask_chat, CHAT_BOUND_S) as (o, _):
        o.check_server_stayed_healthy()
        error = chat_error(o)
        assert error.data["kind"] == "malformed"
        assert "line went past 1,048,576 bytes" in message_of(error)
    assert upstream.recorded("endless-line", "/chat/completions")[-1].disconnected


async def test_endless_sse_line_in_completions(upstream: HostileUpstream,
                                               tmp_path: Path) -> None:
    async with against(upstream, tmp_path, "endless-line", Editor.ghost,
                       COMPLETION_BOUND_S) as (o, _):
        o.check_server_stayed_healthy()
        assert o.error is None and o.result is None
        assert o.status["lastErrorKind"] == "malformed"
        assert any("not read" in m for m in o.messages), o.messages


async def test_endless_content_in_chat_is_cut_and_said_so(upstream: HostileUpstream,
                                                          tmp_path: Path) -> None:
    async with against(upstream, tmp_path, "endless-content", ask_chat, CHAT_BOUND_S) as (o, _):
        o.check_server_stayed_healthy()
        error = chat_error(o)
        # bounded by `chatMaxTokens` (8,192 by default) × 16 characters
        assert "the answer went past 131,072 characters (max_tokens 8,192" in message_of(error)
        assert "cut there" in message_of(error)
    assert upstream.recorded("endless-content", "/chat/completions")[-1].disconnected


async def test_endless_content_in_completions_stops_at_max_tokens(upstream: HostileUpstream,
                                                                  tmp_path: Path) -> None:
    async with against(upstream, tmp_path, "endless-content", Editor.ghost,
                       COMPLETION_BOUND_S) as (o, _):
        o.check_server_stayed_healthy()
        assert o.error is None
        if o.result is not None:  # what the post-processor kept of the cut answer
            assert len(o.result.insert_text) <= MAX_TOKENS * MAX_CHARS_PER_TOKEN
    assert upstream.recorded("endless-content", "/beta/completions")[-1].disconnected


@pytest.mark.parametrize("mode", ["huge-body", "huge-body-unsized"])
async def test_a_100_mb_completion_body_is_refused_without_blocking(
    upstream: HostileUpstream, tmp_path: Path, mode: str
) -> None:
    async with against(upstream, tmp_path, mode, Editor.ghost, COMPLETION_BOUND_S,
                       {"streamCompletions": False}) as (o, _):
        o.check_server_stayed_healthy()
        assert o.error is None and o.result is None  # not a 100-million-character suggestion
        assert o.status["lastErrorKind"] == "malformed"
        assert any("bytes" in m and "128 tokens" in m for m in o.messages), o.messages
    assert upstream.recorded(mode, "/beta/completions")[-1].bytes_sent < 50_000_000


async def test_a_50_mb_sse_line_is_refused(upstream: HostileUpstream, tmp_path: Path) -> None:
    async with against(upstream, tmp_path, "huge-line", Editor.ghost,
                       COMPLETION_BOUND_S) as (o, _):
        o.check_server_stayed_healthy()
        assert o.error is None and o.result is None
        assert o.status["lastErrorKind"] == "malformed"
    assert upstream.recorded("huge-line", "/beta/completions")[-1].bytes_sent < 25_000_000


# -- honest reports (item 17) ---------------------------------------------------------------------


async def test_a_redirect_is_reported_as_one_with_its_target(upstream: HostileUpstream,
                                                             tmp_path: Path) -> None:
    async with against(upstream, tmp_path, "redirect", Editor.ghost,
                       COMPLETION_BOUND_S) as (o, editor):
        o.check_server_stayed_healthy()
        assert o.result is None and o.status["lastErrorKind"] == "redirect"
        (message,) = o.messages
        assert "redirect" in message and REDIRECT_TO in message
        assert "invalid" not in message
        with pytest.raises(JsonRpcException) as info:
            await asyncio.wait_for(ask_chat(editor), CHAT_BOUND_S)
        assert info.value.data["kind"] == "redirect" and REDIRECT_TO in message_of(info.value)
    # never followed: one request each, to the base URL (the upstream serves no portal path)
    assert [r.path for r in upstream.recorded("redirect") if r.path != "/models"] == [
        "/beta/completions", "/chat/completions"]


async def test_null_text_is_a_failure_not_a_silent_success(upstream: HostileUpstream,
                                                           tmp_path: Path) -> None:
    async with against(upstream, tmp_path, "null-text", ask_chat, CHAT_BOUND_S) as (o, editor):
        error = chat_error(o)
        assert error.data["kind"] == "malformed" and "null" in message_of(error)
        item = await asyncio.wait_for(editor.ghost(), COMPLETION_BOUND_S)
        assert item is None
        status = await editor.command("deepseek.status")
        assert status["lastErrorKind"] == "malformed" and "null" in status["lastError"]
    assert len(upstream.recorded("null-text", "/beta/completions")) == 1


# -- secrets and pauses (items 5 and 15) ----------------------------------------------------------


async def test_a_body_echoing_the_key_never_brings_it_to_the_editor(
    upstream: HostileUpstream, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    def balance(editor: Editor) -> Awaitable[Any]:
        return editor.command("deepseek.balance")

    async with against(upstream, tmp_path, "echo-auth", balance, 10, record=True) as (o, editor):
        error = chat_error(o)
        assert error.data["kind"] == "malformed"
        assert "(redacted)" in message_of(error)  # the echo arrived, and was scrubbed
        assert upstream.recorded("echo-auth", "/user/balance")[0].headers["authorization"] \
            == f"Bearer {KEY}"
        received = b"".join(editor.raw)  # type: ignore[attr-defined]
        assert KEY[:12].encode() not in received  # not even the start of it
    assert KEY[:12] not in capfd.readouterr().err


async def test_a_retry_after_of_three_years_pauses_minutes(upstream: HostileUpstream,
                                                           tmp_path: Path) -> None:
    async with against(upstream, tmp_path, "retry-after", Editor.ghost,
                       COMPLETION_BOUND_S) as (o, editor):
        assert o.result is None and o.status["lastErrorKind"] == "rate_limit"
        assert 60 < o.status["pausedForSeconds"] <= MAX_RETRY_AFTER_S
        with pytest.raises(JsonRpcException) as info:
            await asyncio.wait_for(ask_chat(editor), CHAT_BOUND_S)
        assert info.value.data["retryAfter"] == MAX_RETRY_AFTER_S
    assert len(upstream.recorded("retry-after", "/beta/completions")) == 1
