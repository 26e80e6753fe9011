"""A client that sends malformed messages (issue 10, items 12-14).

The server runs as editors run it, a subprocess over stdio (or `--tcp`), and these tests write
raw bytes to it: pytest-lsp cannot send a broken frame or params that fail validation. Every
case ends one of two ways, never a third: the server answers (with the JSON-RPC error the
message calls for) and keeps answering, or it exits within seconds with one line on stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException

from deepseek_lsp.simulator import Rule

from .support import launch, server_alive

KEY = "sk-hostile-client-0123456789ab"
PY = "file:///work/app.py"
EXIT_BOUND_S = 10  # "within seconds": generous for a loaded 2-core machine
MiB = 1024 * 1024


def frame(message: Any) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def status_request(msg_id: int) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": msg_id, "method": "workspace/executeCommand",
            "params": {"command": "deepseek.status", "arguments": []}}


class RawClient:
    """The server in a subprocess, spoken to byte by byte."""

    def __init__(self, process: asyncio.subprocess.Process, reader: asyncio.StreamReader,
                 writer: Any) -> None:
        self.process = process
        self.reader = reader
        self.writer = writer
        self.others: list[dict[str, Any]] = []  # messages that answered nothing we asked
        self._ids = iter(range(1000, 10**6))

    # -- writing -------------------------------------------------------------------------------

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        try:
            await asyncio.wait_for(self.writer.drain(), 10)
        except TimeoutError:
            raise AssertionError("the server stopped reading its input") from None

    async def send(self, message: Any) -> None:
        await self.send_raw(frame(message))

    def next_id(self) -> int:
        return next(self._ids)

    # -- reading -------------------------------------------------------------------------------

    async def message(self, timeout: float = 10) -> dict[str, Any]:
        async def read() -> dict[str, Any]:
            length = None
            while True:
                line = await self.reader.readline()
                if not line:
                    raise EOFError("the server closed its output")
                if line == b"\r\n":
                    break
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            assert length is not None
            return json.loads(await self.reader.readexactly(length))

        return await asyncio.wait_for(read(), timeout)

    async def answer(self, msg_id: int | str | None, timeout: float = 10) -> dict[str, Any]:
        """The response with this id; other messages are kept in `others`."""
        deadline = time.monotonic() + timeout
        while True:
            message = await self.message(max(0.1, deadline - time.monotonic()))
            if "method" not in message and message.get("id") == msg_id:
                return message
            self.others.append(message)

    async def request(self, method: str, params: Any = None, timeout: float = 10) -> Any:
        msg_id = self.next_id()
        await self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return await self.answer(msg_id, timeout)

    async def error(self, message: Any, msg_id: int | str | None) -> dict[str, Any]:
        """Send `message`, return the error that answers it (and check its hygiene)."""
        await self.send(message)
        answer = await self.answer(msg_id)
        assert "result" not in answer, answer
        assert_clean_error(answer["error"])
        return answer["error"]

    async def status_works(self) -> None:
        answer = await self.request("workspace/executeCommand",
                                    {"command": "deepseek.status", "arguments": []})
        assert answer["result"]["version"], answer

    # -- the process ---------------------------------------------------------------------------

    async def exit_status(self, bound: float = EXIT_BOUND_S) -> int:
        return await asyncio.wait_for(self.process.wait(), bound)

    async def stderr_lines(self) -> list[str]:
        assert self.process.stderr is not None
        data = await asyncio.wait_for(self.process.stderr.read(), 10)
        return data.decode().splitlines()

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmHWM")

    async def close(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        with contextlib.suppress(Exception):
            self.writer.close()
        await self.process.wait()


def assert_clean_error(error: dict[str, Any]) -> None:
    """What the client shows or logs: no Python traceback, in `message` or in `data`."""
    text = json.dumps(error)
    assert "Traceback" not in text and 'File \\"' not in text and "traceback" not in text, error
    assert isinstance(error["code"], int) and error["message"]


async def exits_with_one_line(client: RawClient) -> str:
    status = await client.exit_status()
    lines = await client.stderr_lines()
    assert status == 1, (status, lines)
    assert len(lines) == 1, lines
    assert lines[0].startswith("deepseek-lsp: malformed message from the editor"), lines
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server_env(sim: Any, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPSEEK_")}
    env.update(DEEPSEEK_API_KEY=KEY, DEEPSEEK_BASE_URL=sim.base_url,
               XDG_CACHE_HOME=str(tmp_path / ".cache"))
    return env


@pytest.fixture
async def connect(server_env: dict[str, str], tmp_path: Path) -> Any:
    """`await connect(transport, initialize=True)`: a RawClient on a fresh server."""
    clients: list[RawClient] = []

    async def start(transport: str = "stdio", *, initialize: bool = True) -> RawClient:
        command = [sys.executable, "-m", "deepseek_lsp"]
        if transport == "stdio":
            process = await asyncio.create_subprocess_exec(
                *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, env=server_env)
            assert process.stdout is not None and process.stdin is not None
            client = RawClient(process, process.stdout, process.stdin)
        else:
            port = free_port()
            process = await asyncio.create_subprocess_exec(
                *command, "--tcp", f"127.0.0.1:{port}", stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
                env=server_env)
            deadline = time.monotonic() + 20
            while True:
                try:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    break
                except OSError:
                    if time.monotonic() > deadline or process.returncode is not None:
                        raise
                    await asyncio.sleep(0.05)
            client = RawClient(process, reader, writer)
        clients.append(client)
        if initialize:
            capabilities = {"textDocument": {"inlineCompletion": {}}}
            answer = await client.request("initialize", {
                "processId": None, "rootUri": tmp_path.as_uri(), "capabilities": capabilities,
                "initializationOptions": {"debounceMs": 0}}, timeout=30)
            assert "capabilities" in answer["result"]
            await client.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        return client

    yield start
    for client in clients:
        await client.close()


# -- item 12 and 13: framing ----------------------------------------------------------------------

HEADER_ONLY = b"Content-Length: %d\r\n\r\n"

BROKEN_FRAMES = {
    # a declared length no one would send: must not be allocated
    "huge Content-Length": b"Content-Length: 99999999999\r\n\r\n{}",
    "non-numeric Content-Length": b"Content-Length: abc\r\n\r\n{}",
    "negative Content-Length": b"Content-Length: -5\r\n\r\n{}",
    "no Content-Length": b'Content-Type: application/vscode-jsonrpc\r\n\r\n{"jsonrpc": "2.0"}',
    "no header at all": b'{"jsonrpc": "2.0", "id": 5, "method": "shutdown"}\r\n\r\n',
    # the body is 2 bytes; 40 more are taken from the next message
    "Content-Length too large": b"Content-Length: 42\r\n\r\n{}",
    "endless header line": b"Content-Length: 1" + b"0" * 100_000,
}


@pytest.mark.parametrize("transport", ["stdio", "tcp"])
@pytest.mark.parametrize("case", list(BROKEN_FRAMES))
async def test_broken_frame_exits_with_one_line(connect: Any, transport: str, case: str) -> None:
    """The next message's position is unknown: exit (the editor restarts the server) rather
    than stay alive and deaf, or guess and perhaps skip a document change."""
    client = await connect(transport)
    await client.status_works()
    await client.send_raw(BROKEN_FRAMES[case])
    with contextlib.suppress(ConnectionError):
        await client.send(status_request(client.next_id()))
    line = await exits_with_one_line(client)
    assert "Traceback" not in line


async def test_tcp_serves_one_client(connect: Any) -> None:
    """A second connection is closed at once: it would take over the first one's replies."""
    client = await connect("tcp")
    host, port = client.writer.get_extra_info("peername")
    reader, writer = await asyncio.open_connection(host, port)
    assert await asyncio.wait_for(reader.read(), 10) == b""
    writer.close()
    await client.status_works()


@pytest.mark.parametrize("transport", ["stdio", "tcp"])
async def test_content_length_too_small(connect: Any, transport: str) -> None:
    """A body cut short is not JSON: -32700; what is left of it is not a header: exit."""
    client = await connect(transport)
    request = json.dumps(status_request(client.next_id())).encode()
    await client.send_raw(HEADER_ONLY % 10 + request)
    answer = await client.answer(None)
    error = answer["error"]
    assert error["code"] == -32700
    assert_clean_error(error)
    with contextlib.suppress(ConnectionError):
        await client.send(status_request(client.next_id()))
    await exits_with_one_line(client)


async def test_huge_content_length_allocates_nothing(connect: Any) -> None:
    """99,999,999,999 declared, 200 MiB sent: the bytes go by without being kept, and the
    next message's header, found inside the 'body', ends it."""
    client = await connect("stdio")
    await client.status_works()
    before = client.peak_rss_mb()
    await client.send_raw(b"Content-Length: 99999999999\r\n\r\n")
    filler = b" " * MiB
    for _ in range(200):
        await client.send_raw(filler)
    assert client.process.returncode is None
    grown = client.peak_rss_mb() - before
    assert grown < 50, f"peak RSS grew by {grown:.0f} MB while 200 MiB went by"
    await client.send(status_request(client.next_id()))
    line = await exits_with_one_line(client)
    assert "99999999999" in line


async def test_oversized_message_is_skipped_and_the_server_goes_on(connect: Any) -> None:
    """A well-framed message over the limit (a file larger than any VS Code syncs): dropped
    unread with a warning to the user; the stream stays in step and the server answers."""
    from deepseek_lsp.rpc import MAX_MESSAGE_BYTES

    client = await connect("stdio")
    await client.status_works()
    before = client.peak_rss_mb()
    text = "x = 1\n" * (MAX_MESSAGE_BYTES // 6 + 10)
    await client.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": PY, "languageId": "python", "version": 1, "text": text}}})
    del text
    await client.status_works()
    grown = client.peak_rss_mb() - before
    assert grown < 50, f"peak RSS grew by {grown:.0f} MB for a skipped message"
    warnings = [m for m in client.others if m.get("method") == "window/showMessage"]
    assert any("MiB limit" in m["params"]["message"] for m in warnings), client.others
    assert client.process.returncode is None


async def test_stray_blank_lines_between_messages_are_harmless(connect: Any) -> None:
    client = await connect("stdio")
    await client.send_raw(b"\r\n\r\n\n")
    await client.status_works()


# -- item 14: every request gets its answer -------------------------------------------------------


def inline_request(msg_id: int, position: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": msg_id, "method": "textDocument/inlineCompletion",
            "params": {"textDocument": {"uri": PY}, "position": position,
                       "context": {"triggerKind": 2}}}


INVALID_PARAMS = {
    "position.line -1": lambda i: inline_request(i, {"line": -1, "character": 0}),
    "params null": lambda i: {"jsonrpc": "2.0", "id": i,
                              "method": "textDocument/inlineCompletion", "params": None},
    "codeAction without context": lambda i: {
        "jsonrpc": "2.0", "id": i, "method": "textDocument/codeAction",
        "params": {"textDocument": {"uri": PY}, "range": {
            "start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}}},
    "executeCommand arguments 5": lambda i: {
        "jsonrpc": "2.0", "id": i, "method": "workspace/executeCommand",
        "params": {"command": "deepseek.status", "arguments": 5}},
}


@pytest.mark.parametrize("case", list(INVALID_PARAMS))
async def test_invalid_params_get_32602(connect: Any, case: str) -> None:
    client = await connect()
    msg_id = client.next_id()
    error = await client.error(INVALID_PARAMS[case](msg_id), msg_id)
    assert error["code"] == -32602
    assert "Invalid params" in error["message"]
    await client.status_works()


async def test_after_invalid_params_completions_still_work(connect: Any, sim: Any) -> None:
    sim.script(Rule(path="/beta/completions", text="return a + b"))
    client = await connect()
    msg_id = client.next_id()
    await client.error(inline_request(msg_id, {"line": -1, "character": 0}), msg_id)
    await client.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": PY, "languageId": "python", "version": 1,
                         "text": "def add(a, b):\n    \n"}}})
    msg_id = client.next_id()
    await client.send(inline_request(msg_id, {"line": 1, "character": 4}))
    answer = await client.answer(msg_id, timeout=20)
    assert [item["insertText"] for item in answer["result"]["items"]] == ["return a + b"]


async def test_invalid_json_gets_32700_with_id_null(connect: Any) -> None:
    client = await connect()
    body = b'{"jsonrpc": "2.0", "id": 7, "method": '
    await client.send_raw(HEADER_ONLY % len(body) + body)
    answer = await client.answer(None)
    assert answer["id"] is None and answer["error"]["code"] == -32700
    assert_clean_error(answer["error"])
    await client.status_works()


@pytest.mark.parametrize("body", [
    pytest.param(b"\xff\xfe{}", id="not UTF-8"),
    pytest.param(b"[" * 100_000, id="nested 100,000 deep"),
])
async def test_unreadable_json_gets_32700(connect: Any, body: bytes) -> None:
    client = await connect()
    await client.send_raw(HEADER_ONLY % len(body) + body)
    answer = await client.answer(None)
    assert answer["error"]["code"] == -32700
    await client.status_works()


@pytest.mark.parametrize(("message", "reply_id"), [
    pytest.param([status_request(5)], None, id="a batch"),
    pytest.param(42, None, id="a number"),
    pytest.param({"jsonrpc": "2.0", "id": [5], "method": "shutdown"}, None, id="id a list"),
    pytest.param({"jsonrpc": "1.0", "id": 5, "method": "shutdown"}, 5, id="jsonrpc 1.0"),
    pytest.param({"jsonrpc": "2.0", "id": 5, "method": 17}, 5, id="method a number"),
])
async def test_not_a_request_gets_32600(connect: Any, message: Any, reply_id: Any) -> None:
    client = await connect()
    error = await client.error(message, reply_id)
    assert error["code"] == -32600
    await client.status_works()  # and `shutdown` above was not run


@pytest.mark.parametrize("method", ["initialized", "textDocument/didOpen", "$/cancelRequest"])
async def test_notification_sent_with_an_id_gets_32600(connect: Any, method: str) -> None:
    client = await connect()
    params = {"initialized": {}, "$/cancelRequest": {"id": 1},
              "textDocument/didOpen": {"textDocument": {
                  "uri": PY, "languageId": "python", "version": 1, "text": "x"}}}[method]
    error = await client.error(
        {"jsonrpc": "2.0", "id": 77, "method": method, "params": params}, 77)
    assert error["code"] == -32600 and method in error["message"]
    await client.status_works()


async def test_unknown_method_without_params_gets_32601(connect: Any) -> None:
    client = await connect()
    error = await client.error({"jsonrpc": "2.0", "id": 9, "method": "deepseek/nothing"}, 9)
    assert error["code"] == -32601
    await client.status_works()


async def test_internal_error_carries_no_traceback(connect: Any) -> None:
    """A request the server fails on (completion before `initialize`): the answer names the
    failure; the traceback stays in the log."""
    client = await connect(initialize=False)
    msg_id = client.next_id()
    error = await client.error({
        "jsonrpc": "2.0", "id": msg_id, "method": "textDocument/completion",
        "params": {"textDocument": {"uri": PY}, "position": {"line": 0, "character": 0}}},
        msg_id)
    assert error["code"] == -32603 and "data" not in error
    assert "server log" in error["message"]


@pytest.mark.parametrize("transport", ["stdio", "tcp"])
async def test_requests_after_shutdown_get_32600(connect: Any, transport: str) -> None:
    client = await connect(transport)
    first, second, status = client.next_id(), client.next_id(), client.next_id()
    # back to back: the second `shutdown` arrives while the first is still being handled
    await client.send_raw(
        frame({"jsonrpc": "2.0", "id": first, "method": "shutdown"})
        + frame({"jsonrpc": "2.0", "id": second, "method": "shutdown"})
        + frame(status_request(status)))
    answers = {}
    for _ in range(3):
        message = await client.message()
        answers[message.get("id")] = message
    assert answers[first]["result"] is None
    for msg_id in (second, status):
        assert answers[msg_id]["error"]["code"] == -32600, answers[msg_id]
        assert_clean_error(answers[msg_id]["error"])
    await client.send({"jsonrpc": "2.0", "method": "exit"})
    assert await client.exit_status() == 0
    assert await client.stderr_lines() == []


async def test_requests_after_shutdown_with_pytest_lsp(sim: Any, tmp_path: Path) -> None:
    """The same as an editor's client library sees it."""
    editor = await launch(sim.base_url, tmp_path)
    client = editor.client
    try:
        await asyncio.wait_for(client.shutdown_async(None), 10)
        for call in (lambda: client.shutdown_async(None),
                     lambda: client.workspace_execute_command_async(
                         lsp.ExecuteCommandParams(command="deepseek.status"))):
            with pytest.raises(JsonRpcException) as raised:
                await asyncio.wait_for(call(), 10)
            assert raised.value.code == -32600
        client.exit(None)
        assert await asyncio.wait_for(client._server.wait(), 10) == 0
    finally:
        if server_alive(editor):
            client._server.kill()
        await asyncio.wait_for(client.stop(), 10)


# -- the framing parser on its own --------------------------------------------------------------


def parse(data: bytes, chunk: int, max_body: int = 1 << 20) -> list[Any]:
    from deepseek_lsp.rpc import FrameParser

    parser = FrameParser(max_body=max_body)
    out: list[Any] = []
    for i in range(0, len(data), chunk):
        out.extend(parser.feed(data[i : i + chunk]))
    return out


def test_parser_gives_the_same_messages_however_the_bytes_arrive() -> None:
    tricky = {"jsonrpc": "2.0", "method": "x", "params": {
        "text": "Content-Length: 5\r\n\r\n{}\nContent-Length: 5\n"}}  # escaped in JSON
    bodies = [json.dumps(m).encode() for m in (status_request(1), tricky, {"id": 2})]
    data = (b"\r\n" + frame(status_request(1))
            + b"content-length: %d\r\nContent-Type: application/vscode-jsonrpc; "
              b"charset=utf-8\r\n\r\n" % len(bodies[1]) + bodies[1]
            + b"Content-Length:%d\n\n" % len(bodies[2]) + bodies[2])
    for chunk in (1, 2, 7, 64, len(data)):
        assert parse(data, chunk) == bodies


def test_parser_finds_a_header_inside_a_body_wherever_the_chunks_split() -> None:
    from deepseek_lsp.rpc import FramingError

    body = b'{"jsonrpc": "2.0", "method": "initialized", "params": {}}'
    data = b"Content-Length: %d\r\n\r\n" % (len(body) + 60) + body + frame(status_request(3))
    for max_body in (1 << 20, 40):  # read, or skipped as too large
        for chunk in range(1, 90):
            with pytest.raises(FramingError, match="larger than its message"):
                parse(data, chunk, max_body)


def test_parser_skips_a_body_over_the_limit_and_stays_in_step() -> None:
    from deepseek_lsp.rpc import Skipped

    big = json.dumps({"jsonrpc": "2.0", "method": "x", "params": "y" * 500}).encode()
    data = b"Content-Length: %d\r\n\r\n" % len(big) + big + frame(status_request(4))
    for chunk in (1, 13, 4096):
        assert parse(data, chunk, max_body=200) == [
            Skipped(len(big)), json.dumps(status_request(4)).encode()]
