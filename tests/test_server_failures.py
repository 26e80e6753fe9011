"""Every failure kind, end to end: every request answered, one message per kind, recovery."""

from __future__ import annotations

import asyncio
import time

import pytest
from chat_helpers import wait_for_status
from lsprotocol import types as lsp

from deepseek_lsp.simulator import Rule

FIM = "/beta/completions"
PY = "file:///work/app.py"


async def keystrokes(editor, text: str) -> list:
    """Type `text` one character at a time, asking for ghost text after each."""
    answers = []
    for ch in text:
        editor.type(ch)
        started = time.monotonic()
        answers.append(await asyncio.wait_for(editor.ghost(), 10))
        assert time.monotonic() - started < 10
    return answers


def messages(editor, needle: str) -> list[str]:
    return [m.message for m in editor.client.messages if needle.lower() in m.message.lower()]


async def open_python(editor) -> None:
    editor.open(PY, "import os\n\n")
    editor.move_to(len(editor.doc.text))


@pytest.mark.parametrize(
    ("rule", "needle"),
    [
        (Rule(path=FIM, status=500, times=1), "server error"),
        (Rule(path=FIM, status=503, times=1), "overloaded"),
        (Rule(path=FIM, status=429, retry_after=1, times=1), "rate-limiting"),
        (Rule(path=FIM, status=200, body="<html><title>Bad gateway</title></html>",
              content_type="text/html", times=1), "could not be read"),
        (Rule(path=FIM, drop_after_chunks=1, times=1), "connection"),
        (Rule(path=FIM, truncate=True, times=1), "could not be read"),
        (Rule(path=FIM, empty_choices=True, times=1), "could not be read"),
        (Rule(path=FIM, stall_s=3, keepalive_s=0.1, times=1), "in time"),
    ],
    ids=["500", "503", "429", "html", "dropped", "truncated", "empty-choices", "stall"],
)
async def test_transient_failures_are_reported_once_and_recover(start_server, sim, rule, needle):
    sim.script(rule)
    sim.script(Rule(path=FIM, text="import sys"))
    editor = await start_server(init_options={"timeoutMs": 800})
    await open_python(editor)
    answers = await keystrokes(editor, "# x")
    assert answers[0] is None
    assert len(messages(editor, needle)) == 1, [m.message for m in editor.client.messages]
    await asyncio.sleep(1.2)  # the back-off (1 s, or Retry-After) passes
    editor.type("\n")
    assert await editor.ghost() is not None  # recovered by itself
    assert len(messages(editor, needle)) == 1


async def test_missing_key_asks_nothing_and_says_so_once(start_server, sim):
    editor = await start_server(key=None)
    await open_python(editor)
    answers = await keystrokes(editor, "impo")
    assert answers == [None] * 4
    assert len(messages(editor, "DEEPSEEK_API_KEY")) == 1
    assert sim.requests() == []


async def test_wrong_key_pauses_until_the_settings_change(start_server, sim):
    sim.configure(api_key="sk-the-right-key-000000000000")
    editor = await start_server()
    await open_python(editor)
    await keystrokes(editor, "impo")
    assert len(sim.requests(FIM)) == 1  # paused after the 401: no more requests
    assert len(messages(editor, "401")) == 1
    assert (await editor.command("deepseek.status"))["pausedForSeconds"] > 0
    editor.client.set_configuration({"deepseek": {"apiKey": "sk-the-right-key-000000000000"}})
    editor.client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(settings={}))
    await wait_for_status(editor, lambda status: status["pausedForSeconds"] == 0)
    editor.type("r")
    assert await editor.ghost() is not None
    for message in editor.client.messages:
        assert "sk-the-right-key" not in message.message


async def test_no_balance_pauses_completions(start_server, sim):
    sim.script(Rule(path=FIM, status=402))
    editor = await start_server()
    await open_python(editor)
    await keystrokes(editor, "impo")
    assert len(sim.requests(FIM)) == 1
    assert len(messages(editor, "balance")) == 1


async def test_a_configured_model_that_does_not_exist_is_named(start_server, sim):
    editor = await start_server(init_options={"model": "deepseek-chat"})  # retired in v4
    await open_python(editor)
    await keystrokes(editor, "im")
    found = messages(editor, "deepseek-chat")
    assert len(found) == 1 and "deepseek.model" in found[0]


async def test_auto_model_works_on_a_legacy_account(start_server, sim):
    sim.configure(generation="legacy")
    sim.script(Rule(path=FIM, text="import sys"))
    editor = await start_server()
    await open_python(editor)
    assert await editor.ghost() is not None
    assert sim.requests(FIM)[0].json["model"] == "deepseek-chat"


async def test_a_key_only_in_workspace_configuration_is_waited_for(start_server, sim):
    """The first keystroke may arrive before the configuration answer: no false alarm."""
    sim.script(Rule(path=FIM, text="import sys"))
    editor = await start_server(key=None, configuration={"deepseek": {
        "apiKey": "sk-from-configuration-0000000"}})
    await open_python(editor)
    assert await editor.ghost() is not None
    assert messages(editor, "DEEPSEEK_API_KEY") == []
