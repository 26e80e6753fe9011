"""Where the key goes: an unusable base URL is refused, never replaced by the default.

A recording proxy on loopback stands in for the network: the server's HTTP client honours
`HTTP_PROXY`/`HTTPS_PROXY`, so any request the server tried — to `http://203.0.113.9`, or to
`https://api.deepseek.com` after a silent fallback — would arrive there. None may.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from .support import launch, stop, wait_until

SOURCE = "def area(radius):\n    return \n"


class RecordingProxy:
    """Accepts connections on 127.0.0.1 and records the first line of each request."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> RecordingProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await reader.readline()
        self.seen.append(line.decode("latin-1").strip())
        writer.write(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()
        writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[RecordingProxy]:
    async with RecordingProxy() as p:
        yield p


def _env(proxy: RecordingProxy) -> dict[str, str]:
    return {"HTTP_PROXY": proxy.url, "HTTPS_PROXY": proxy.url, "ALL_PROXY": proxy.url,
            "NO_PROXY": ""}


async def _session(editor: Any, root: Path) -> list[Any]:
    """What a user does: type, ask for ghost text, chat, balance. Returns the answers."""
    editor.open((root / "geometry.py").as_uri(), SOURCE)
    editor.move_to(len("def area(radius):\n    return "))
    answers: list[Any] = [await asyncio.wait_for(editor.ghost(), 15)]
    editor.type("m")
    answers.append(await asyncio.wait_for(editor.ghost(), 15))
    for name, argument in (("deepseek.chat", {"question": "hi"}), ("deepseek.balance", None)):
        try:
            answers.append(await asyncio.wait_for(editor.command(name, argument), 15))
        except Exception as error:  # the failure is the answer
            answers.append(error)
    return answers


@pytest.mark.parametrize("where", ["env", "init", "configuration"])
@pytest.mark.parametrize("url", ["localhost:8080", "ftp://x", "notaurl",
                                 "http://203.0.113.9:8080"])
async def test_an_unusable_base_url_sends_nothing_and_says_so_once(sim, tmp_path, proxy,
                                                                   where, url):
    env = _env(proxy)
    init: dict[str, Any] = {}
    configuration = None
    if where == "env":
        env["DEEPSEEK_BASE_URL"] = url
    elif where == "init":
        init["baseUrl"] = url
    else:
        configuration = {"deepseek": {"baseUrl": url}}
    editor = await launch(sim.base_url, tmp_path, env=env, init_options=init,
                          configuration=configuration)
    try:
        answers = await _session(editor, tmp_path)
        status = await asyncio.wait_for(editor.command("deepseek.status"), 15)
        await wait_until(lambda: any(url in m.message for m in editor.client.messages))
        shown = [m.message for m in editor.client.messages if url in m.message]
    finally:
        await stop(editor)
    assert proxy.seen == [] and sim.requests() == []  # not to the URL, not to the default
    assert answers[0] is None or not answers[0].items  # no ghost text, but an answer
    assert all(isinstance(a, Exception) and "base URL" in str(a) for a in answers[2:])
    assert len(shown) == 1 and "no request is sent" in shown[0]
    assert status["upstreamRequests"] == 0


async def test_plain_http_to_another_host_with_the_opt_in_is_used_and_warned(sim, tmp_path,
                                                                               proxy):
    url = "http://203.0.113.9:8080"
    editor = await launch(url, tmp_path, env=_env(proxy),
                          init_options={"allowInsecureHttp": True})
    try:
        await _session(editor, tmp_path)
        await wait_until(lambda: bool(proxy.seen))
        warnings = [m.message for m in editor.client.messages if "unencrypted" in m.message]
    finally:
        await stop(editor)
    assert any("203.0.113.9" in line for line in proxy.seen)  # the user asked for it
    assert len(warnings) == 1
