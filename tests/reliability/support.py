"""Starting servers the way editors do, with the extras this suite needs: server arguments,
a record of every byte the client receives, and the process behind the client."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

from chat_helpers import (  # noqa: F401 - shared with chat tests
    content_requests,
    wait_for_status,
    wait_until,
)
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig

from deepseek_lsp.demo import INLINE_CLIENT, Editor

KEY = "sk-reliability-0123456789abcdef"


async def launch(
    base_url: str,
    root: Path,
    *,
    key: str | None = KEY,
    init_options: dict[str, Any] | None = None,
    capabilities: lsp.ClientCapabilities = INLINE_CLIENT,
    configuration: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    record: bool = False,
) -> Editor:
    """A server over stdio against `base_url`, initialized; `editor.raw` holds every message
    body the client received when `record` is set."""
    server_env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPSEEK_")}
    server_env["DEEPSEEK_BASE_URL"] = base_url
    server_env.setdefault("XDG_CACHE_HOME", str(root / ".cache"))
    if key is not None:
        server_env["DEEPSEEK_API_KEY"] = key
    server_env.update(env or {})
    client = await ClientServerConfig(
        server_command=[sys.executable, "-m", "deepseek_lsp", *args], server_env=server_env,
    ).start()
    editor = Editor(client)
    editor.raw = []  # type: ignore[attr-defined]
    if record:
        _record_raw(client, editor.raw)  # type: ignore[attr-defined]
    if configuration is not None:
        client.set_configuration(configuration)
    result = await client.initialize_session(lsp.InitializeParams(
        capabilities=capabilities, root_uri=root.as_uri(),
        initialization_options={"debounceMs": 0, **(init_options or {})},
    ))
    editor.server_capabilities = result.capabilities  # type: ignore[attr-defined]
    return editor


def _record_raw(client: Any, into: list[bytes]) -> None:
    """Keep each message body as read from the server's stdout, before any parsing."""
    stdout = client._server.stdout
    read = stdout.readexactly

    async def readexactly(n: int) -> bytes:
        data = await read(n)
        into.append(data)
        return data

    stdout.readexactly = readexactly


async def stop(editor: Editor) -> None:
    """Shut the server down as an editor does; kill it if it does not go (never hang)."""
    client = editor.client
    try:
        if server_alive(editor):
            await asyncio.wait_for(client.shutdown_session(), 10)
    finally:
        if server_alive(editor):
            client._server.kill()
        await finish_stderr(editor)
        await asyncio.wait_for(client.stop(), 10)


async def finish_stderr(editor: Editor) -> None:
    """Let pytest-lsp forward the rest of the server's stderr (it stops forwarding on `stop`)."""
    forwarder = getattr(editor.client, "_stderr_forwarder", None)
    if forwarder is not None and editor.client._server is not None:
        await asyncio.wait_for(editor.client._server.wait(), 10)
        await asyncio.wait_for(asyncio.shield(forwarder), 5)


def server_pid(editor: Editor) -> int:
    return editor.client._server.pid


def server_alive(editor: Editor) -> bool:
    server = editor.client._server
    return server is not None and server.returncode is None


async def timed(awaitable: Any, bound: float) -> tuple[Any, float]:
    """Await with a hard bound; returns the result and the seconds it took."""
    started = time.monotonic()
    result = await asyncio.wait_for(awaitable, bound + 5)
    elapsed = time.monotonic() - started
    assert elapsed < bound, f"answered after {elapsed:.2f} s (bound {bound:.2f} s)"
    return result, elapsed


def change_settings(editor: Editor, values: dict[str, Any]) -> None:
    """Settings changed in the editor: pushed with the notification and there to pull."""
    editor.client.set_configuration({"deepseek": values})
    editor.client.workspace_did_change_configuration(
        lsp.DidChangeConfigurationParams(settings={"deepseek": values}))
