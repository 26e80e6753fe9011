"""`deepseek-lsp demo`: an editor session played against the server, printed as an editor shows it.

The server runs as a subprocess over stdio, exactly as editors launch it; the API is the
built-in simulator on loopback (or the real API when DEEPSEEK_API_KEY is set and `--offline`
is not given). `Editor` is a tiny LSP client that types, asks for ghost text and accepts it;
the benchmarks drive the server with it too.
"""

from __future__ import annotations

import difflib
import os
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any, Union

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient

from deepseek_lsp.documents import UTF16, Document

#: What an editor with inline completion (VS Code, Neovim 0.12) declares.
INLINE_CLIENT = lsp.ClientCapabilities(
    text_document=lsp.TextDocumentClientCapabilities(
        inline_completion=lsp.InlineCompletionClientCapabilities(),
        synchronization=lsp.TextDocumentSyncClientCapabilities(),
    ),
    window=lsp.WindowClientCapabilities(work_done_progress=True),
    workspace=lsp.WorkspaceClientCapabilities(
        configuration=True,
        did_change_configuration=lsp.DidChangeConfigurationClientCapabilities(),
    ),
)


class Editor:
    """A scripted LSP client: one open document, a cursor, typing and ghost text.

    Wraps any pygls `LanguageClient` (the tests pass pytest-lsp's); `launch` starts a server.
    """

    messages: list[str]
    progress: list[tuple[Any, Any]]  # ($/progress token, value), when started by `launch`

    def __init__(self, client: LanguageClient) -> None:
        self.client = client
        self.doc: Document | None = None
        self.cursor = 0

    @classmethod
    async def launch(
        cls, env: dict[str, str], *, init_options: dict[str, Any] | None = None
    ) -> tuple[Editor, float]:
        """Start the server over stdio and initialize; also returns `initialize`'s seconds."""
        editor = cls(LanguageClient("deepseek-lsp-demo", "1"))
        editor.messages = []
        editor.client.feature(lsp.WINDOW_SHOW_MESSAGE)(
            lambda params: editor.messages.append(params.message)
        )
        editor.client.feature(lsp.WORKSPACE_CONFIGURATION)(
            lambda params: [{} for _ in params.items]  # no user settings beyond init options
        )
        editor.serve_edits()
        editor.progress = []
        editor.client.feature(lsp.WINDOW_WORK_DONE_PROGRESS_CREATE)(lambda params: None)
        editor.client.feature(lsp.PROGRESS)(
            lambda params: editor.progress.append((params.token, params.value))
        )
        await editor.client.start_io(sys.executable, "-m", "deepseek_lsp", env=env)
        started = time.perf_counter()
        await editor.client.initialize_async(lsp.InitializeParams(
            capabilities=INLINE_CLIENT, root_uri=Path.cwd().as_uri(),
            initialization_options=init_options or {},
        ))
        elapsed = time.perf_counter() - started
        editor.client.initialized(lsp.InitializedParams())
        return editor, elapsed

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()

    def open(self, uri: str, text: str, language_id: str = "python") -> None:
        self.doc = Document(uri, language_id, 1, text)
        self.client.text_document_did_open(lsp.DidOpenTextDocumentParams(
            lsp.TextDocumentItem(uri=uri, language_id=language_id, version=1, text=text)))

    def move_to(self, offset: int) -> None:
        self.cursor = offset

    def type(self, text: str) -> None:
        """Insert `text` at the cursor as one change (one keystroke when it is one character)."""
        assert self.doc is not None
        pos = self.doc.position_at(self.cursor, UTF16)
        self.doc.apply_edit(pos, pos, text, UTF16)
        self._did_change(self.doc, [lsp.TextDocumentContentChangePartial(
            range=lsp.Range(lsp.Position(*pos), lsp.Position(*pos)), text=text)])
        self.cursor += len(text)

    def _did_change(
        self, doc: Document, changes: list[lsp.TextDocumentContentChangePartial]
    ) -> None:
        """Tell the server about edits already applied to `doc` (a new version)."""
        doc.version += 1
        self.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=doc.uri, version=doc.version),
            content_changes=list(changes),
        ))

    async def ghost(self) -> lsp.InlineCompletionItem | None:
        """Ask for ghost text at the cursor."""
        assert self.doc is not None
        result = await self.client.text_document_inline_completion_async(
            lsp.InlineCompletionParams(
                text_document=lsp.TextDocumentIdentifier(self.doc.uri),
                position=lsp.Position(*self.doc.position_at(self.cursor, UTF16)),
                context=lsp.InlineCompletionContext(
                    trigger_kind=lsp.InlineCompletionTriggerKind.Automatic),
            ))
        items = result.items if isinstance(result, lsp.InlineCompletionList) else result or []
        return items[0] if items else None

    def accept(self, item: lsp.InlineCompletionItem) -> None:
        """Apply a suggestion as the editor does on Tab: replace its range with its text."""
        assert self.doc is not None and item.range is not None
        text = item.insert_text if isinstance(item.insert_text, str) else item.insert_text.value
        r = item.range
        start = self.doc.offset_at(r.start.line, r.start.character, UTF16)
        self.doc.apply_edit((r.start.line, r.start.character), (r.end.line, r.end.character),
                            text, UTF16)
        self._did_change(self.doc, [lsp.TextDocumentContentChangePartial(range=r, text=text)])
        self.cursor = start + len(text)

    def serve_edits(self) -> None:
        """Answer `workspace/applyEdit` as an editor does (pytest-lsp's client has no handler).

        Edits to the open document are applied when their version (if given) is the
        document's, and sent back as one `didChange`; anything else is refused.
        """
        self.applied_edits: list[lsp.ApplyWorkspaceEditParams] = []
        self.client.feature(lsp.WORKSPACE_APPLY_EDIT)(
            lambda params: self._apply_workspace_edit(params)
        )

    def _apply_workspace_edit(
        self, params: lsp.ApplyWorkspaceEditParams
    ) -> lsp.ApplyWorkspaceEditResult:
        doc, edit = self.doc, params.edit
        edits: list[lsp.TextEdit | lsp.AnnotatedTextEdit] = []
        for uri, changes in (edit.changes or {}).items():
            if doc is None or uri != doc.uri:
                return lsp.ApplyWorkspaceEditResult(False, f"{uri} is not open")
            edits += changes
        for change in edit.document_changes or []:
            if not isinstance(change, lsp.TextDocumentEdit) or doc is None \
                    or change.text_document.uri != doc.uri:
                return lsp.ApplyWorkspaceEditResult(False, "only edits of the open document")
            if change.text_document.version not in (None, doc.version):
                return lsp.ApplyWorkspaceEditResult(False, "the document's version moved on")
            edits += [e for e in change.edits if not isinstance(e, lsp.SnippetTextEdit)]
        if doc is None or not edits:
            return lsp.ApplyWorkspaceEditResult(False, "nothing to apply")
        edits.sort(key=lambda e: (e.range.start.line, e.range.start.character), reverse=True)
        for e in edits:  # back to front, so earlier ranges stay valid
            r = e.range
            doc.apply_edit((r.start.line, r.start.character), (r.end.line, r.end.character),
                           e.new_text, UTF16)
        self._did_change(doc, [lsp.TextDocumentContentChangePartial(range=e.range, text=e.new_text)
                               for e in edits])
        self.applied_edits.append(params)
        return lsp.ApplyWorkspaceEditResult(applied=True)

    async def command(self, name: str, *args: Any) -> Any:
        return await self.client.workspace_execute_command_async(
            lsp.ExecuteCommandParams(command=name, arguments=list(args)))


# -- printing -------------------------------------------------------------------------------------

_COLOR = sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _grey(text: str) -> str:
    return f"\033[90m{text}\033[0m" if _COLOR else text


def _show_ghost(editor: Editor, item: lsp.InlineCompletionItem | None, title: str) -> None:
    assert editor.doc is not None
    text = editor.doc.text
    line_start = text.rfind("\n", 0, editor.cursor) + 1
    print(f"\n── {title}")
    if item is None:
        print("   (no suggestion)")
        return
    ghost = item.insert_text if isinstance(item.insert_text, str) else item.insert_text.value
    assert item.range is not None
    end = editor.doc.offset_at(item.range.end.line, item.range.end.character, UTF16)
    line_end = text.find("\n", end)
    rest = text[end : len(text) if line_end < 0 else line_end]
    shown = text[line_start : editor.cursor] + _grey(ghost) + rest
    for line in shown.split("\n"):
        print(f"   │ {line}")
    if end > editor.cursor:
        print(f"   (replaces the auto-closed {text[editor.cursor:end]!r} instead of repeating it)")


async def run_demo(*, offline: bool) -> int:
    from deepseek_lsp.simulator import SimulatorThread

    use_api = bool(os.environ.get("DEEPSEEK_API_KEY")) and not offline
    sim = None
    env = dict(os.environ)
    if not use_api:
        sim = SimulatorThread(ttft_ms=150, tokens_per_s=80)
        sim.start()
        env.update(DEEPSEEK_API_KEY="sk-demo-offline", DEEPSEEK_BASE_URL=sim.base_url)
    where = "the real DeepSeek API" if use_api else f"the built-in simulator at {sim.base_url}"
    print(f"deepseek-lsp demo — an editor session over LSP against {where}")
    sample = resources.files("deepseek_lsp.samples").joinpath("inventory.py").read_text("utf-8")
    editor, init_s = await Editor.launch(env, init_options={"debounceMs": 50})
    try:
        print(f"server started; initialize answered in {init_s * 1000:.0f} ms")
        editor.open("file:///demo/inventory.py", sample)
        editor.move_to(len(sample))

        editor.type("def average(prices: list[float]) -> float:\n    ")
        item = await editor.ghost()
        _show_ghost(editor, item, "ghost text after typing a function header")

        if item is not None:
            ghost = str(item.insert_text)
            typed = ghost[: min(6, len(ghost) - 1)]
            before = (await editor.command("deepseek.status"))
            for ch in typed:
                editor.type(ch)
                item = await editor.ghost()
            after = (await editor.command("deepseek.status"))
            _show_ghost(editor, item, f"typing through the suggestion ({typed!r}, "
                        f"{len(typed)} keystrokes)")
            print(f"   upstream requests while typing through: "
                  f"{_get(after, 'upstreamRequests') - _get(before, 'upstreamRequests')}")
            if item is not None:
                editor.accept(item)
                print("── Tab: suggestion accepted")

        editor.type("\n\n\nprint(")
        editor.type(")")  # the editor auto-closes the bracket
        editor.move_to(editor.cursor - 1)
        item = await editor.ghost()
        _show_ghost(editor, item, "inside an auto-closed call")
        if item is not None:
            editor.accept(item)

        assert editor.doc is not None
        print("\n── the file now ends with:")
        for line in editor.doc.text.rstrip("\n").split("\n")[-8:]:
            print(f"   │ {line}")

        await _code_action_and_chat(editor)

        status = await editor.command("deepseek.status")
        _print_status(status)
        for message in editor.messages:
            print(f"   editor message: {message}")
    finally:
        await editor.stop()
        if sim is not None:
            sim.stop()
    return 0


def _range(doc: Document, start: int, end: int) -> lsp.Range:
    return lsp.Range(lsp.Position(*doc.position_at(start, UTF16)),
                     lsp.Position(*doc.position_at(end, UTF16)))


def _structure_code_actions_as_sent(client: LanguageClient) -> None:
    """lsprotocol reads a `CodeAction` that carries a command as a `Command`; tell them apart."""
    converter = client.protocol._converter
    either = Union[lsp.Command, lsp.CodeAction]  # noqa: UP007 (the exact type lsprotocol uses)
    converter.register_structure_hook(either, lambda obj, _t: converter.structure(
        obj, lsp.Command if isinstance(obj.get("command"), str) else lsp.CodeAction))


async def _code_action_and_chat(editor: Editor) -> None:
    """One code action (a guarded documentation edit, shown as a diff) and one chat answer."""
    doc = editor.doc
    assert doc is not None
    _structure_code_actions_as_sent(editor.client)
    start = doc.text.index("@dataclass\nclass Item:")
    end = doc.text.index("\n\n\n", start) + 1
    actions = await editor.client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(doc.uri), range=_range(doc, start, end),
        context=lsp.CodeActionContext(diagnostics=[])))
    actions = [a for a in actions or [] if isinstance(a, lsp.CodeAction)]
    print("\n── code actions on the selected `Item` class:")
    print("   " + " · ".join(a.title for a in actions))
    action = next((a for a in actions if a.title == "DeepSeek: Add documentation"), None)
    if action is not None and action.command is not None:
        before = doc.text
        result = await editor.command(action.command.command, *(action.command.arguments or []))
        print(f"── {action.title}: "
              + ("applied (the document was still at the version the action saw)"
                 if _get(result, "applied") else f"not applied: {_get(result, 'reason')}"))
        diff = difflib.unified_diff(before.split("\n"), doc.text.split("\n"), lineterm="", n=1)
        for line in list(diff)[2:]:
            print(f"   │ {line}")

    question = "How could total_value skip items with a negative quantity?"
    start = doc.text.index("def total_value")
    end = doc.text.index("\n\n\n", start) + 1
    editor.progress.clear()
    shown = len(editor.messages)
    started = time.perf_counter()
    (sl, sc), (el, ec) = doc.position_at(start, UTF16), doc.position_at(end, UTF16)
    result = await editor.command("deepseek.chat", {
        "question": question, "uri": doc.uri,
        "range": {"start": {"line": sl, "character": sc}, "end": {"line": el, "character": ec}},
    })
    elapsed = time.perf_counter() - started
    reports = [v for _, v in editor.progress if _get(v, "kind") == "report"]
    print(f"\n── deepseek.chat: {question}")
    print(f"   (streamed as {len(reports)} $/progress reports, {elapsed:.1f} s, "
          f"model {_get(result, 'model')})")
    for line in str(_get(result, "content")).strip().split("\n"):
        print(f"   │ {line}")
    del editor.messages[shown:]  # a client without showDocument also got it as a message


def _get(status: Any, key: str) -> Any:
    return status.get(key) if isinstance(status, dict) else getattr(status, key, None)


def _print_status(status: Any) -> None:
    print("\n── deepseek.status")
    rows = [
        ("completion requests from the editor", "completionRequests"),
        ("upstream API requests", "upstreamRequests"),
        ("answered by type-ahead", "typeAheadHits"),
        ("answered from cache", "cacheHits"),
        ("prompt tokens (cache hit / miss)", None),
        ("completion tokens", "completionTokens"),
        ("estimated cost", None),
        ("model", "model"),
    ]
    for label, key in rows:
        if key is not None:
            value = _get(status, key)
        elif label.startswith("prompt"):
            value = (f"{_get(status, 'promptCacheHitTokens')} / "
                     f"{_get(status, 'promptCacheMissTokens')}")
        else:
            value = f"{_get(status, 'estimatedCost'):.6f} {_get(status, 'currency')}"
        print(f"   {label:<38} {value}")
