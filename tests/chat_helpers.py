"""Helpers for the chat end-to-end tests: a chat-capable client, commands, waiting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Union

from lsprotocol import types as lsp

from deepseek_lsp.demo import INLINE_CLIENT, Editor

CHAT = "/chat/completions"

#: An editor like VS Code: progress, showDocument, versioned workspace edits.
CHAT_CLIENT = lsp.ClientCapabilities(
    text_document=INLINE_CLIENT.text_document,
    window=lsp.WindowClientCapabilities(
        work_done_progress=True, show_document=lsp.ShowDocumentClientCapabilities(support=True)),
    workspace=lsp.WorkspaceClientCapabilities(
        apply_edit=True,
        workspace_edit=lsp.WorkspaceEditClientCapabilities(document_changes=True)),
)

#: A bare client: no progress, no showDocument, unversioned edits.
BARE_CLIENT = lsp.ClientCapabilities(
    workspace=lsp.WorkspaceClientCapabilities(apply_edit=True))


async def chat_editor(start_server: Any, uri: str | None = None, text: str = "",
                      language_id: str = "python", **kw: Any) -> Editor:
    """A started server with an editor that applies edits, and `text` open at `uri`."""
    kw.setdefault("capabilities", CHAT_CLIENT)
    editor = await start_server(**kw)
    editor.serve_edits()
    _structure_code_actions_as_sent(editor)
    _record_raw_progress(editor)
    if uri is not None:
        editor.open(uri, text, language_id)
    return editor


def _structure_code_actions_as_sent(editor: Editor) -> None:
    """lsprotocol structures a `CodeAction` with a command as a `Command` (FACTS.md), which
    loses its kind; tell the client's converter to tell them apart by the type of `command`."""
    converter = editor.client.protocol._converter
    either = Union[lsp.Command, lsp.CodeAction]  # noqa: UP007 (the exact type lsprotocol uses)

    def structure(obj: Any, _type: Any) -> Any:
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, lsp.Command)
        return converter.structure(obj, lsp.CodeAction)

    converter.register_structure_hook(either, structure)


def _record_raw_progress(editor: Editor) -> None:
    """Keep `$/progress` values as sent: pytest-lsp structures them, dropping extra keys."""
    editor.raw_progress = []  # type: ignore[attr-defined]
    features = editor.client.protocol.fm.features
    original = features[lsp.PROGRESS]

    def record(params: lsp.ProgressParams) -> Any:
        editor.raw_progress.append((params.token, params.value))  # type: ignore[attr-defined]
        return original(params)

    features[lsp.PROGRESS] = record


def selection(editor: Editor, start: int, end: int) -> dict[str, Any]:
    """The `{uri, range}` argument for offsets of the editor's document."""
    assert editor.doc is not None
    (sl, sc), (el, ec) = editor.doc.position_at(start, "utf-16"), \
        editor.doc.position_at(end, "utf-16")
    return {"uri": editor.doc.uri, "range": {"start": {"line": sl, "character": sc},
                                             "end": {"line": el, "character": ec}}}


def of_text(editor: Editor, part: str) -> dict[str, Any]:
    """The selection of the first occurrence of `part` in the document."""
    assert editor.doc is not None
    start = editor.doc.text.index(part)
    return selection(editor, start, start + len(part))


async def wait_until(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll `check` until it is truthy (the server and the simulator run elsewhere)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def wait_for_status(editor: Editor, check: Callable[[dict[str, Any]], Any],
                          timeout: float = 5.0) -> dict[str, Any]:
    """Ask `deepseek.status` until `check` holds for it (a settings change is applied once
    the server has pulled `workspace/configuration`); returns that status."""
    deadline = time.monotonic() + timeout
    while True:
        status = await editor.command("deepseek.status")
        if check(status):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"status never matched: {status}")
        await asyncio.sleep(0.02)


def progress_kinds(editor: Editor, token: Any) -> list[str]:
    return [v.kind for v in editor.client.progress_reports.get(token, [])]


def messages_text(editor: Editor) -> str:
    return "\n".join(m.message for m in editor.client.messages)


def content_requests(sim: Any) -> list[Any]:
    """What the simulator was sent beside the server's warm-up `GET /models` (made at
    `initialized`; it carries no content)."""
    return [r for r in sim.requests() if r.path != "/models"]
