"""The aiohttp application: DeepSeek's endpoints, scripted faults, timing and the control API.

Each DeepSeek request is recorded on arrival, checked (auth, scripted rule, body), answered by
the deterministic models, then delivered as JSON or SSE with the configured timing. While it
waits (stalls, time to first token, slow tokens) the handler polls the connection so that a
client that goes away is recorded as `disconnected` within a few tens of milliseconds; aiohttp
does not cancel handlers when clients leave.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from . import wire
from .chat_model import ChatAnswer, chat_answer, last_user_text
from .confidence import Unsure, sure_logprob, token_logprobs
from .fim_model import fim_completion
from .lookup import make_call
from .state import Headers, RecordedRequest, Rule, SimConfig, SimulatorState
from .tokens import count_tokens, split_tokens
from .validation import (
    ApiError,
    ChatRequest,
    FimRequest,
    check_chat,
    check_fim,
    json_mode_requested,
    message_text,
)

_POLL_S = 0.02
#: Seconds a stopping server waits for in-flight handlers (stalled ones end at once anyway).
_SHUTDOWN_TIMEOUT = 0.5
_SSE_TYPE = "text/event-stream; charset=utf-8"
_JSON_TYPE = "application/json"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _ClientGone(Exception):
    """The client closed the connection before the response was complete."""


class _Dropped(Exception):
    """The simulator closed the connection on purpose (a scripted fault)."""


def apply_limits(text: str, stop: tuple[str, ...], max_tokens: int | None
                 ) -> tuple[str, str, list[str]]:
    """Cut generated text at the first stop string or after `max_tokens` tokens.

    Returns the text, the finish reason ("stop" or "length") and its tokens.
    """
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
    if cut >= 0:
        text = text[:cut]
    tokens = split_tokens(text)
    if max_tokens is not None and len(tokens) > max_tokens:
        tokens = tokens[:max_tokens]
        return "".join(tokens), "length", tokens
    return text, "stop", tokens


def _key_hash(headers: Any) -> str | None:
    token = headers.get("Authorization", "").partition(" ")[2]
    token = token.strip()
    return hashlib.sha256(token.encode()).hexdigest() if token else None


def _redact(headers: Any) -> dict[str, str]:
    """The request headers with the key replaced, so records can be printed and shared."""
    out = Headers()
    for key, value in headers.items():
        out[key.lower()] = "Bearer ***" if key.lower() == "authorization" else value
    return out


def _haystack(kind: str, body: Any) -> str | None:
    """The text a rule's `match` is looked for in: FIM prompt+suffix, chat last user message."""
    if not isinstance(body, dict):
        return None
    if kind == "fim":
        prompt, suffix = body.get("prompt"), body.get("suffix")
        return (prompt if isinstance(prompt, str) else "") + (
            suffix if isinstance(suffix, str) else "")
    if kind == "chat" and isinstance(body.get("messages"), list):
        return last_user_text([m for m in body["messages"] if isinstance(m, dict)])
    return None


def _rule_unsure(rule: Rule | None) -> Unsure | None:
    """The guess a rule marks on its answer (`confidence`, from `unsure_from` on)."""
    if rule is None or rule.confidence is None:
        return None
    return Unsure(rule.unsure_from, rule.confidence)


def _has_balance(config: SimConfig) -> bool:
    for info in config.balance:
        try:
            if float(info.get("total_balance", "0")) > 0:
                return True
        except (TypeError, ValueError):
            return True
    return False


def serialize_messages(messages: list[dict[str, Any]], tools: Any) -> str:
    """The chat prompt as the prefix cache sees it: tools first, then messages in order.

    A message's text never depends on later messages, so a conversation that grows keeps a
    byte-identical prefix, as DeepSeek's cache requires.
    """
    parts = []
    if tools:
        parts.append("<|tools|>" + json.dumps(tools, sort_keys=True, ensure_ascii=False))
    for m in messages:
        parts.append(f"<|{m.get('role')}|>{message_text(m)}")
        if m.get("tool_calls"):
            parts.append(json.dumps(m["tool_calls"], sort_keys=True, ensure_ascii=False))
    return "".join(parts)


@dataclass
class _Timing:
    """When bytes may go out: the wait before the first one, then the gap per token."""

    first_s: float
    per_token_s: float
    keepalive_s: float | None

    @classmethod
    def of(cls, config: SimConfig, rule: Rule | None, generates: bool = True) -> _Timing:
        """Timing from the settings and the rule; only generating answers get the configured
        time to first token and token rate (a model list or an error comes back at once)."""
        ttft = rule.ttft_s if rule and rule.ttft_s is not None else (
            config.ttft_ms / 1000 if generates else 0.0)
        per = (rule.chunk_delay_s if rule and rule.chunk_delay_s is not None
               else (1 / config.tokens_per_s if config.tokens_per_s and generates else 0.0))
        stall = rule.stall_s if rule else 0.0
        return cls(first_s=stall + ttft, per_token_s=per,
                   keepalive_s=rule.keepalive_s if rule else None)


class _Exchange:
    """One request in flight: response start, writes, keep-alives, drops and disconnects."""

    def __init__(self, request: web.Request, record: RecordedRequest,
                 state: SimulatorState) -> None:
        self.request = request
        self.record = record
        self.state = state
        self.resp: web.StreamResponse | None = None

    def gone(self) -> bool:
        transport = self.request.transport
        return transport is None or transport.is_closing()

    async def start(self, status: int, content_type: str,
                    headers: dict[str, str] | None = None,
                    content_length: int | None = None) -> None:
        """Send the status line and headers (once)."""
        if self.resp is not None:
            return
        resp = web.StreamResponse(status=status, headers=headers or {})
        resp.headers["Content-Type"] = content_type
        if content_type.startswith("text/event-stream"):
            resp.headers["Cache-Control"] = "no-cache"
        if content_length is not None:
            resp.content_length = content_length
        if self.gone():
            raise _ClientGone
        try:
            await resp.prepare(self.request)
        except ConnectionResetError as exc:
            raise _ClientGone from exc
        self.resp = resp
        self.record.status = status

    async def write(self, data: bytes) -> None:
        if self.resp is None or self.gone():
            raise _ClientGone
        try:
            await self.resp.write(data)
        except ConnectionResetError as exc:
            raise _ClientGone from exc

    async def wait(self, seconds: float, keepalive: bytes | None = None,
                   interval: float | None = None) -> None:
        """Sleep, sending `keepalive` every `interval` seconds, watching for the client leaving."""
        start = time.monotonic()
        deadline = start + max(seconds, 0.0)
        next_ping = start + interval if keepalive and interval else math.inf
        while True:
            if self.gone() or self.state.closing:
                raise _ClientGone
            now = time.monotonic()
            if now >= deadline:
                return
            if now >= next_ping:
                await self.write(keepalive or b"")
                next_ping += interval or math.inf
            await asyncio.sleep(min(_POLL_S, deadline - now, max(next_ping - now, 0.001)))

    def drop(self) -> None:
        """Close the TCP connection abruptly."""
        transport = self.request.transport
        if transport is not None:
            transport.abort()
        raise _Dropped

    async def finish(self) -> web.StreamResponse:
        assert self.resp is not None
        try:
            await self.resp.write_eof()
        except ConnectionResetError as exc:
            raise _ClientGone from exc
        return self.resp

    # -- whole bodies ----------------------------------------------------------------------------

    async def send_body(self, status: int, payload: bytes, content_type: str = _JSON_TYPE,
                        rule: Rule | None = None, timing: _Timing | None = None,
                        extra_wait_s: float = 0.0) -> web.StreamResponse:
        """Send a complete (non-streamed) body, honouring waits, keep-alives and faults."""
        headers = {}
        if rule is not None and rule.retry_after is not None:
            headers["Retry-After"] = f"{rule.retry_after:g}"
        wait_s = (timing.first_s if timing else 0.0) + extra_wait_s
        keep = timing.keepalive_s if timing else None
        if wait_s > 0 and keep:
            # Real DeepSeek answers slow JSON requests with blank lines until the body is ready.
            await self.start(status, content_type, headers)
            await self.wait(wait_s, wire.JSON_KEEPALIVE, keep)
        else:
            await self.wait(wait_s)
        drop = rule.drop_after_chunks if rule else None
        if drop is not None:
            if drop == 0 and self.resp is None:
                self.drop()
            await self.start(status, content_type, headers, content_length=None
                             if self.resp is not None else len(payload))
            await self.write(payload[: len(payload) // 2])
            self.drop()
        if rule is not None and rule.truncate:
            payload = payload[: len(payload) // 2]
        if self.resp is not None:
            await self.write(payload)
            return await self.finish()
        if self.gone():
            raise _ClientGone
        self.record.status = status
        resp = web.Response(body=payload, status=status, headers=headers)
        resp.headers["Content-Type"] = content_type
        return resp

    async def send_json(self, status: int, data: Any, rule: Rule | None = None,
                        timing: _Timing | None = None,
                        extra_wait_s: float = 0.0) -> web.StreamResponse:
        return await self.send_body(status, wire.dumps(data).encode(), _JSON_TYPE, rule, timing,
                                    extra_wait_s)

    # -- streams ---------------------------------------------------------------------------------

    async def send_stream(self, events: list[bytes], done: bool, rule: Rule | None,
                          timing: _Timing) -> web.StreamResponse:
        """Send SSE events: headers at once, keep-alives until the first token, then one event
        per token gap; `[DONE]` last unless `done` is False (a truncated stream)."""
        await self.start(200, _SSE_TYPE)
        keep = timing.keepalive_s
        await self.wait(timing.first_s, wire.SSE_KEEPALIVE if keep else None, keep)
        drop = rule.drop_after_chunks if rule else None
        for sent, event in enumerate(events):
            if sent and timing.per_token_s:
                await self.wait(timing.per_token_s)
            if drop is not None and sent >= drop:
                self.drop()
            await self.write(event)
        if drop is not None:
            self.drop()
        if done:
            await self.write(wire.SSE_DONE)
        return await self.finish()


async def start_site(fake: FakeDeepSeek, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Serve `fake` on host:port (0 = a free port); returns the runner and the bound port."""
    runner = web.AppRunner(fake.make_app(), access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = port
    for address in runner.addresses:
        if isinstance(address, tuple):
            bound = int(address[1])
            break
    return runner, bound


class FakeDeepSeek:
    """The simulator's state plus its aiohttp application (`make_app`)."""

    def __init__(self, **config: Any) -> None:
        self.state = SimulatorState(**config)
        #: The FIM "model": (prompt, suffix) -> raw completion. Replaceable, e.g. by the
        #: benchmark's oracle that knows what its simulated typist will type. Returning a
        #: `Guess` marks text the model is unsure of (low logprobs).
        self.fim_model: Callable[[str, str | None], str] = fim_completion
        self._connections: set[Any] = set()  # client addresses seen (for connect_ms)

    async def serve(self, host: str = "127.0.0.1", port: int = 8765) -> None:
        """Run until cancelled, announcing the URL on one stdout line (flushed)."""
        runner, bound = await start_site(self, host, port)
        shown = f"[{host}]" if ":" in host else host
        print(f"DeepSeek simulator listening on http://{shown}:{bound}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            self.state.closing = True
            await runner.cleanup()

    # -- scripting API (also used through SimulatorThread) ---------------------------------------

    def script(self, *rules: Rule) -> None:
        self.state.add_rules(*rules)

    def requests(self, path: str | None = None) -> list[RecordedRequest]:
        return self.state.requests(path)

    def configure(self, **changes: Any) -> None:
        self.state.configure(**changes)

    def reset(self) -> None:
        self.state.reset()

    def cache_stats(self) -> dict[str, int]:
        return self.state.cache_stats()

    # -- application -----------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=256 * 1024 * 1024)
        routes = [
            web.get("/models", self._endpoint("models")),
            web.get("/v1/models", self._endpoint("models")),
            web.get("/user/balance", self._endpoint("balance")),
            web.post("/chat/completions", self._endpoint("chat")),
            web.post("/v1/chat/completions", self._endpoint("chat")),
            web.post("/beta/chat/completions", self._endpoint("chat")),
            web.post("/beta/completions", self._endpoint("fim")),
            web.post("/_sim/rules", self._control_rules),
            web.post("/_sim/config", self._control_config),
            web.post("/_sim/reset", self._control_reset),
            web.get("/_sim/requests", self._control_requests),
            web.get("/_sim/stats", self._control_stats),
            # Last: anything else is recorded and answered 404, to make wrong base URLs visible.
            web.route("*", "/{tail:.*}", self._endpoint("unknown")),
        ]
        app.add_routes(routes)
        return app

    def _endpoint(self, kind: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            return await self._handle(request, kind)

        return handler

    async def _handle(self, request: web.Request, kind: str) -> web.StreamResponse:
        raw = (await request.read()).decode("utf-8", errors="replace")
        body: Any = None
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        record = RecordedRequest(
            method=request.method, path=request.path, headers=_redact(request.headers),
            json=body, raw=raw, stream=isinstance(body, dict) and bool(body.get("stream")),
            key_sha256=_key_hash(request.headers),
        )
        self.state.record(record)
        connect_ms = self.state.config.connect_ms
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if connect_ms and peer not in self._connections:
            if len(self._connections) > 10_000:
                self._connections.clear()
            self._connections.add(peer)  # a new connection (its client port): pay for set-up
            await asyncio.sleep(connect_ms / 1000)
        exchange = _Exchange(request, record, self.state)
        try:
            return await self._respond(exchange, kind, body)
        except _ClientGone:
            record.disconnected = True
        except _Dropped:
            pass
        except asyncio.CancelledError:
            record.disconnected = True
            raise
        finally:
            record.finished = time.monotonic()
        # Nobody will read this; aiohttp discards it quietly on a closed connection.
        return exchange.resp or web.Response(status=499)

    def _auth_error(self, request: web.Request, config: SimConfig) -> str | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return ("Authentication Fails, no API key was provided "
                    "(expected the header Authorization: Bearer <key>)")
        if config.api_key is not None and token != config.api_key:
            tail = token[-4:] if len(token) >= 8 else ""
            return f"Authentication Fails, Your api key: ****{tail} is invalid"
        return None

    async def _respond(self, ex: _Exchange, kind: str, body: Any) -> web.StreamResponse:
        config = self.state.config
        if kind == "unknown":
            known = {"/models", "/v1/models", "/user/balance", "/chat/completions",
                     "/v1/chat/completions", "/beta/chat/completions", "/beta/completions"}
            status = 405 if ex.request.path in known else 404
            message = "Method Not Allowed" if status == 405 else f"Not Found: {ex.request.path}"
            return await ex.send_json(status, wire.error_body(status, message))
        rule = self.state.find_rule(ex.request.path, _haystack(kind, body),
                                    json_mode=kind == "chat" and json_mode_requested(body))
        if rule is not None and (rule.status != 200 or rule.body is not None):
            # Scripted failures come first, as if the gateway failed before checking the key.
            self.state.use_rule(rule)
            return await self._scripted_fault(ex, rule, _Timing.of(config, rule, False))
        denied = self._auth_error(ex.request, config)
        if denied is not None:
            return await ex.send_json(401, wire.error_body(401, denied))
        if rule is not None:
            self.state.use_rule(rule)
        timing = _Timing.of(config, rule, generates=kind in ("fim", "chat"))
        if kind == "models":
            data = {"object": "list", "data": [
                {"id": m, "object": "model", "owned_by": "deepseek"} for m in config.models]}
            return await ex.send_json(200, data, rule, timing)
        if kind == "balance":
            data = {"is_available": _has_balance(config),
                    "balance_infos": [dict(b) for b in config.balance]}
            return await ex.send_json(200, data, rule, timing)
        try:
            if not _has_balance(config):
                raise ApiError(402, "Insufficient Balance")
            if kind == "fim":
                fim = check_fim(body, config.models)
                return await self._fim(ex, fim, rule, timing)
            beta = ex.request.path.startswith("/beta/")
            chat = check_chat(body, config.models, config.generation, beta)
            return await self._chat(ex, chat, body, rule, timing)
        except ApiError as err:
            return await ex.send_json(err.status, wire.error_body(err.status, err.message))

    async def _scripted_fault(self, ex: _Exchange, rule: Rule,
                              timing: _Timing) -> web.StreamResponse:
        """A scripted status or raw body, after the scripted stall."""
        if rule.body is not None:
            payload = rule.body.encode()
            ctype = rule.content_type or (
                "text/html; charset=utf-8" if rule.body.lstrip().startswith("<")
                else _JSON_TYPE)
        else:
            payload = wire.dumps(wire.error_body(rule.status, rule.error_message)).encode()
            ctype = rule.content_type or _JSON_TYPE
        ex.record.response_text = rule.body
        return await ex.send_body(rule.status, payload, ctype, rule, timing)

    # -- FIM -------------------------------------------------------------------------------------

    async def _fim(self, ex: _Exchange, req: FimRequest, rule: Rule | None,
                   timing: _Timing) -> web.StreamResponse:
        raw = rule.text if rule is not None and rule.text is not None else \
            self.fim_model(req.prompt, req.suffix)
        unsure = _rule_unsure(rule) or Unsure.of(raw)
        text, finish, tokens = apply_limits(str(raw), req.stop, req.max_tokens)
        cache = self.state.account_prompt(("fim", req.model), req.prompt,
                                          uncached_tokens=count_tokens(req.suffix or ""))
        usage = wire.usage(cache.prompt_tokens, cache.hit_tokens, len(tokens))
        ex.record.response_text, ex.record.usage = text, usage
        ex.record.finish_reason = finish
        cid = wire.new_id()
        empty = bool(rule and rule.empty_choices)
        values: list[float | None] = list(token_logprobs(tokens, unsure))
        prompt_tokens = split_tokens(req.prompt) if req.echo else []
        # The first echoed token has no logprob: nothing comes before it.
        prompt_values: list[float | None] = [
            None if i == 0 else sure_logprob(tok, i) for i, tok in enumerate(prompt_tokens)]
        if not req.stream:
            logprobs = None
            if req.logprobs is not None:
                logprobs = wire.fim_logprobs(prompt_tokens + tokens,
                                             0 if req.echo else len(req.prompt), req.logprobs,
                                             prompt_values + values)
            data = wire.text_completion(cid, req.model, (req.prompt if req.echo else "") + text,
                                        finish, usage, logprobs, empty=empty)
            return await ex.send_json(200, data, rule, timing,
                                      extra_wait_s=len(tokens) * timing.per_token_s)
        truncated = bool(rule and rule.truncate)
        if empty:
            events = [wire.sse(wire.text_chunk(cid, req.model, None, usage_obj=usage))]
        else:
            events = []
            if req.echo:
                # The echoed prompt comes back whole, in the first chunk.
                logprobs = None
                if req.logprobs is not None:
                    logprobs = wire.fim_logprobs(prompt_tokens, 0, req.logprobs, prompt_values)
                events.append(wire.sse(wire.text_chunk(cid, req.model, req.prompt, None,
                                                       logprobs)))
            offset = len(req.prompt)
            for tok, value in zip(tokens, values, strict=True):
                logprobs = None
                if req.logprobs is not None:
                    logprobs = wire.fim_logprobs([tok], offset, req.logprobs, [value])
                offset += len(tok)
                events.append(wire.sse(wire.text_chunk(cid, req.model, tok, None, logprobs)))
            if not truncated:
                events.append(wire.sse(wire.text_chunk(cid, req.model, "", finish)))
                if req.include_usage:
                    events.append(wire.sse(wire.text_chunk(cid, req.model, None,
                                                           usage_obj=usage)))
        return await ex.send_stream(events, not truncated, rule, timing)

    # -- chat ------------------------------------------------------------------------------------

    def _chat_model_answer(self, req: ChatRequest, body: dict[str, Any],
                           rule: Rule | None) -> ChatAnswer:
        """The model's answer with the rule's canned parts put in."""
        answer = chat_answer(body, req.reasoning, req.json_mode)
        if rule is None:
            return answer
        if rule.tool_calls is not None:
            answer = ChatAnswer("", answer.reasoning, [
                make_call(req.messages, i, call["name"], call.get("arguments", {}))
                for i, call in enumerate(rule.tool_calls)])
        if rule.text is not None:
            answer = ChatAnswer(rule.text, answer.reasoning, answer.tool_calls
                                if rule.tool_calls is not None else [])
        if rule.json_empty:
            # DeepSeek's docs warn that JSON output may come back with empty content.
            answer = ChatAnswer("", answer.reasoning)
        if rule.reasoning is not None:
            answer.reasoning = rule.reasoning
        return answer

    async def _chat(self, ex: _Exchange, req: ChatRequest, body: dict[str, Any],
                    rule: Rule | None, timing: _Timing) -> web.StreamResponse:
        answer = self._chat_model_answer(req, body, rule)
        reasoning = answer.reasoning
        reasoning_tokens = split_tokens(reasoning) if reasoning is not None else []
        budget = req.max_tokens
        calls = answer.tool_calls
        if budget is not None and reasoning is not None and \
                self.state.config.generation == "v4":
            # V4's max_tokens covers the thinking too: a long thought leaves less for the answer.
            if len(reasoning_tokens) >= budget:
                reasoning_tokens = reasoning_tokens[:budget]
                reasoning = "".join(reasoning_tokens)
                calls = []
            budget = max(budget - len(reasoning_tokens), 0)
        content, finish, tokens = apply_limits(answer.content, req.stop, budget)
        if budget == 0 and not calls:
            content, finish, tokens = "", "length", []
        if calls and finish != "length":
            finish = "tool_calls"
        cache = self.state.account_prompt(("chat", req.model),
                                          serialize_messages(req.messages, body.get("tools")))
        completion = len(tokens) + len(reasoning_tokens) + sum(
            count_tokens(c["function"]["arguments"]) + count_tokens(c["function"]["name"]) + 2
            for c in calls)
        usage = wire.usage(cache.prompt_tokens, cache.hit_tokens, completion,
                           len(reasoning_tokens) if reasoning is not None else None)
        public_calls = [{k: v for k, v in c.items() if k != "index"} for c in calls]
        ex.record.response_text, ex.record.usage = content, usage
        ex.record.finish_reason, ex.record.tool_calls = finish, public_calls or None
        cid = wire.new_id()
        empty = bool(rule and rule.empty_choices)
        with_reasoning = reasoning is not None
        values = token_logprobs(tokens, _rule_unsure(rule))
        if not req.stream:
            message: dict[str, Any] = {"role": "assistant", "content": content}
            if with_reasoning:
                message["reasoning_content"] = reasoning
            if calls:
                message["tool_calls"] = public_calls
            logprobs = ({"content": wire.chat_logprob_entries(tokens, req.top_logprobs, values)}
                        if req.logprobs else None)
            data = wire.chat_completion(cid, req.model, message, finish, usage, logprobs,
                                        empty=empty)
            return await ex.send_json(200, data, rule, timing,
                                      extra_wait_s=completion * timing.per_token_s)
        truncated = bool(rule and rule.truncate)
        if empty:
            events = [wire.sse(wire.chat_chunk(cid, req.model, None, usage_obj=usage))]
            return await ex.send_stream(events, True, rule, timing)
        first: dict[str, Any] = {"role": "assistant", "content": ""}
        if with_reasoning:
            first = {"role": "assistant", "content": None, "reasoning_content": ""}
        events = [wire.sse(wire.chat_chunk(cid, req.model, first))]
        for tok in reasoning_tokens:
            delta = {"content": None, "reasoning_content": tok}
            events.append(wire.sse(wire.chat_chunk(cid, req.model, delta)))
        for i, tok in enumerate(tokens):
            delta = {"content": tok, "reasoning_content": None} if with_reasoning else \
                {"content": tok}
            logprobs = ({"content": wire.chat_logprob_entries([tok], req.top_logprobs,
                                                              [values[i]])}
                        if req.logprobs else None)
            events.append(wire.sse(wire.chat_chunk(cid, req.model, delta, None, logprobs)))
        for call in calls:
            events += [wire.sse(wire.chat_chunk(cid, req.model, delta))
                       for delta in wire.tool_call_deltas(call, split_tokens)]
        if not truncated:
            last: dict[str, Any] = {"content": ""}
            if with_reasoning:
                last = {"content": "", "reasoning_content": None}
            events.append(wire.sse(wire.chat_chunk(cid, req.model, last, finish)))
            if req.include_usage:
                events.append(wire.sse(wire.chat_chunk(cid, req.model, None, usage_obj=usage)))
        return await ex.send_stream(events, not truncated, rule, timing)

    # -- control endpoints -----------------------------------------------------------------------

    @staticmethod
    async def _json_body(request: web.Request) -> Any:
        raw = await request.text()
        return json.loads(raw) if raw.strip() else None

    async def _control_rules(self, request: web.Request) -> web.Response:
        try:
            data = await self._json_body(request)
            items = data if isinstance(data, list) else [data]
            rules = [Rule.from_dict(item) for item in items]
        except (ValueError, TypeError) as exc:
            return web.json_response(wire.error_body(400, f"bad rules: {exc}"), status=400)
        self.state.add_rules(*rules)
        return web.json_response({"ok": True, "added": len(rules)})

    async def _control_config(self, request: web.Request) -> web.Response:
        try:
            data = await self._json_body(request) or {}
            if not isinstance(data, dict):
                raise TypeError("expected a JSON object of settings")
            self.state.configure(**data)
        except (ValueError, TypeError) as exc:
            return web.json_response(wire.error_body(400, f"bad config: {exc}"), status=400)
        config = dict(vars(self.state.config))
        if config.get("api_key"):
            config["api_key"] = "***"
        return web.json_response({"ok": True, "config": config})

    async def _control_reset(self, request: web.Request) -> web.Response:
        self.state.reset()
        return web.json_response({"ok": True})

    async def _control_requests(self, request: web.Request) -> web.Response:
        path = request.query.get("path")
        return web.json_response([r.to_json() for r in self.state.requests(path)],
                                 dumps=wire.dumps)

    async def _control_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.state.cache_stats())
