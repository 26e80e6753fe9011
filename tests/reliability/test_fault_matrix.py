"""The fault matrix: every way the API can fail, for inline completions (streamed and not) and
for chat (`deepseek.chat`, `deepseek.explain`), each against its own server (SPEC §5).

For every fault the user must see: every request answered within a bound (the deadline plus
two seconds), the server process alive, one error message per kind (not one per keystroke,
and none for chat, whose error responses the client shows itself), no upstream requests while
completions pause, and suggestions coming back by themselves once the API works again (after
the back-off, at once for invalid requests, after a settings change for 401/402). A settings
change starts the count of messages over, so streamed and JSON completions get one each.

The faults run concurrently, one server each; the simulator's rules are told apart by a marker
in each server's document (`Rule.match`). One module fixture runs them all; each fault's test
reports its own outcome.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException

from deepseek_lsp.demo import Editor
from deepseek_lsp.simulator import Rule

from .support import change_settings, launch, server_alive, stop, timed, wait_until

FIM = "/beta/completions"
CHAT = "/chat/completions"
TIMEOUT_MS = 500  # the smallest deadline the settings allow
COMPLETION_BOUND = TIMEOUT_MS / 1000 + 2.0
CHAT_BOUND = 4 * TIMEOUT_MS / 1000 + 2.0  # chat gives up after four deadlines without progress
STALL_S = 4.0  # longer than any deadline above
RETRY_AFTER_S = 3  # longer than the first two back-offs, so honouring it shows
HTML = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
OK_TEXT = "print(os.getcwd())"
OK_ANSWER = "It prints the working directory."


@dataclass(frozen=True)
class Fault:
    name: str
    rule: dict[str, Any]
    kind: str  # `lastErrorKind` / the chat error's `data.kind`
    #: "none" (invalid requests), "backoff" (1 s, then 2 s, ...), "retry_after" (as the API
    #: says), "settings" (401/402: until the settings change)
    pause: str


FAULTS = [
    Fault("400", {"status": 400}, "invalid_request", "none"),
    Fault("401", {"status": 401}, "authentication", "settings"),
    Fault("402", {"status": 402}, "balance", "settings"),
    Fault("422", {"status": 422}, "invalid_request", "none"),
    Fault("429-retry-after", {"status": 429, "retry_after": RETRY_AFTER_S}, "rate_limit",
          "retry_after"),
    Fault("429", {"status": 429}, "rate_limit", "backoff"),
    Fault("500", {"status": 500}, "server", "backoff"),
    Fault("502", {"status": 502}, "server", "backoff"),
    Fault("503", {"status": 503}, "server_busy", "backoff"),
    Fault("html-502", {"status": 502, "body": HTML}, "server", "backoff"),
    Fault("html-200", {"body": HTML}, "malformed", "backoff"),
    Fault("malformed-json", {"body": "{not json", "content_type": "application/json"},
          "malformed", "backoff"),
    Fault("stall", {"stall_s": STALL_S}, "timeout", "backoff"),
    Fault("keepalive-flood", {"stall_s": STALL_S, "keepalive_s": 0.01}, "timeout", "backoff"),
    Fault("dropped-before-bytes", {"drop_after_chunks": 0}, "connection", "backoff"),
    Fault("dropped-mid-answer", {"drop_after_chunks": 1, "text": "value = compute(1, 2, 3)"},
          "connection", "backoff"),
    Fault("truncated", {"truncate": True, "text": "value = compute(1, 2, 3)"}, "malformed",
          "backoff"),
    Fault("empty-choices", {"empty_choices": True}, "malformed", "backoff"),
]


@dataclass
class Outcome:
    error: BaseException | None = None
    seconds: float = 0.0


def marked(sim: Any, marker: str, path: str) -> list[Any]:
    return [r for r in sim.requests(path) if marker in (r.raw or "")]


def error_messages(editor: Editor) -> list[str]:
    """What the user saw as error/warning popups."""
    return [m.message for m in editor.client.messages
            if m.type in (lsp.MessageType.Error, lsp.MessageType.Warning)]


async def keystroke(editor: Editor, text: str) -> lsp.InlineCompletionItem | None:
    """Type `text` and ask for ghost text, as an editor does after each keystroke."""
    editor.type(text)
    item, _ = await timed(editor.ghost(), COMPLETION_BOUND)
    assert server_alive(editor)
    return item


async def completions_phase(editor: Editor, sim: Any, fault: Fault, marker: str,
                            streamed: bool) -> None:
    kind = fault.kind
    where = f"{fault.name}, {'streamed' if streamed else 'JSON'} completions"
    shown = len(error_messages(editor))
    times = 2 if fault.pause in ("none", "backoff") else 1
    sim.script(Rule(path=FIM, match=marker, times=times, **fault.rule),
               Rule(path=FIM, match=marker, text=OK_TEXT, times=1))
    asked = len(marked(sim, marker, FIM))

    if fault.pause == "none":  # an invalid request: the next keystroke asks again, silently
        assert await keystroke(editor, "v") is None, where
        assert await keystroke(editor, "a") is None, where
        assert len(marked(sim, marker, FIM)) == asked + 2, where
    else:
        # Two keystrokes in a row, as typed: the second arrives while the first one's call
        # fails and, completions being paused from then on, must not call again.
        editor.type("v")
        first = asyncio.ensure_future(timed(editor.ghost(), COMPLETION_BOUND))
        await asyncio.sleep(0)
        second = await keystroke(editor, "a")
        assert (await first)[0] is None and second is None, where
        assert len(marked(sim, marker, FIM)) == asked + 1, where
    await wait_until(lambda: len(error_messages(editor)) > shown)
    status = await editor.command("deepseek.status")
    assert status["lastErrorKind"] == kind, (where, status)

    if fault.pause == "settings":  # until the user fixes the key or tops up
        assert status["pausedForSeconds"] > 60, (where, status)
        for ch in "lu":
            assert await keystroke(editor, ch) is None
        assert len(marked(sim, marker, FIM)) == asked + 1, where
        change_settings(editor, {"streamCompletions": streamed, "temperature": 0.1})
    elif fault.pause == "retry_after":  # as long as the API asked for
        assert status["pausedForSeconds"] > 1.0, (where, status)
        await asyncio.sleep(RETRY_AFTER_S + 0.1)
    elif fault.pause == "backoff":
        assert status["pausedForSeconds"] <= 1.0, (where, status)
        await asyncio.sleep(1.1)  # the first back-off passes
        assert await keystroke(editor, "l") is None, where  # the API still fails ...
        assert len(marked(sim, marker, FIM)) == asked + 2, where
        await asyncio.sleep(2.1)  # ... and the doubled back-off passes

    item = await keystroke(editor, "\n")  # the API works again: suggestions are back
    assert item is not None and item.insert_text == OK_TEXT, (where, item)
    status = await editor.command("deepseek.status")
    assert status["pausedForSeconds"] == 0, (where, status)
    # one message for the kind, however many keystrokes and failures
    assert len(error_messages(editor)) == shown + 1, (where, error_messages(editor)[shown:])


async def chat_phase(editor: Editor, sim: Any, fault: Fault, marker: str) -> None:
    assert editor.doc is not None
    kind = fault.kind
    shown = len(error_messages(editor))
    uri = editor.doc.uri
    end = editor.doc.position_at(len(editor.doc.text), "utf-16")
    whole = {"uri": uri, "range": {"start": {"line": 0, "character": 0},
                                   "end": {"line": end[0], "character": end[1]}}}
    for name, argument in [("deepseek.chat", {"question": "What does this do?", "uri": uri}),
                           ("deepseek.explain", whole)]:
        sim.script(Rule(path=CHAT, match=marker, times=1, **fault.rule))
        with pytest.raises(JsonRpcException) as info:
            await timed(editor.command(name, argument), CHAT_BOUND)
        error = info.value
        assert error.code == lsp.LSPErrorCodes.RequestFailed, (fault.name, name, error)
        assert error.data["kind"] == kind, (fault.name, name, error.data)
        if fault.pause == "retry_after":
            assert error.data["retryAfter"] == RETRY_AFTER_S
        assert server_alive(editor)
    sim.script(Rule(path=CHAT, match=marker, text=OK_ANSWER, times=1))
    result, _ = await timed(editor.command("deepseek.chat", {"question": "And now?", "uri": uri}),
                            CHAT_BOUND)
    assert result["content"] == OK_ANSWER
    assert len(marked(sim, marker, CHAT)) == 3
    # chat failures are error responses, which clients show: no popups on top
    assert error_messages(editor)[shown:] == [], fault.name


async def run_fault(sim: Any, root: Path, index: int, fault: Fault) -> Outcome:
    outcome = Outcome()
    started = time.monotonic()
    marker = f"zq{index:02d}zq"
    editor = None
    try:
        editor = await asyncio.wait_for(
            launch(sim.base_url, root, init_options={"timeoutMs": TIMEOUT_MS}), 60)
        text = f"# {marker}\nimport os\n\n"
        editor.open((root / "app.py").as_uri(), text)
        editor.move_to(len(text))
        # a first suggestion, so that start-up work (imports, model discovery) is done
        sim.script(Rule(path=FIM, match=marker, text=OK_TEXT, times=1))
        assert await asyncio.wait_for(editor.ghost(), 30) is not None
        await completions_phase(editor, sim, fault, marker, streamed=True)
        change_settings(editor, {"streamCompletions": False})
        await completions_phase(editor, sim, fault, marker, streamed=False)
        await chat_phase(editor, sim, fault, marker)
        if fault.kind == "timeout":  # the server hung up: a stalled call costs nothing more
            stalled = 6  # two keystrokes streamed, two as JSON, two chat commands
            await wait_until(lambda: sum(r.disconnected for r in marked(sim, marker, FIM)
                                         + marked(sim, marker, CHAT)) >= stalled, 2)
        assert server_alive(editor)
    except BaseException as error:  # reported by the fault's own test
        outcome.error = error
    finally:
        if editor is not None:
            try:
                await stop(editor)
            except BaseException as error:
                outcome.error = outcome.error or error
    outcome.seconds = time.monotonic() - started
    return outcome


async def run_all(sim: Any, root: Path) -> dict[str, Outcome]:
    roots = [root / f"f{i:02d}" for i in range(len(FAULTS))]
    for r in roots:
        r.mkdir()
    results = await asyncio.gather(*(run_fault(sim, r, i, f)
                                      for i, (r, f) in enumerate(zip(roots, FAULTS, strict=True))))
    return {f.name: o for f, o in zip(FAULTS, results, strict=True)}


@pytest.fixture(scope="module")
def outcomes(sim_session: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    sim_session.reset()
    sim_session.configure(generation="v4", api_key=None, ttft_ms=0, tokens_per_s=0)
    started = time.monotonic()
    results = asyncio.run(run_all(sim_session, tmp_path_factory.mktemp("faults")))
    print(f"\nfault matrix: {len(FAULTS)} faults in {time.monotonic() - started:.1f} s ("
          + ", ".join(f"{name} {o.seconds:.1f} s" for name, o in results.items()) + ")")
    sim_session.reset()
    return results


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_fault(outcomes: dict[str, Outcome], fault: Fault) -> None:
    outcome = outcomes[fault.name]
    if outcome.error is not None:
        raise outcome.error

