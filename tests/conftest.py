"""Shared fixtures: one simulator on loopback, and language servers started as editors do."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig

from deepseek_lsp.demo import INLINE_CLIENT, Editor
from deepseek_lsp.simulator import SimulatorThread

TEST_KEY = "sk-test-0123456789abcdef0123"
SERVER_COMMAND = [sys.executable, "-m", "deepseek_lsp"]


@pytest.fixture(scope="session")
def sim_session() -> Any:
    with SimulatorThread() as sim:
        yield sim


@pytest.fixture
def sim(sim_session: Any) -> Any:
    """The shared simulator, reset: no rules, no records, empty prefix cache, v4 models."""
    sim_session.reset()
    sim_session.configure(generation="v4", api_key=None, ttft_ms=0, tokens_per_s=0)
    return sim_session


StartServer = Callable[..., Awaitable[Editor]]


@pytest.fixture
async def start_server(sim: Any, tmp_path: Any) -> AsyncIterator[StartServer]:
    """Start `deepseek-lsp` over stdio against the simulator; returns an `Editor`."""
    clients = []

    async def start(
        *,
        init_options: dict[str, Any] | None = None,
        capabilities: lsp.ClientCapabilities = INLINE_CLIENT,
        configuration: dict[str, Any] | None = None,
        key: str | None = TEST_KEY,
        env: dict[str, str] | None = None,
    ) -> Editor:
        server_env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPSEEK_")}
        server_env["DEEPSEEK_BASE_URL"] = sim.base_url
        if key is not None:
            server_env["DEEPSEEK_API_KEY"] = key
        server_env.update(env or {})
        client = await ClientServerConfig(
            server_command=SERVER_COMMAND, server_env=server_env
        ).start()
        clients.append(client)
        if configuration is not None:
            client.set_configuration(configuration)
        options = {"debounceMs": 0, **(init_options or {})}
        result = await client.initialize_session(lsp.InitializeParams(
            capabilities=capabilities, root_uri=tmp_path.as_uri(),
            initialization_options=options,
        ))
        editor = Editor(client)
        editor.server_capabilities = result.capabilities
        return editor

    yield start
    for client in clients:
        try:
            await client.shutdown_session()
        finally:
            await client.stop()
