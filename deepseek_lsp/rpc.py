"""JSON-RPC over stdio or TCP that survives a malformed client: framing, checks, answers.

pygls 2.1.1 reads the stream in `pygls.io_.run_async`: it trusts `Content-Length` (a huge one
is allocated at once: MemoryError), silently skips header lines it does not understand (after
one bad frame every later body is glued to the next header and nothing is read again), and
structures a message inside `json.loads` (a request whose params fail validation loses its id
and is never answered). Its reading loop cannot be configured, so this module replaces it,
and only it: `FrameParser` splits the byte stream, `RpcGuard` checks each message before
pygls's `handle_message` sees it, and `serve_stdio`/`serve_tcp` start the server with them.

What a malformed message does (docs/troubleshooting.md says the same to users):

- broken framing (a header line that is not `Name: value`, `Content-Length` missing, not a
  number, or shown too large by the next message's header inside the body): the position of
  the next message is unknown, and guessing it could skip a `didChange` and leave the server's
  copy of a document different from the editor's. The server exits with status 1 and one line
  on stderr; editors restart it or show that line.
- a body over `MAX_MESSAGE_BYTES`: read and dropped without being stored (the framing is still
  checked), the user is told once per message; the server goes on.
- a body that is not JSON: -32700 with id null. Not a request object: -32600. A request whose
  params fail validation: -32602. A request after `shutdown` (a second `shutdown` too), or a
  notification method sent with an id: -32600. An internal error's answer carries no
  traceback (it goes to the log).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import queue
import re
import sys
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import attrs
from cattrs.v import format_exception, transform_error
from lsprotocol import types as lsp
from pygls.io_ import StdoutWriter
from pygls.protocol.json_rpc import (
    JsonRPCNotification,
    JsonRPCProtocol,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
)
from pygls.server import JsonRPCServer

log = logging.getLogger(__name__)

#: The largest message body the server reads into memory. VS Code never hands a document over
#: 50 MB to extensions (`TextModel._MODEL_SYNC_LIMIT`), so every `didOpen` it sends fits with
#: room for JSON escapes. Framing and parsing a body briefly take about three times its size
#: (+185 MB peak for 58 MB), so this also bounds the memory one message can cost here. Larger
#: bodies are skipped (see the module docstring).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
#: Real headers are two short lines (`Content-Length`, `Content-Type`).
MAX_HEADER_BYTES = 4096
CHUNK_BYTES = 64 * 1024

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

_HEADER = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\r\n]*?)[ \t]*\r?\n")
_LENGTH = re.compile(rb"[0-9]{1,20}")
# A (Content|content)-Length header inside a body. It cannot occur in valid JSON (a raw
# newline may not stand in a string, these letters may not stand outside one), so finding it
# proves misalignment. The literal lead ("ontent-") keeps the search at a few ms per 10 MB.
_HEADER_IN_BODY = re.compile(rb"ontent-[Ll]ength[ \t]*:[ \t]*[0-9]{1,20}[ \t]*\r?\n")
_OVERLAP = 64  # longer than any match of _HEADER_IN_BODY: matches across chunks are found


class FramingError(Exception):
    """The byte stream cannot be split into messages any more; the text says why."""


@dataclass(frozen=True)
class Skipped:
    """A message body over the size limit, read and dropped."""

    size: int


class FrameParser:
    """Splits the client's byte stream into message bodies (LSP base protocol framing).

    Incremental and synchronous: `feed` takes bytes as they arrive and yields each complete
    body (or `Skipped`), holding at most one body up to `max_body` plus one chunk in memory.
    """

    def __init__(self, max_body: int = MAX_MESSAGE_BYTES) -> None:
        self.max_body = max_body
        self._buf = bytearray()
        self._length: int | None = None  # Content-Length of the header being read
        self._in_header = False  # a header line of this message has been read
        self._header_bytes = 0
        self._body: int | None = None  # length of the body being read (or skipped)
        self._skipping = False
        self._scanned = 0  # bytes of the current body already searched for a header
        self._tail = b""  # last bytes of a skipped body, for matches across chunks

    def feed(self, data: bytes) -> Iterator[bytes | Skipped]:
        self._buf += data
        while True:
            if self._body is None:
                if not self._read_header():
                    return
            elif self._skipping:
                size = self._skip()
                if size is None:
                    return
                yield Skipped(size)
            else:
                body = self._take_body()
                if body is None:
                    return
                yield body

    def _read_header(self) -> bool:
        """Consume header lines; True once a header is complete and its body is due."""
        while (end := self._buf.find(b"\n")) >= 0:
            line = bytes(self._buf[: end + 1])
            del self._buf[: end + 1]
            self._header_bytes += len(line)
            if self._header_bytes > MAX_HEADER_BYTES:
                raise FramingError(f"a message header longer than {MAX_HEADER_BYTES} bytes")
            if line in (b"\n", b"\r\n"):
                if not self._in_header:
                    self._header_bytes = 0
                    continue  # a stray blank line between messages: harmless
                if self._length is None:
                    raise FramingError("a message header without Content-Length")
                self._body, self._skipping = self._length, self._length > self.max_body
                self._length, self._in_header, self._header_bytes = None, False, 0
                self._scanned, self._tail = 0, b""
                return True
            match = _HEADER.fullmatch(line)
            if match is None:
                raise FramingError(f"{_show(line)} where a message header was expected")
            self._in_header = True
            name, value = match.groups()
            if name.lower() == b"content-length":
                if not _LENGTH.fullmatch(value):
                    raise FramingError(f"Content-Length {_show(value)} is not a number of bytes")
                self._length = int(value)
        if self._header_bytes + len(self._buf) > MAX_HEADER_BYTES:
            raise FramingError(f"a message header longer than {MAX_HEADER_BYTES} bytes")
        return False

    def _take_body(self) -> bytes | None:
        assert self._body is not None
        end = min(len(self._buf), self._body)
        self._check(self._buf, max(0, self._scanned - _OVERLAP), end)
        self._scanned = end
        if len(self._buf) < self._body:
            return None
        body = bytes(self._buf[: self._body])
        del self._buf[: self._body]
        self._body = None
        return body

    def _skip(self) -> int | None:
        """Drop the bytes of an oversized body; its size once it has all gone by."""
        assert self._body is not None
        take = min(len(self._buf), self._body - self._scanned)
        window = self._tail + bytes(self._buf[:take])
        self._check(window, 0, len(window))
        self._tail = window[-_OVERLAP:]
        del self._buf[:take]
        self._scanned += take
        if self._scanned < self._body:
            return None
        size, self._body = self._body, None
        return size

    def _check(self, data: bytes | bytearray, start: int, end: int) -> None:
        if _HEADER_IN_BODY.search(data, start, end):
            raise FramingError(
                f"a message header inside a message body: the Content-Length before it "
                f"({self._body}) was larger than its message"
            )


def _show(raw: bytes) -> str:
    """Bytes from the client, short and printable, for a one-line message."""
    text = raw.rstrip(b"\r\n").decode("latin-1")
    return repr(text[:40] + ("…" if len(text) > 40 else ""))


# -- the protocol side --------------------------------------------------------------------------


class RpcGuard(JsonRPCProtocol):
    """Protocol mixin: every message from the client is checked before pygls handles it, and
    every request that cannot be handled is answered with the JSON-RPC error it calls for.

    Use it first in the bases: `class P(RpcGuard, LanguageServerProtocol)`.
    """

    #: Set when `shutdown` arrives: pygls marks it only once its handler has finished, and
    #: a request in between (a second `shutdown`) would run against a closing server.
    _shutdown_requested = False

    def receive_body(self, body: bytes) -> None:
        """One message body as framed by `FrameParser`."""
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as error:  # also bad UTF-8 and absurd nesting
            log.info("a message from the client is not JSON: %s", str(error)[:200])
            self.reply_error(None, PARSE_ERROR, "Parse error: the message is not valid JSON")
            return
        self.receive(data)

    def receive(self, data: Any) -> None:
        """One decoded message: answered with an error, dropped with a warning, or handled."""
        if not isinstance(data, dict):
            self.reply_error(None, INVALID_REQUEST, "Invalid request: a message must be a "
                             "JSON object (batches are not supported)")
            return
        if "method" not in data:
            self._receive_response(data)
            return
        is_request = "id" in data
        if is_request and not _valid_id(data["id"]):
            self.reply_error(None, INVALID_REQUEST,
                             "Invalid request: `id` must be an integer or a string")
            return
        msg_id = data["id"] if is_request else None
        method = data["method"]

        def refuse(code: int, message: str) -> None:
            if is_request:
                self.reply_error(msg_id, code, message)
            else:
                log.warning("ignored a notification: %s", message)

        if data.get("jsonrpc") != "2.0":
            refuse(INVALID_REQUEST, 'Invalid request: `jsonrpc` must be "2.0"')
            return
        if not isinstance(method, str):
            refuse(INVALID_REQUEST, "Invalid request: `method` must be a string")
            return
        if method == lsp.EXIT and is_request:  # refusing `exit` would leave a server running
            data, is_request = {k: v for k, v in data.items() if k != "id"}, False
        if is_request and (self._shutdown or self._shutdown_requested):
            refuse(INVALID_REQUEST, f"Invalid request: {method} after shutdown (only exit "
                   "is accepted now)")
            return
        message_type = self.get_message_type(method)
        if message_type is None:  # a method lsprotocol does not know: pygls answers -32601
            generic = JsonRPCRequestMessage if is_request else JsonRPCNotification
            fields = {"method": method, "jsonrpc": "2.0", "params": data.get("params")}
            self._handle(generic(**fields, **({"id": msg_id} if is_request else {})),
                         msg_id, method)
            return
        if _is_request_type(message_type) != is_request:
            refuse(INVALID_REQUEST, f"Invalid request: {method} is a notification and takes "
                   "no id" if is_request else f"{method} is a request and needs an id")
            return
        try:
            message = self._converter.structure(data, message_type)
        except Exception as error:
            refuse(INVALID_PARAMS, f"Invalid params for {method}: {_describe(error)}")
            return
        if method == lsp.SHUTDOWN:
            self._shutdown_requested = True
        self._handle(message, msg_id, method)

    def _receive_response(self, data: dict[str, Any]) -> None:
        """An answer to one of the server's requests (pygls's own type choice)."""
        msg_id = data.get("id")
        if data.get("jsonrpc") != "2.0" or not (_valid_id(msg_id) or msg_id is None):
            log.warning("ignored a malformed response from the client")
            return
        if "error" in data:
            response_type: Any = lsp.ResponseErrorMessage
        else:
            response_type = self._result_types.pop(msg_id, None) or JsonRPCResponseMessage
        try:
            message = self._converter.structure(data, response_type)
        except Exception as error:
            log.warning("ignored a malformed response from the client: %s", _describe(error))
            return
        self._handle(message, None, "a response")

    def _handle(self, message: Any, msg_id: int | str | None, what: str) -> None:
        try:
            self.handle_message(message)
        except Exception:  # a fault of ours: logged and answered, never the end of the server
            log.exception("handling %s failed", what)
            if msg_id is not None:
                self.reply_error(msg_id, INTERNAL_ERROR, "Internal error in deepseek-lsp "
                                 "(details are in the server log)")

    def reply_error(self, msg_id: int | str | None, code: int, message: str) -> None:
        """An error response; built by hand because lsprotocol drops an `id` of null."""
        self._send_data({"jsonrpc": "2.0", "id": msg_id,
                         "error": {"code": code, "message": message}})

    def message_skipped(self, size: int) -> None:
        """A message too large to read was dropped: say so (it may have been a file)."""
        text = (f"DeepSeek: the editor sent a message of {size / 2**20:.0f} MiB, over the "
                f"{MAX_MESSAGE_BYTES // 2**20} MiB limit; it was ignored (a file that large "
                "gets no suggestions).")
        log.warning("%s", text)
        self.notify(lsp.WINDOW_SHOW_MESSAGE,
                    lsp.ShowMessageParams(type=lsp.MessageType.Warning, message=text))

    def _send_response(
        self, msg_id: Any, result: Any | None = None, error: lsp.ResponseError | None = None
    ) -> None:
        """pygls answers an unexpected exception with `JsonRpcInternalError.of`, whose
        `data` is the traceback and whose message is the exception's text (which may quote
        a document or a header): the client gets a plain message, the log keeps the rest."""
        if error is not None and _carries_traceback(error):
            kind = re.match(r"[A-Za-z_][\w.]*", error.message or "")
            name = f" ({kind.group(0)})" if kind else ""
            error = lsp.ResponseError(code=error.code, message=f"Internal error in "
                                      f"deepseek-lsp{name}; details are in the server log")
        super()._send_response(msg_id, result, error)


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _is_request_type(message_type: type) -> bool:
    return attrs.has(message_type) and "id" in attrs.fields_dict(message_type)


def _carries_traceback(error: lsp.ResponseError) -> bool:
    data = error.data
    return (isinstance(data, dict) and "traceback" in data) or "Traceback (most recent" in (
        error.message or "")


def _describe(error: Exception) -> str:
    """What failed validation, where: `required field missing @ $.params.context`."""

    def explain(exc: BaseException, target: Any) -> str:
        if type(exc) is ValueError and exc.args:  # lsprotocol's range checks say it best
            return str(exc)[:120]
        return format_exception(exc, target)

    reasons = transform_error(error, path="$", format_exception=explain)
    text = "; ".join(reasons[:3]) + ("; …" if len(reasons) > 3 else "")
    return text[:300]


# -- starting the server ------------------------------------------------------------------------


async def pump(read: Callable[[], Awaitable[bytes]], protocol: RpcGuard) -> None:
    """Read chunks until end of input and hand each message to the protocol.

    Raises `FramingError` when the stream cannot be split any more (see the module docstring).
    """
    parser = FrameParser()
    while chunk := await read():
        for item in parser.feed(chunk):
            if isinstance(item, Skipped):
                protocol.message_skipped(item.size)
            else:
                protocol.receive_body(item)
            await asyncio.sleep(0)  # let handlers start between messages, as pygls does
    log.debug("end of input from the client")


class _StdinChunks:
    """Chunks of stdin, each read on demand by one daemon thread with `os.read`.

    A thread because a pipe cannot be awaited portably (and `connect_read_pipe` would make a
    descriptor shared with stdout non-blocking); a daemon so that a read blocked on an open
    pipe never holds up exit; `os.read` so that no buffered reader's lock is held when the
    interpreter shuts down. Nothing is read ahead: a fast client cannot fill memory.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._loop = asyncio.get_running_loop()
        self._wanted: queue.SimpleQueue[asyncio.Future[bytes]] = queue.SimpleQueue()
        threading.Thread(target=self._run, name="lsp-stdin", daemon=True).start()

    def _run(self) -> None:
        while True:
            future = self._wanted.get()
            try:
                chunk = os.read(self._fd, CHUNK_BYTES)
            except OSError as error:
                log.warning("reading stdin failed: %s", error)
                chunk = b""
            try:
                self._loop.call_soon_threadsafe(_resolve, future, chunk)
            except RuntimeError:  # the loop is closed: the server is gone
                return
            if not chunk:
                return

    def read(self) -> asyncio.Future[bytes]:
        future = self._loop.create_future()
        self._wanted.put(future)
        return future


def _resolve(future: asyncio.Future[bytes], chunk: bytes) -> None:
    if not future.done():
        future.set_result(chunk)


def _guarded(server: JsonRPCServer) -> RpcGuard:
    protocol = server.protocol
    if not isinstance(protocol, RpcGuard):
        raise TypeError("the server's protocol class must derive from rpc.RpcGuard")
    return protocol


def _framing_failed(error: FramingError) -> int:
    print(f"deepseek-lsp: malformed message from the editor ({error}); exiting so that it "
          "can be restarted", file=sys.stderr, flush=True)
    return 1


def serve_stdio(server: JsonRPCServer, stdin: BinaryIO | None = None,
                stdout: BinaryIO | None = None) -> int:
    """`server.start_io()` with this module's reader; returns the exit status."""
    protocol = _guarded(server)
    protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
    fd = (stdin or sys.stdin.buffer).fileno()

    async def run() -> None:
        await pump(_StdinChunks(fd).read, protocol)

    return _run(server, run)


def serve_tcp(server: JsonRPCServer, host: str, port: int) -> int:
    """`server.start_tcp()` with this module's reader: one client, then exit."""
    protocol = _guarded(server)

    async def run() -> None:
        finished: asyncio.Future[BaseException | None] = (
            asyncio.get_running_loop().create_future())
        served: list[asyncio.StreamWriter] = []

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            if served:  # one protocol, one client: a second would take over its replies
                writer.close()
                return
            served.append(writer)
            protocol.set_writer(writer)  # type: ignore[arg-type]  # write() and close()
            outcome: BaseException | None = None
            try:
                await pump(lambda: reader.read(CHUNK_BYTES), protocol)
            except (Exception, SystemExit) as error:  # FramingError, `exit`, a lost client
                outcome = error
            if not finished.done():
                finished.set_result(outcome)

        listener = await asyncio.start_server(connection, host, port)
        log.info("serving LSP on %s:%s", host, port)
        async with listener:
            outcome = await finished
        if outcome is not None:
            raise outcome

    return _run(server, run)


def _run(server: JsonRPCServer, main: Callable[[], Coroutine[Any, Any, None]]) -> int:
    try:
        asyncio.run(main())
    except FramingError as error:
        return _framing_failed(error)
    except SystemExit as done:  # the `exit` notification: 0 after `shutdown`, else 1
        return done.code if isinstance(done.code, int) else 0
    except BrokenPipeError:
        log.error("the connection to the editor is lost; exiting")
    except KeyboardInterrupt:
        return 130
    finally:
        with contextlib.suppress(Exception):
            server.shutdown()
    return 0
