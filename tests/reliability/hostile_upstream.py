"""A misbehaving DeepSeek-compatible upstream on 127.0.0.1, for tests and benchmarks.

The mode is the first segment of the base URL: a server started at
`http://127.0.0.1:PORT` serves mode `endless-line` at `http://127.0.0.1:PORT/endless-line`,
so one upstream serves many language servers, each pointed at its own misbehaviour.
`GET {base}/models` always answers properly (model discovery must not be what fails); every
other request gets the mode's answer:

- `endless-line`: `200 text/event-stream`, then `data: {"choices":[{"text":"` and `x`s for
  ever, never a newline;
- `endless-content`: well-formed SSE chunks for ever (FIM `text` or chat `content`), as fast
  as the client reads them; `endless-content-slow`: the same, one chunk per 0.05 s;
- `huge-body`: a 100 MB JSON body (a FIM answer or a chat message), served as fast as loopback
  allows, with its `Content-Length`; `huge-body-unsized`: the same without one (the body
  ends when the connection closes), so a client has to read to find out;
- `huge-line`: an SSE stream whose first `data:` line is 50 MB, then `[DONE]`;
- `redirect`: `302 Found` to a captive-portal-like `Location`;
- `null-text`: a proper SSE stream (or JSON answer) whose `text`/`content` is `null`;
- `echo-auth`: `200 text/plain` echoing the request's headers, `Authorization` included;
- `retry-after`: `429` with `Retry-After: 99999999`.

It is raw asyncio over TCP (no HTTP library between it and the socket), in its own thread with
its own loop, with TCP_NODELAY set on every connection (Nagle would make it measure itself).
Every request is recorded with the bytes sent and whether the client hung up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass, field

MODES = ("endless-line", "endless-content", "endless-content-slow", "huge-body",
         "huge-body-unsized", "huge-line", "redirect", "null-text", "echo-auth", "retry-after")
HUGE_BODY_BYTES = 100_000_000
HUGE_LINE_BYTES = 50_000_000
REDIRECT_TO = "https://wifi.example.net/portal/login?continue=api"
RETRY_AFTER = "99999999"
SLOW_INTERVAL_S = 0.05
_BLOCK = 1 << 20  # bytes per write of the huge and endless bodies


@dataclass
class Request:
    """One request as the upstream saw it, and what it did with it."""

    mode: str
    method: str
    path: str  # without the mode segment, e.g. `/beta/completions`
    headers: dict[str, str]
    body: dict[str, object] | None
    started: float = field(default_factory=time.monotonic)
    bytes_sent: int = 0
    ended: float | None = None
    disconnected: bool = False  # the client hung up before the answer ended

    @property
    def streamed(self) -> bool:
        return bool(self.body and self.body.get("stream"))

    @property
    def is_chat(self) -> bool:
        return self.path.endswith("/chat/completions")


class HostileUpstream:
    """The misbehaving upstream in a daemon thread; a context manager."""

    def __init__(self) -> None:
        self.port = 0
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._handlers: set[asyncio.Task[None]] = set()

    def base_url(self, mode: str) -> str:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        return f"http://127.0.0.1:{self.port}/{mode}"

    def recorded(self, mode: str, path: str | None = None) -> list[Request]:
        with self._lock:
            return [r for r in self.requests
                    if r.mode == mode and (path is None or r.path == path)]

    # -- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> HostileUpstream:
        self._thread = threading.Thread(target=self._run, name="hostile-upstream", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the hostile upstream did not start")
        return self

    def __exit__(self, *exc_info: object) -> None:
        loop = self._loop
        if loop is not None and self._thread is not None:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(10)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._server = loop.run_until_complete(
            asyncio.start_server(self._connection, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        loop.run_forever()
        loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    # -- HTTP -----------------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _one_request(self, reader: asyncio.StreamReader,
                           writer: asyncio.StreamWriter) -> bool:
        """Serve one request; False when the connection is to be closed."""
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        raw = await reader.readexactly(int(headers.get("content-length", "0")))
        body = json.loads(raw) if raw else None
        _, mode, rest = (target.split("?")[0] + "/").split("/", 2)
        request = Request(mode, method, "/" + rest.rstrip("/"), headers, body)
        with self._lock:
            self.requests.append(request)
        try:
            if request.path == "/models":
                return await self._send(writer, request, 200, "application/json",
                                        json.dumps(_MODELS).encode())
            return await self._misbehave(writer, request)
        except ConnectionError:
            request.disconnected = True
            return False
        finally:
            request.ended = time.monotonic()

    async def _misbehave(self, writer: asyncio.StreamWriter, request: Request) -> bool:
        mode = request.mode
        if mode == "redirect":
            return await self._send(writer, request, 302, "text/html",
                                    b"<html><body>Found</body></html>",
                                    extra={"Location": REDIRECT_TO})
        if mode == "retry-after":
            body = json.dumps({"error": {"message": "Rate limit reached", "type": "rate_limit",
                                         "code": "rate_limit"}}).encode()
            return await self._send(writer, request, 429, "application/json", body,
                                    extra={"Retry-After": RETRY_AFTER})
        if mode == "echo-auth":
            echoed = "".join(f"{k}: {v}\n" for k, v in request.headers.items())
            return await self._send(writer, request, 200, "text/plain",
                                    f"Your request was:\n{echoed}".encode())
        if mode == "null-text":
            return await self._null_text(writer, request)
        if mode in ("huge-body", "huge-body-unsized"):
            await self._huge_body(writer, request, sized=mode == "huge-body")
            return mode == "huge-body"
        await self._stream_head(writer, request)
        if mode == "endless-line":
            await self._write(writer, request, b'data: {"choices":[{"text":"')
            block = b"x" * _BLOCK
            while True:
                await self._write(writer, request, block)
        if mode in ("endless-content", "endless-content-slow"):
            interval = SLOW_INTERVAL_S if mode == "endless-content-slow" else 0.0
            event = _sse(_chunk(request, "lorem ipsum dolor sit amet "))
            block = event * max(1, (64 * 1024 if not interval else 1) // len(event))
            while True:
                await self._write(writer, request, block)
                await asyncio.sleep(interval)
        if mode == "huge-line":
            await self._write(writer, request, b'data: {"choices":[{"index":0,"text":"')
            block = b"x" * _BLOCK
            for _ in range(HUGE_LINE_BYTES // _BLOCK):
                await self._write(writer, request, block)
            await self._write(writer, request, b'"}]}\n\n' + _sse("[DONE]"))
            return False
        raise AssertionError(f"unknown mode {mode!r}")

    async def _null_text(self, writer: asyncio.StreamWriter, request: Request) -> bool:
        if not request.streamed:
            choice: dict[str, object] = {"index": 0, "finish_reason": "stop"}
            if request.is_chat:
                choice["message"] = {"role": "assistant", "content": None}
            else:
                choice["text"] = None
            return await self._send(writer, request, 200, "application/json",
                                    json.dumps(_answer(request, [choice])).encode())
        await self._stream_head(writer, request)
        events = [_sse(_chunk(request, None)) for _ in range(5)]
        last = {"index": 0, "finish_reason": "stop", **(
            {"delta": {"content": None}} if request.is_chat else {"text": None})}
        events.append(_sse(_answer(request, [last])))
        events.append(_sse("[DONE]"))
        await self._write(writer, request, b"".join(events))
        return False

    async def _huge_body(self, writer: asyncio.StreamWriter, request: Request,
                         sized: bool) -> None:
        if request.is_chat:
            head, tail = b'{"choices":[{"index":0,"message":{"role":"assistant","content":"', \
                b'"},"finish_reason":"stop"}]}'
        else:
            head, tail = b'{"choices":[{"index":0,"text":"', b'","finish_reason":"stop"}]}'
        filler = HUGE_BODY_BYTES - len(head) - len(tail)
        await self._write(writer, request, _head(200, "application/json",
                                                 HUGE_BODY_BYTES if sized else None))
        await self._write(writer, request, head)
        block = b"x" * _BLOCK
        while filler > 0:
            await self._write(writer, request, block[:filler])
            filler -= _BLOCK
        await self._write(writer, request, tail)

    async def _stream_head(self, writer: asyncio.StreamWriter, request: Request) -> None:
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Cache-Control: no-cache\r\nConnection: close\r\n\r\n")
        await self._write(writer, request, head)

    async def _send(self, writer: asyncio.StreamWriter, request: Request, status: int,
                    content_type: str, body: bytes, extra: dict[str, str] | None = None) -> bool:
        await self._write(writer, request,
                          _head(status, content_type, len(body), extra) + body)
        return True

    async def _write(self, writer: asyncio.StreamWriter, request: Request, data: bytes) -> None:
        writer.write(data)
        await writer.drain()
        request.bytes_sent += len(data)


_MODELS = {"object": "list", "data": [
    {"id": "deepseek-v4-flash", "object": "model", "owned_by": "deepseek"},
    {"id": "deepseek-v4-pro", "object": "model", "owned_by": "deepseek"},
]}
_REASONS = {200: "OK", 302: "Found", 429: "Too Many Requests"}


def _head(status: int, content_type: str, length: int | None,
          extra: dict[str, str] | None = None) -> bytes:
    """A response head; without a length the body ends when the connection closes."""
    size = f"Content-Length: {length}" if length is not None else "Connection: close"
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}",
             f"Content-Type: {content_type}", size,
             *(f"{k}: {v}" for k, v in (extra or {}).items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _answer(request: Request, choices: list[dict[str, object]]) -> dict[str, object]:
    kind = "chat.completion" if request.is_chat else "text_completion"
    return {"id": "hostile", "object": kind, "created": 0, "model": "deepseek-v4-flash",
            "choices": choices}


def _chunk(request: Request, text: str | None) -> dict[str, object]:
    if request.is_chat:
        choice: dict[str, object] = {"index": 0, "delta": {"content": text},
                                     "finish_reason": None}
    else:
        choice = {"index": 0, "text": text, "finish_reason": None}
    return _answer(request, [choice])


def _sse(data: object) -> bytes:
    return f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n".encode()
