"""Model resolution (SPEC §1): the pure pickers and `ModelResolver`'s discovery rules."""

from __future__ import annotations

import asyncio
import contextlib
import itertools

import pytest

from deepseek_lsp.api import models
from deepseek_lsp.api.errors import APIConnectionError, ModelNotFoundError
from deepseek_lsp.api.models import (
    FALLBACK_MODELS,
    ModelResolver,
    pick_chat_model,
    pick_fim_model,
    uses_thinking_flag,
)
from deepseek_lsp.api.types import Model

LEGACY = ["deepseek-chat", "deepseek-reasoner"]
V4_ONLY = ["deepseek-v4-pro", "deepseek-v4-flash"]
V4_WITH_ALIASES = ["deepseek-chat", "deepseek-reasoner", "deepseek-v4-flash", "deepseek-v4-pro"]


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        (LEGACY, "deepseek-chat"),
        (V4_ONLY, "deepseek-v4-flash"),
        (V4_WITH_ALIASES, "deepseek-v4-flash"),
        (["deepseek-flash", "deepseek-v4-flash", "deepseek-chat"], "deepseek-v4-flash"),
        (["deepseek-flash", "deepseek-chat"], "deepseek-flash"),
        (["deepseek-v4-flash", "deepseek-v5-flash", "deepseek-flash"], "deepseek-v5-flash"),
        (["deepseek-v4.1-flash", "deepseek-v4-flash"], "deepseek-v4.1-flash"),
        (["deepseek-v4-flash-0425", "deepseek-chat"], "deepseek-v4-flash-0425"),
        (["deepseek-coder", "deepseek-reasoner"], "deepseek-coder"),
        (["deepseek-v4-pro", "deepseek-reasoner"], "deepseek-v4-pro"),
        (["deepseek-v4-pro", "deepseek-coder"], "deepseek-coder"),
        (["deepseek/deepseek-v4-flash", "deepseek/deepseek-chat"], "deepseek/deepseek-v4-flash"),
        (["deepseek-reasoner"], None),
        (["deepseek-v4-flash-thinking", "deepseek-r1"], None),
        (["gpt-4o", "gemini-2.0-flash"], None),
        ([], None),
    ],
)
def test_pick_fim_model(ids: list[str], expected: str | None) -> None:
    assert pick_fim_model(ids) == expected


def test_pick_fim_model_ignores_listing_order() -> None:
    ids = ["deepseek-chat", "deepseek-v4-pro", "deepseek-flash", "deepseek-v4-flash"]
    assert {pick_fim_model(list(p)) for p in itertools.permutations(ids)} == {"deepseek-v4-flash"}


@pytest.mark.parametrize(
    ("ids", "reasoning", "expected"),
    [
        (LEGACY, False, "deepseek-chat"),
        (LEGACY, True, "deepseek-reasoner"),
        (V4_ONLY, False, "deepseek-v4-flash"),
        (V4_ONLY, True, "deepseek-v4-flash"),
        (V4_WITH_ALIASES, True, "deepseek-v4-flash"),
        (["deepseek-chat"], True, "deepseek-chat"),
        (["deepseek-reasoner"], False, "deepseek-reasoner"),
        ([], True, None),
    ],
)
def test_pick_chat_model(ids: list[str], reasoning: bool, expected: str | None) -> None:
    assert pick_chat_model(ids, reasoning) == expected


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("deepseek-v4-flash", True),
        ("deepseek-v4-pro", True),
        ("deepseek-flash", True),
        ("deepseek-v5", True),
        ("deepseek-chat", False),
        ("deepseek-reasoner", False),
        ("deepseek-coder", False),
    ],
)
def test_uses_thinking_flag(model: str, expected: bool) -> None:
    assert uses_thinking_flag(model) is expected


class FakeClient:
    """Just `list_models`, counting calls; the e2e tests use the real client."""

    def __init__(self, ids: list[str] | None, delay_s: float = 0.0,
                 gate: asyncio.Event | None = None) -> None:
        self.ids = ids
        self.delay_s = delay_s
        self.gate = gate  # when given, every answer waits until it is set
        self.calls = 0

    async def list_models(self, *, deadline_s: float = 10.0) -> list[Model]:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        if self.gate is not None:
            await self.gate.wait()
        if self.ids is None:
            raise APIConnectionError("unreachable")
        return [Model(i) for i in self.ids]


def resolver(client: FakeClient) -> ModelResolver:
    return ModelResolver(client)  # type: ignore[arg-type]


async def test_configured_name_is_used_as_given_without_asking() -> None:
    client = FakeClient(LEGACY)
    r = resolver(client)
    assert await r.fim_model(" deepseek-coder ") == "deepseek-coder"
    assert await r.chat_model("my-model", reasoning=True) == "my-model"
    assert client.calls == 0


async def test_auto_asks_once_and_concurrent_first_calls_share_the_request() -> None:
    client = FakeClient(V4_WITH_ALIASES, delay_s=0.05)
    r = resolver(client)
    picks = await asyncio.gather(
        *(r.fim_model("auto") for _ in range(5)), r.chat_model("AUTO", reasoning=True)
    )
    assert set(picks) == {"deepseek-v4-flash"}
    assert await r.chat_model("auto", reasoning=False) == "deepseek-v4-flash"
    assert client.calls == 1
    r.invalidate()
    await r.fim_model("auto")
    assert client.calls == 2


async def test_a_cancelled_caller_does_not_cancel_the_shared_discovery() -> None:
    gate = asyncio.Event()
    client = FakeClient(LEGACY, gate=gate)
    r = resolver(client)
    first = asyncio.ensure_future(r.fim_model("auto"))
    second = asyncio.ensure_future(r.chat_model("auto", reasoning=True))
    for _ in range(100):  # until both callers wait on the one discovery
        if client.calls:
            break
        await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert client.calls == 1 and not second.done()
    first.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await first
    gate.set()
    assert await asyncio.wait_for(second, 5) == "deepseek-reasoner"
    assert r.discovered == LEGACY and client.calls == 1


async def test_failed_discovery_falls_back_and_is_not_repeated_every_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = FakeClient(None)
    r = resolver(client)
    assert await r.fim_model("auto") == FALLBACK_MODELS[0]
    assert await r.chat_model("auto", reasoning=False) == FALLBACK_MODELS[0]
    assert client.calls == 1
    monkeypatch.setattr(models, "DISCOVERY_RETRY_S", 0.0)
    client.ids = LEGACY
    assert await r.fim_model("auto") == "deepseek-chat"
    assert client.calls == 2


async def test_model_not_exist_rediscovers_once_and_retries_once() -> None:
    client = FakeClient(V4_ONLY)
    r = resolver(client)
    await r.fim_model("auto")
    client.ids = ["deepseek-v5-flash"]  # the account moved on since the first discovery
    tried: list[str] = []

    async def call(model: str) -> str:
        tried.append(model)
        if model != "deepseek-v5-flash":
            raise ModelNotFoundError("Model Not Exist", status=400)
        return "ok"

    assert await r.call_with_rediscovery("auto", call) == "ok"
    assert tried == ["deepseek-v4-flash", "deepseek-v5-flash"]
    assert client.calls == 2


async def test_model_not_exist_twice_names_the_model() -> None:
    r = resolver(FakeClient(["deepseek-v4-flash"]))
    tried: list[str] = []

    async def call(model: str) -> str:
        tried.append(model)
        raise ModelNotFoundError("Model Not Exist", status=400)

    with pytest.raises(ModelNotFoundError) as info:
        await r.call_with_rediscovery("auto", call, chat=True, reasoning=False)
    # The model that failed is not picked again: the retry uses the next guess.
    assert tried == ["deepseek-v4-flash", FALLBACK_MODELS[1]]
    assert repr(FALLBACK_MODELS[1]) in str(info.value)


async def test_configured_model_not_exist_is_reraised_naming_model_and_setting() -> None:
    client = FakeClient(LEGACY)
    r = resolver(client)
    calls = 0

    async def call(model: str) -> str:
        nonlocal calls
        calls += 1
        raise ModelNotFoundError("Model Not Exist", status=400)

    with pytest.raises(ModelNotFoundError) as info:
        await r.call_with_rediscovery("deepseek-v9-turbo", call, chat=True)
    assert calls == 1 and client.calls == 0
    assert "deepseek.chatModel" in str(info.value) and "'deepseek-v9-turbo'" in str(info.value)
    assert info.value.status == 400
