"""Inline completions end to end: the server over stdio, the simulator on loopback."""

from __future__ import annotations

import asyncio
import itertools
import re
import uuid

import pytest
from chat_helpers import wait_for_status
from lsprotocol import types as lsp

from deepseek_lsp.completion import chars_for_tokens
from deepseek_lsp.completion.context import ANCHOR_STEPS
from deepseek_lsp.demo import INLINE_CLIENT
from deepseek_lsp.documents import UTF8, UTF16
from deepseek_lsp.simulator import Rule

FIM = "/beta/completions"
PY = "file:///work/app.py"


def fim_requests(sim):
    return sim.requests(FIM)


def inline_params(editor, encoding=UTF16):
    line, character = editor.doc.position_at(editor.cursor, encoding)
    return lsp.InlineCompletionParams(
        text_document=lsp.TextDocumentIdentifier(editor.doc.uri),
        position=lsp.Position(line, character),
        context=lsp.InlineCompletionContext(trigger_kind=lsp.InlineCompletionTriggerKind.Automatic),
    )


async def test_capabilities_are_advertised(start_server):
    editor = await start_server()
    capabilities = editor.server_capabilities
    assert capabilities.inline_completion_provider is not None
    assert capabilities.completion_provider is not None
    assert capabilities.text_document_sync.change == lsp.TextDocumentSyncKind.Incremental
    assert capabilities.position_encoding == lsp.PositionEncodingKind.Utf16
    assert {"deepseek.status", "deepseek.toggle", "deepseek.clearCache"} <= set(
        capabilities.execute_command_provider.commands)


async def test_request_shape_prompt_suffix_model(start_server, sim):
    sim.script(Rule(path=FIM, text="return a + b"))
    editor = await start_server()
    editor.open(PY, "def add(a, b):\n    \n\nprint(add(1, 2))\n")
    editor.move_to(len("def add(a, b):\n    "))
    item = await editor.ghost()
    assert item is not None and item.insert_text == "return a + b"
    (req,) = fim_requests(sim)
    body = req.json
    assert body["prompt"].endswith("def add(a, b):\n    ")
    assert "app.py" in body["prompt"].split("\n", 1)[0]  # the path header leads
    assert body["suffix"].startswith("\n\nprint(add(1, 2))")
    assert body["model"] == "deepseek-v4-flash"
    assert 0 < body["max_tokens"] <= 4096
    assert len(body.get("stop") or []) <= 16
    assert req.headers["Authorization"] == "Bearer ***"  # recorded without the key


@pytest.mark.parametrize(("encoding", "offered"), [(UTF16, None), (UTF8, ["utf-8", "utf-16"])])
async def test_ranges_are_exact_with_emoji_and_cjk(start_server, sim, encoding, offered):
    sim.script(Rule(path=FIM, text='世界 🌍")'))
    caps = INLINE_CLIENT
    if offered:
        caps = lsp.ClientCapabilities(
            text_document=INLINE_CLIENT.text_document, window=INLINE_CLIENT.window,
            general=lsp.GeneralClientCapabilities(position_encodings=offered),
        )
    editor = await start_server(capabilities=caps)
    text = 'print("😀 你好 ")\n'
    editor.open(PY, text)
    cursor = text.index('")')  # after the space, before the auto-closed `")`
    editor.move_to(cursor)
    result = await editor.client.text_document_inline_completion_async(
        inline_params(editor, encoding))
    (item,) = result.items
    line, character = editor.doc.position_at(cursor, encoding)
    assert item.range.start == lsp.Position(line, character)
    # the model repeated the closing quote: the item replaces the existing `"` instead
    end_offset = editor.doc.offset_at(item.range.end.line, item.range.end.character, encoding)
    final = text[:cursor] + item.insert_text + text[end_offset:]
    assert final == 'print("😀 你好 世界 🌍")\n'


async def test_auto_closed_bracket_is_not_duplicated(start_server, sim):
    sim.script(Rule(path=FIM, text='"hello, world")'))
    editor = await start_server()
    editor.open(PY, "def main():\n    print()\n")
    editor.move_to(len("def main():\n    print("))
    item = await editor.ghost()
    assert item is not None
    editor.accept(item)
    assert editor.doc.line_text(1) == '    print("hello, world")'


async def test_typing_through_a_suggestion_makes_no_new_requests(start_server, sim):
    sim.script(Rule(path=FIM, text="total = sum(values)"))
    editor = await start_server()
    editor.open(PY, "values = [1, 2, 3]\n")
    editor.move_to(len(editor.doc.text))
    first = await editor.ghost()
    assert first is not None and first.insert_text == "total = sum(values)"
    for i, ch in enumerate("total = s"):
        editor.type(ch)
        item = await editor.ghost()
        assert item is not None
        assert item.insert_text == "total = sum(values)"[i + 1 :]
    assert len(fim_requests(sim)) == 1


async def test_prompts_sent_while_typing_lines_keep_their_beginning(start_server, sim):
    """DeepSeek's prefix cache hits only on a byte-identical beginning. Typing 40 lines below
    200 lines of code, word by word with a request after each word: every prompt sent starts
    with the whole previous one, except when the cursor enters a new anchor step (a quarter of
    the prefix budget). A window sliding with the cursor, even cut at line starts, changes its
    first line on nearly every new line."""
    sim.script(Rule(path=FIM, text="pass"))  # something to show (nothing to show slows asking)
    prefix_tokens = 200
    editor = await start_server(init_options={"prefixTokens": prefix_tokens,
                                              "adaptiveDebounce": False})
    top = "".join(f"value_{i} = compute(item_{i}, {i})\n" for i in range(200))
    editor.open(PY, top)
    editor.move_to(len(top))
    body = "".join(f"total_{i} = step(total_{i - 1}, {i})\n" for i in range(1, 41))
    for word in re.findall(r"\w+|\W+", body):
        editor.type(word)
        await editor.ghost()
    prompts = [r.json["prompt"] for r in fim_requests(sim)]
    assert len(prompts) >= 100  # most words asked (the rest answered by type-ahead)
    step = chars_for_tokens(prefix_tokens) // ANCHOR_STEPS
    moves = sum(not later.startswith(earlier) for earlier, later in itertools.pairwise(prompts))
    assert moves <= len(body) // step + 2, f"{moves} of {len(prompts)} prompts began anew"


async def test_a_burst_of_keystrokes_makes_few_requests(start_server, sim):
    sim.script(Rule(path=FIM, text="\n    return open(path).read()"))
    editor = await start_server(init_options={"debounceMs": 150})
    editor.open(PY, "import os\n\n")
    editor.move_to(len(editor.doc.text))
    pending = []
    for ch in "def load_config(path):":
        editor.type(ch)
        pending.append(asyncio.ensure_future(editor.ghost()))
        await asyncio.sleep(0.02)
    results = await asyncio.gather(*pending)
    assert len(fim_requests(sim)) <= 2
    # the pause after the burst shows the suggestion for where the typing stopped
    assert results[-1] is not None
    assert results[-1].insert_text == "\n    return open(path).read()"
    assert all(r is None for r in results[:-3])  # superseded requests get empty answers


async def test_cancel_request_closes_the_upstream_connection(start_server, sim):
    sim.script(Rule(path=FIM, stall_s=10, keepalive_s=0.2))
    editor = await start_server()
    editor.open(PY, "x = 1\n")
    editor.move_to(len(editor.doc.text))
    msg_id = str(uuid.uuid4())
    future = asyncio.ensure_future(editor.client.protocol.send_request_async(
        lsp.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(editor), msg_id=msg_id))
    assert await sim.wait_for_async(lambda reqs: any(r.path == FIM for r in reqs), timeout=5)
    editor.client.cancel_request(lsp.CancelParams(id=msg_id))
    with pytest.raises(Exception):  # noqa: B017 - the client gets RequestCancelled
        await asyncio.wait_for(future, 5)
    assert await sim.wait_for_async(
        lambda reqs: any(r.path == FIM and r.disconnected for r in reqs),
        timeout=3)


async def test_unopened_documents_and_invalid_positions_are_answered(start_server, sim):
    editor = await start_server()
    result = await editor.client.text_document_inline_completion_async(
        lsp.InlineCompletionParams(
            text_document=lsp.TextDocumentIdentifier("file:///never/opened.py"),
            position=lsp.Position(0, 0),
            context=lsp.InlineCompletionContext(
                trigger_kind=lsp.InlineCompletionTriggerKind.Invoked)))
    assert result is None  # an answer, not an error: the editor logs nothing
    editor.open(PY, "a = 1\n")

    async def ask(line, character):
        return await editor.client.text_document_inline_completion_async(
            lsp.InlineCompletionParams(
                text_document=lsp.TextDocumentIdentifier(PY),
                position=lsp.Position(line, character),
                context=lsp.InlineCompletionContext(
                    trigger_kind=lsp.InlineCompletionTriggerKind.Invoked)))

    assert await ask(99, 0) is None  # a line past the end
    assert fim_requests(sim) == []
    # a character past the line's end means the line's end (LSP clamps it)
    sim.script(Rule(path=FIM, text="  # one"))
    (item,) = (await ask(0, 500)).items
    assert item.insert_text == "  # one" and item.range.start == lsp.Position(0, 5)
    assert fim_requests(sim)  # the alternatives of an invoked request are asked for there too
    assert all(r.json["prompt"].endswith("a = 1") for r in fim_requests(sim))


async def test_huge_line_is_bounded(start_server, sim):
    sim.script(Rule(path=FIM, text="0]"))
    editor = await start_server()
    editor.open(PY, "data = [" + "1, " * 300_000 + "\n")
    editor.move_to(len(editor.doc.text) - 1)
    await editor.ghost()
    (req,) = fim_requests(sim)  # it still asks, with a bounded window of the 900 KB line
    assert len(req.json["prompt"]) < 100_000


async def test_excluded_files_never_leave_the_machine(start_server, sim):
    editor = await start_server()
    secret = "API_TOKEN=very-secret-value-123\n"
    editor.open("file:///work/.env", secret, language_id="dotenv")
    editor.move_to(len(secret))
    assert await editor.ghost() is None
    # open a Python file too: the .env file must not be used as neighbour context either
    editor.open(PY, "import os\n")
    editor.move_to(len(editor.doc.text))
    await editor.ghost()
    for req in sim.requests():
        assert "very-secret-value" not in (req.raw or "")


async def test_settings_change_at_run_time(start_server, sim):
    editor = await start_server()
    editor.open(PY, "import os\n")
    editor.move_to(len(editor.doc.text))
    editor.client.set_configuration({"deepseek": {"enable": False}})
    editor.client.workspace_did_change_configuration(
        lsp.DidChangeConfigurationParams(settings={"deepseek": {"enable": False}}))
    await wait_for_status(editor, lambda status: status["enabled"] is False)
    assert await editor.ghost() is None
    assert fim_requests(sim) == []
    editor.client.set_configuration({"deepseek": {"enable": True, "debounceMs": -1}})
    editor.client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(settings={}))
    await wait_for_status(editor, lambda status: status["enabled"] is True)
    await editor.ghost()
    assert len(fim_requests(sim)) == 1
    warnings = [m.message for m in editor.client.messages if "debounceMs" in m.message]
    assert len(warnings) == 1 and "0-2000" in warnings[0]


async def test_completion_fallback_inserts_the_whole_suggestion(start_server, sim):
    sim.script(Rule(path=FIM, text="urn sum(values) / len(values)"))
    no_inline = lsp.ClientCapabilities(
        text_document=lsp.TextDocumentClientCapabilities(
            completion=lsp.CompletionClientCapabilities(
                completion_item=lsp.ClientCompletionItemOptions(snippet_support=True))))
    editor = await start_server(capabilities=no_inline)
    editor.open(PY, "def mean(values):\n    ret\n")
    editor.move_to(len("def mean(values):\n    ret"))
    line, character = editor.doc.position_at(editor.cursor, UTF16)
    result = await editor.client.text_document_completion_async(lsp.CompletionParams(
        text_document=lsp.TextDocumentIdentifier(PY), position=lsp.Position(line, character)))
    (item,) = result.items
    assert item.insert_text_format == lsp.InsertTextFormat.Snippet
    assert item.text_edit.new_text == "return sum(values) / len(values)"
    assert item.filter_text.startswith("ret")  # survives the client's prefix filtering
    assert item.text_edit.range.start == lsp.Position(1, 4)


async def test_a_pause_at_a_finished_line_end_offers_the_next_line(start_server, sim):
    """The model's answer at the end of `total = 0` is to end the line (DeepSeek stops at the
    line break): the next line is asked for and offered, as ghost text and as an item."""
    sim.script(Rule(path=FIM, match="    total = 0\n\n", text="    return total"),
               Rule(path=FIM, text="\n    return total"))  # cut to "" by the "\n" stop
    editor = await start_server()
    editor.open(PY, "def f(values):\n    total = 0\n")
    editor.move_to(len("def f(values):\n    total = 0"))
    assert (await editor.ghost()).insert_text == "\n    return total"
    first, then = (r.json for r in fim_requests(sim))
    assert first["stop"] == ["\n"] and then["prompt"] == first["prompt"] + "\n"
    editor.type("\n    ")  # Enter and the editor's indentation: typed into the suggestion
    assert (await editor.ghost()).insert_text == "return total"
    assert len(fim_requests(sim)) == 2

    no_inline = lsp.ClientCapabilities(text_document=lsp.TextDocumentClientCapabilities(
        completion=lsp.CompletionClientCapabilities()))
    items_editor = await start_server(capabilities=no_inline)
    items_editor.open(PY, "def f(values):\n    total = 0\n")
    result = await items_editor.client.text_document_completion_async(lsp.CompletionParams(
        text_document=lsp.TextDocumentIdentifier(PY), position=lsp.Position(1, 13)))
    (item,) = result.items
    assert item.label == "↵ return total"
    assert item.text_edit.new_text == "0\n    return total"  # from the word before the cursor


async def test_status_toggle_and_clear_cache(start_server, sim):
    sim.script(Rule(path=FIM, text="pass"))
    editor = await start_server()
    editor.open(PY, "def f():\n    \n")
    editor.move_to(len("def f():\n    "))
    await editor.ghost()
    await editor.ghost()  # the same position again: the suggestion known there
    status = await editor.command("deepseek.status")
    assert status["upstreamRequests"] == 1
    assert status["typeAheadHits"] == 1
    assert status["model"] == "deepseek-v4-flash"
    assert status["promptTokens"] > 0
    toggled = await editor.command("deepseek.toggle")
    assert toggled["enabled"] is False
    editor.type(" ")
    assert await editor.ghost() is None
    assert status["cacheEntries"] == 1
    await editor.command("deepseek.toggle")
    await editor.command("deepseek.clearCache")
    assert (await editor.command("deepseek.status"))["cacheEntries"] == 0


def undo_typing(editor, count):
    """Remove the `count` characters before the cursor in one change, as an undo does."""
    doc = editor.doc
    start = doc.position_at(editor.cursor - count, UTF16)
    end = doc.position_at(editor.cursor, UTF16)
    doc.apply_edit(start, end, "", UTF16)
    editor._did_change(doc, [lsp.TextDocumentContentChangePartial(
        range=lsp.Range(lsp.Position(*start), lsp.Position(*end)), text="")])
    editor.cursor -= count


async def name_the_model(editor, offset):
    """Ask once at `offset`: the first call names the `auto` model, which is part of the
    cache's key (see test_the_first_answer_of_a_session_is_cached)."""
    editor.move_to(offset)
    await editor.ghost()
    assert (await editor.command("deepseek.status"))["model"] == "deepseek-v4-flash"


async def test_the_cache_answers_after_the_cursor_visited_a_word(start_server, sim):
    """Ask at the end of the file, click into a word (no request there: it forgets the known
    suggestion), come back: only the cache can answer, and no request is made."""
    sim.script(Rule(path=FIM, text="  # three values", times=1))
    sim.script(Rule(path=FIM, text="total = sum(values)", times=1))
    sim.script(Rule(path=FIM, text="print(values)"))
    editor = await start_server()
    editor.open(PY, "values = [1, 2, 3]\n")
    await name_the_model(editor, len("values = [1, 2, 3]"))
    end = len(editor.doc.text)
    editor.move_to(end)
    first = await editor.ghost()
    assert first is not None and first.insert_text == "total = sum(values)"
    editor.move_to(2)  # inside `values`
    assert await editor.ghost() is None
    editor.move_to(end)
    again = await editor.ghost()
    assert again is not None and again.insert_text == "total = sum(values)"
    status = await editor.command("deepseek.status")
    assert (status["cacheHits"], status["typeAheadHits"], status["upstreamRequests"]) == (1, 0, 2)
    assert len(fim_requests(sim)) == 2


async def test_the_first_answer_of_a_session_is_cached(start_server, sim):
    """With `auto`, the model is named only once the first call resolved it: the answer is
    cached under that model, where the next lookup finds it."""
    sim.script(Rule(path=FIM, text="total = sum(values)"))
    editor = await start_server()
    editor.open(PY, "values = [1, 2, 3]\n")
    end = len(editor.doc.text)
    editor.move_to(end)
    assert await editor.ghost() is not None
    editor.move_to(2)  # inside `values`: the known suggestion is forgotten
    assert await editor.ghost() is None
    editor.move_to(end)
    assert await editor.ghost() is not None
    assert len(fim_requests(sim)) == 1


async def test_the_cache_answers_the_same_request_after_an_undo(start_server, sim):
    """Type a letter the suggestion does not start with (a new suggestion there), undo it: the
    document and cursor are as before, the suggestion known is for a later position (type-ahead
    cannot answer), and the cache gives the first suggestion again without a request."""
    sim.script(Rule(path=FIM, text="  # three values", times=1))
    sim.script(Rule(path=FIM, text="total = sum(values)", times=1))
    sim.script(Rule(path=FIM, text="rint(values)", times=1))
    editor = await start_server()
    editor.open(PY, "values = [1, 2, 3]\n")
    await name_the_model(editor, len("values = [1, 2, 3]"))
    editor.move_to(len(editor.doc.text))
    first = await editor.ghost()
    assert first is not None and first.insert_text == "total = sum(values)"
    editor.type("p")
    second = await editor.ghost()
    assert second is not None and second.insert_text == "rint(values)"
    before = await editor.command("deepseek.status")
    undo_typing(editor, 1)
    again = await editor.ghost()
    assert again is not None and again.insert_text == "total = sum(values)"
    assert again.range == first.range
    status = await editor.command("deepseek.status")
    assert status["cacheHits"] == before["cacheHits"] + 1
    assert status["typeAheadHits"] == before["typeAheadHits"]
    assert status["upstreamRequests"] == before["upstreamRequests"] == 3
    assert len(fim_requests(sim)) == 3


async def test_the_cache_answers_when_the_cursor_comes_back(start_server, sim):
    """Ask on line 2, then on line 3 (a suggestion for a later position), then on line 2
    again: only the cache can answer it, and no request is made."""
    sim.script(Rule(path=FIM, text="  # a sum", times=1))
    sim.script(Rule(path=FIM, text="return a + b", times=1))
    sim.script(Rule(path=FIM, text="return a - b", times=1))
    text = "def add(a, b):\n    \ndef sub(a, b):\n    \n"
    editor = await start_server()
    editor.open(PY, text)
    await name_the_model(editor, len("def add(a, b):"))
    editor.move_to(text.index("    \n") + 4)
    first = await editor.ghost()
    assert first is not None and first.insert_text == "return a + b"
    editor.move_to(text.rindex("    \n") + 4)
    assert (await editor.ghost()).insert_text == "return a - b"
    editor.move_to(text.index("    \n") + 4)
    again = await editor.ghost()
    assert again is not None and again.insert_text == "return a + b"
    status = await editor.command("deepseek.status")
    assert (status["cacheHits"], status["typeAheadHits"], status["upstreamRequests"]) == (1, 0, 3)
    assert len(fim_requests(sim)) == 3


async def test_a_suggestion_further_down_does_not_hide_the_one_asked_for_above(
        start_server, sim):
    """Ghost text on line 4, then the user moves up to line 2 and pauses: the answer asked for
    there is shown."""
    sim.script(Rule(path=FIM, text="return a - b", times=1))
    sim.script(Rule(path=FIM, text="return a + b", times=1))
    text = "def add(a, b):\n    \ndef sub(a, b):\n    \n"
    editor = await start_server()
    editor.open(PY, text)
    editor.move_to(text.rindex("    \n") + 4)
    assert (await editor.ghost()).insert_text == "return a - b"
    editor.move_to(text.index("    \n") + 4)
    item = await editor.ghost()
    assert item is not None and item.insert_text == "return a + b"
    assert len(fim_requests(sim)) == 2


async def test_answers_fill_the_cache_and_clear_cache_empties_it(start_server, sim):
    sim.script(Rule(path=FIM, text="return a + b"))
    editor = await start_server()
    editor.open(PY, "def add(a, b):\n    \n")
    editor.move_to(len("def add(a, b):\n    "))
    assert (await editor.command("deepseek.status"))["cacheEntries"] == 0
    assert await editor.ghost() is not None
    assert (await editor.command("deepseek.status"))["cacheEntries"] == 1
    await editor.command("deepseek.clearCache")
    assert (await editor.command("deepseek.status"))["cacheEntries"] == 0
    # nothing is left to answer the same request: neither the cache nor type-ahead
    assert await editor.ghost() is not None
    assert len(fim_requests(sim)) == 2
    status = await editor.command("deepseek.status")
    assert (status["cacheHits"], status["typeAheadHits"]) == (0, 0)


async def test_stream_is_cut_once_the_block_is_complete(start_server, sim):
    # no blank lines, so no stop sequence ends it: the dedented `print` line does
    sim.script(Rule(path=FIM, text="total = a + b\n    return total\n"
                                   + "print(add(1, 2))\n" * 40, chunk_delay_s=0.01))
    editor = await start_server()
    editor.open(PY, "def add(a, b):\n    \n")
    editor.move_to(len("def add(a, b):\n    "))
    item = await editor.ghost()
    assert item is not None
    assert item.insert_text == "total = a + b\n    return total"
    # the answer may be given at its settled first lines, just before the stream is cut
    assert await sim.wait_for_async(lambda reqs: any(r.disconnected for r in reqs), timeout=3)
    status = await editor.command("deepseek.status")
    assert status["earlyStops"] == 1


async def test_keystrokes_typed_while_a_request_is_in_flight_reuse_it(start_server, sim):
    sim.script(Rule(path=FIM, text="total = sum(values)", ttft_s=0.6))
    editor = await start_server()
    editor.open(PY, "values = [1, 2, 3]\n")
    editor.move_to(len(editor.doc.text))
    first = asyncio.ensure_future(editor.ghost())
    assert await sim.wait_for_async(lambda reqs: any(r.path == FIM for r in reqs), timeout=5)
    later = []
    for ch in "tot":
        editor.type(ch)
        later.append(asyncio.ensure_future(editor.ghost()))
        await asyncio.sleep(0.05)
    answers = await asyncio.gather(first, *later)
    assert answers[-1] is not None and answers[-1].insert_text == "al = sum(values)"
    assert len(fim_requests(sim)) == 1
    assert (await editor.command("deepseek.status"))["inFlightHits"] >= 1


async def test_typing_something_else_cancels_the_call_in_flight(start_server, sim):
    sim.script(Rule(path=FIM, text="total = sum(values)", stall_s=5, times=1))
    sim.script(Rule(path=FIM, text="print(values)"))
    editor = await start_server()
    editor.open(PY, "values = [1, 2, 3]\n")
    editor.move_to(len(editor.doc.text))
    first = asyncio.ensure_future(editor.ghost())
    assert await sim.wait_for_async(lambda reqs: any(r.path == FIM for r in reqs), timeout=5)
    editor.move_to(0)  # the cursor moved: the call in flight cannot be used any more
    editor.type("\n")
    await editor.ghost()
    await first
    assert await sim.wait_for_async(
        lambda reqs: next(r for r in reqs if r.path == FIM).disconnected, timeout=3)


async def test_completion_fallback_without_snippet_support_is_plain_text(start_server, sim):
    sim.script(Rule(path=FIM, text='f"cost: ${price}"'))
    plain = lsp.ClientCapabilities(text_document=lsp.TextDocumentClientCapabilities(
        completion=lsp.CompletionClientCapabilities()))
    editor = await start_server(capabilities=plain)
    editor.open(PY, "label = \n")
    editor.move_to(len("label = "))
    result = await editor.client.text_document_completion_async(lsp.CompletionParams(
        text_document=lsp.TextDocumentIdentifier(PY), position=lsp.Position(0, 8)))
    (item,) = result.items
    assert item.insert_text_format == lsp.InsertTextFormat.PlainText
    assert item.text_edit.new_text == 'f"cost: ${price}"'
