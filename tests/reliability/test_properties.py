"""Incremental edits with arbitrary Unicode, positions anywhere: the server sees what the editor
shows (SPEC §1: incremental sync, negotiated position encodings).

The editor's side is modelled here from the LSP specification alone (`ClientText`): lines end
at `\\n`, `\\r\\n` or a lone `\\r` and nowhere else (not at U+2028, NEL or form feed); a
character offset counts UTF-16 code units, UTF-8 bytes or code points as negotiated; one past
the end of a line means the end of the line, and one inside a surrogate pair or a UTF-8
sequence means the start of that character. Random edits go through the real document store
in-process (hundreds of examples), and through a running server over stdio (a few dozen per
encoding), where the server's view is read back from the FIM request it sends to the
simulator: prompt = header + everything before the cursor, suffix = everything after.
(Context building and post-processing have their own properties in
tests/test_completion_properties.py.)
"""

from __future__ import annotations

import asyncio
import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types as lsp

from deepseek_lsp.completion.context import header_line
from deepseek_lsp.demo import INLINE_CLIENT, Editor
from deepseek_lsp.documents import DocumentStore

from .support import launch, stop

ENCODINGS = ("utf-16", "utf-8", "utf-32")
_BREAK = re.compile(r"\r\n|\r|\n")

#: Pieces chosen for trouble: astral characters (surrogate pairs in UTF-16, four UTF-8 bytes),
#: combining marks, every line ending, tabs, and characters other tools take for line breaks.
PIECES = ["a", "Z", "_", " ", "\t", "\n", "\r\n", "\r", "é", "e\u0301", "\u0301\u0308", "中",
          "😀", "𝒳", "👩\u200d💻", "🇫🇷", "\u2028", "\x85", "\x0c", "\x0b", "(", ")", "{", "}",
          '"', "'", "\\", "#", "=", ":", ".", "sk-"]
#: ... mixed with any code point but lone surrogates (no editor holds those).
pieces = st.one_of(st.sampled_from(PIECES), st.characters(exclude_categories=("Cs",)))
texts = st.lists(pieces, max_size=60).map("".join)
short_texts = st.lists(pieces, max_size=12).map("".join)


class ClientText:
    """The editor's copy of a document, following the LSP specification."""

    def __init__(self, text: str, encoding: str) -> None:
        self.text = text
        self.encoding = encoding

    def lines(self) -> list[tuple[int, int]]:
        """(start, end before the line ending) of every line."""
        spans, start = [], 0
        for m in _BREAK.finditer(self.text):
            spans.append((start, m.start()))
            start = m.end()
        spans.append((start, len(self.text)))
        return spans

    def width(self, ch: str) -> int:
        if self.encoding == "utf-8":
            return len(ch.encode("utf-8"))
        if self.encoding == "utf-16":
            return len(ch.encode("utf-16-le")) // 2
        return 1

    def line_units(self, line: int) -> int:
        start, end = self.lines()[line]
        return sum(self.width(ch) for ch in self.text[start:end])

    def offset(self, line: int, character: int) -> int:
        spans = self.lines()
        if line >= len(spans):
            return len(self.text)
        start, end = spans[line]
        used = 0
        for index in range(start, end):
            used += self.width(self.text[index])
            if used > character:
                return index
        return end

    def position(self, offset: int) -> tuple[int, int]:
        for line, (start, end) in enumerate(self.lines()):
            if offset <= end:
                return line, sum(self.width(ch) for ch in self.text[start:offset])
        raise AssertionError("offset inside a line ending")

    def edit(self, start: tuple[int, int], end: tuple[int, int], new: str) -> None:
        a, b = self.offset(*start), self.offset(*end)
        self.text = self.text[:a] + new + self.text[b:]


def positions(text: ClientText, *, past_end: bool = True) -> st.SearchStrategy[tuple[int, int]]:
    """Any position: often inside the text, sometimes past a line's end or the last line."""
    count = len(text.lines())
    lines = st.integers(0, count + 1) if past_end else st.integers(0, count - 1)

    def characters(line: int) -> st.SearchStrategy[tuple[int, int]]:
        units = text.line_units(line) if line < count else 0
        return st.integers(0, units + 4).map(lambda c: (line, c))

    return lines.flatmap(characters)


@st.composite
def edits(draw: Any, text: ClientText) -> tuple[tuple[int, int], tuple[int, int], str]:
    p, q = sorted([draw(positions(text)), draw(positions(text))])
    return p, q, draw(short_texts)


# -- the document store, in-process ---------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(texts, st.sampled_from(ENCODINGS), st.data())
def test_document_store_follows_the_editor(initial: str, encoding: str, data: Any) -> None:
    client = ClientText(initial, encoding)
    store = DocumentStore()
    doc = store.open("file:///w/a.py", "python", 1, initial)
    for _ in range(data.draw(st.integers(0, 8), label="edits")):
        start, end, new = data.draw(edits(client), label="edit")
        client.edit(start, end, new)
        doc.apply_edit(start, end, new, encoding)
        assert doc.text == client.text
    assert doc.line_count() == len(client.lines())
    for line, character in data.draw(st.lists(positions(client, past_end=False), max_size=6)):
        assert doc.offset_at(line, character, encoding) == client.offset(line, character)
    for line, (start, end) in enumerate(client.lines()):
        for offset in {start, end, (start + end) // 2}:
            assert doc.position_at(offset, encoding) == client.position(offset)
        assert doc.line_text(line) == client.text[start:end]


# -- through the server ---------------------------------------------------------------------------


@dataclass
class Session:
    runner: asyncio.Runner
    editor: Editor
    encoding: str
    root: Path
    names: itertools.count


@pytest.fixture(scope="module")
def sessions(sim_session: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One server per position encoding, on an event loop of this module's own."""
    sim_session.reset()
    sim_session.configure(generation="v4", api_key=None, ttft_ms=0, tokens_per_s=0)
    runner = asyncio.Runner()
    opened: dict[str, Session] = {}
    try:
        for encoding in ENCODINGS:
            root = tmp_path_factory.mktemp(f"props-{encoding}")
            capabilities = lsp.ClientCapabilities(
                text_document=INLINE_CLIENT.text_document, window=INLINE_CLIENT.window,
                general=lsp.GeneralClientCapabilities(position_encodings=[encoding]))
            editor = runner.run(launch(
                sim_session.base_url, root, capabilities=capabilities,
                init_options={"redactSecrets": False, "neighborFiles": False}))
            assert editor.server_capabilities.position_encoding == encoding  # type: ignore
            opened[encoding] = Session(runner, editor, encoding, root, itertools.count())
        yield opened
    finally:
        for session in opened.values():
            runner.run(stop(session.editor))
        runner.close()


def fim_requests_for(sim: Any, path: str) -> list[Any]:
    """The FIM requests made for the file at `path` (named in the prompt's first line)."""
    return [r for r in sim.requests("/beta/completions")
            if path in r.json.get("prompt", "").split("\n", 1)[0]]


async def ask_at(session: Session, sim: Any, uri: str, name: str,
                 position: tuple[int, int]) -> Any:
    """Ask for ghost text at `position`; the FIM request it caused, if any."""
    before = len(fim_requests_for(sim, name))
    await asyncio.wait_for(session.editor.client.text_document_inline_completion_async(
        lsp.InlineCompletionParams(
            text_document=lsp.TextDocumentIdentifier(uri), position=lsp.Position(*position),
            context=lsp.InlineCompletionContext(
                trigger_kind=lsp.InlineCompletionTriggerKind.Automatic))), 10)
    made = fim_requests_for(sim, name)[before:]
    assert len(made) <= 2
    if len(made) == 2:  # the first answer only ended the line: the next line was asked for
        first, then = made[0].json["prompt"], made[1].json["prompt"]
        assert then[len(first):] in ("\n", "\r\n") and then.startswith(first)
    return made[0] if made else None


async def server_roundtrip(session: Session, sim: Any, initial: str,
                           changes: list[Any], anywhere: tuple[int, int] | None,
                           client: ClientText) -> None:
    client_api = session.editor.client
    name = f"p{next(session.names)}.py"
    uri = (session.root / name).as_uri()
    header = header_line(name, "python")
    client_api.text_document_did_open(lsp.DidOpenTextDocumentParams(
        lsp.TextDocumentItem(uri=uri, language_id="python", version=1, text=initial)))
    for version, change in enumerate(changes, start=2):
        client_api.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[change]))

    def expect(request: Any, offset: int) -> None:
        assert request.json["prompt"] == header + client.text[:offset]
        assert request.json.get("suffix") == (client.text[offset:] or None)

    if anywhere is not None:  # any cursor: if the server asks, it asks about the right text
        request = await ask_at(session, sim, uri, name, anywhere)
        if request is not None:
            expect(request, client.offset(*anywhere))
        await session.editor.command("deepseek.clearCache")  # no type-ahead between the two

    # The end of a line (the character past it) always asks: nothing is right of the cursor.
    # Lines that end with a lone CR are left out: the context builder looks for `\n` only.
    spans = client.lines()
    ends = [i for i, (_, end) in enumerate(spans)
            if end == len(client.text) or client.text[end] == "\n"
            or client.text.startswith("\r\n", end)]
    line = ends[len(client.text) % len(ends)]
    cursor = (line, client.line_units(line) + len(changes) % 3)
    request = await ask_at(session, sim, uri, name, cursor)
    if request is None:
        status = await session.editor.command("deepseek.status")
        raise AssertionError(f"no FIM request at the end of a line ({status})")
    expect(request, spans[line][1])
    client_api.text_document_did_close(lsp.DidCloseTextDocumentParams(
        lsp.TextDocumentIdentifier(uri)))


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_the_server_sees_what_the_editor_shows(sessions: Any, sim_session: Any,
                                               encoding: str) -> None:
    session = sessions[encoding]

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(texts, st.data())
    def check(initial: str, data: Any) -> None:
        client = ClientText(initial, encoding)
        changes: list[Any] = []
        for _ in range(data.draw(st.integers(0, 6), label="edits")):
            if data.draw(st.integers(0, 9), label="whole") == 0:  # sometimes the whole text
                new = data.draw(texts, label="text")
                client.text = new
                changes.append(lsp.TextDocumentContentChangeWholeDocument(text=new))
                continue
            start, end, new = data.draw(edits(client), label="edit")
            client.edit(start, end, new)
            changes.append(lsp.TextDocumentContentChangePartial(
                range=lsp.Range(lsp.Position(*start), lsp.Position(*end)), text=new))
        anywhere = data.draw(st.one_of(st.none(), positions(client, past_end=False)),
                             label="cursor")
        session.runner.run(server_roundtrip(session, sim_session, initial, changes, anywhere,
                                            client))

    check()
