"""The language server, and the table of contents of the product: every LSP feature and
every `deepseek.*` command is registered here, each by one short handler.

Capabilities are declared here, in one place: incremental sync, inline completion
(LSP 3.18), completion as a fallback for clients without inline completion, code actions and
commands. Handlers convert LSP positions to offsets, call plain functions (the completion
engine, `lsp_chat.ChatCommands` over the chat modules) and convert back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Generator, Iterator
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.uris import to_fs_path

from deepseek_lsp import __version__
from deepseek_lsp.api.backend import ApiBackend
from deepseek_lsp.chat.actions import ACTIONS, Action
from deepseek_lsp.completion.context import Neighbor
from deepseek_lsp.completion.engine import CompletionAnswer, CompletionEngine, CompletionQuery
from deepseek_lsp.config import SettingProblem, Settings, env_layer, load_settings
from deepseek_lsp.documents import Document, DocumentStore, InvalidPositionError
from deepseek_lsp.logging_setup import redact_key
from deepseek_lsp.lsp_chat import CODE_ACTION_OPTIONS, COMMAND_WORK_DONE_TOKEN, ChatCommands
from deepseek_lsp.privacy import real_paths
from deepseek_lsp.rpc import RpcGuard
from deepseek_lsp.stats import Stats

log = logging.getLogger(__name__)

SETTINGS_WAIT_S = 3.0


class DeepSeekProtocol(RpcGuard, LanguageServerProtocol):
    """Keeps open documents in our own store (fast incremental edits) instead of pygls's,
    and hands commands their request's progress token. `RpcGuard` answers malformed
    messages (deepseek_lsp/rpc.py)."""

    _server: DeepSeekLanguageServer

    @lsp_method(lsp.WORKSPACE_EXECUTE_COMMAND)
    def lsp_workspace__execute_command(
        self, params: lsp.ExecuteCommandParams
    ) -> Generator[Any, Any, Any]:
        COMMAND_WORK_DONE_TOKEN.set(params.work_done_token)
        return (yield from super().lsp_workspace__execute_command(params))

    @lsp_method(lsp.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: lsp.DidOpenTextDocumentParams) -> None:
        item = params.text_document
        self._server.documents.open(item.uri, item.language_id, item.version, item.text)
        self._server.resolve_real_paths(item.uri)

    @lsp_method(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: lsp.DidChangeTextDocumentParams) -> None:
        self._server.apply_changes(params)

    @lsp_method(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: lsp.DidCloseTextDocumentParams) -> None:
        self._server.documents.close(params.text_document.uri)
        self._server.forget_real_paths(params.text_document.uri)
        self._server.engine.forget_document(params.text_document.uri)


class DeepSeekLanguageServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("deepseek-lsp", __version__, protocol_cls=DeepSeekProtocol)
        self.documents = DocumentStore()
        self._real_paths: dict[str, tuple[str, ...]] = {}  # of open documents, by URI
        self.settings = Settings()
        self._layers: dict[str, dict[str, Any]] = {"env": env_layer()}
        self._reported: set[SettingProblem] = set()
        self._unshown: list[SettingProblem] = []
        self._client_ready = False  # window/showMessage can reach the client
        self.settings = self._merge_settings()
        self.stats = Stats()
        #: Set once the first `workspace/configuration` answer is in (or there is none to
        #: wait for): a key that arrives only that way must not look missing before then.
        self.settings_ready = asyncio.Event()
        self.backend = ApiBackend(lambda: self.settings)
        self.engine = CompletionEngine(
            self.backend, lambda: self.settings, stats=self.stats, notify=self.show_error
        )
        self.chat = ChatCommands(self)
        self._warming: asyncio.Future[None] | None = None

    # -- settings ---------------------------------------------------------------------------

    def _merge_settings(self) -> Settings:
        order = ("env", "init", "workspace")
        settings, problems = load_settings(self._layers.get(k) for k in order)
        # only the problems of the settings as they are now (a later layer may fix one)
        self._unshown = [p for p in problems if p not in self._reported]
        self.show_setting_problems()
        redact_key(settings.api_key)
        return settings

    def show_setting_problems(self) -> None:
        """Tell the user of each new settings problem once, as soon as the client is there
        (problems of the environment are found before it is)."""
        if not self._client_ready:
            return
        for problem in self._unshown:
            self._reported.add(problem)
            self.show_message(problem.message, lsp.MessageType.Warning)
        self._unshown.clear()

    def update_settings(self, layer: str, values: Any) -> None:
        self._layers[layer] = values if isinstance(values, dict) else {}
        old = self.settings
        self.settings = self._merge_settings()
        if self.settings != old:
            log.info("settings changed: %r", self.settings)
            self.engine.settings_changed()
            self.backend.settings_changed()
            if self.settings_ready.is_set():
                self.warm()

    def warm(self) -> None:
        """Warm the API connection in the background (never delays a request)."""
        self._warming = asyncio.ensure_future(self.backend.warm(self.settings))

    async def wait_for_settings(self) -> None:
        """Wait (briefly) for the client's first configuration answer."""
        if not self.settings_ready.is_set():
            try:
                await asyncio.wait_for(self.settings_ready.wait(), SETTINGS_WAIT_S)
            except TimeoutError:  # a client that never answers: stop waiting for it
                self.settings_ready.set()

    async def pull_configuration(self) -> None:
        """Ask the client for the `deepseek` section (when it supports workspace/configuration)."""
        workspace = self.client_capabilities.workspace
        if not (workspace and workspace.configuration):
            return
        try:
            result = await asyncio.wait_for(
                self.workspace_configuration_async(
                    lsp.ConfigurationParams(items=[lsp.ConfigurationItem(section="deepseek")])
                ),
                timeout=10,
            )
        except Exception as error:  # a client that fails this request keeps working
            log.warning("workspace/configuration failed: %s", type(error).__name__)
            return
        if result and isinstance(result[0], dict):
            self.update_settings("workspace", result[0])

    # -- messages -----------------------------------------------------------------------------

    def show_message(self, message: str, kind: lsp.MessageType = lsp.MessageType.Info) -> None:
        try:
            self.window_show_message(lsp.ShowMessageParams(type=kind, message=message))
        except Exception:  # before initialize there is no writer
            log.warning("%s", message)

    def show_error(self, message: str) -> None:
        self.show_message(message, lsp.MessageType.Error)

    # -- documents ------------------------------------------------------------------------------

    @property
    def encoding(self) -> str:
        encoding = self.workspace.position_encoding or lsp.PositionEncodingKind.Utf16
        # a str-valued enum: str() would give its name, not "utf-16"
        return encoding.value if isinstance(encoding, lsp.PositionEncodingKind) else encoding

    def apply_changes(self, params: lsp.DidChangeTextDocumentParams) -> None:
        """Apply an edit to the document and tell the engine (where the edit ended is where
        the cursor most likely is: it feeds type-ahead and the typing rhythm)."""
        doc = self.documents.get(params.text_document.uri)
        if doc is None:
            log.warning("change for a document that is not open: %s", params.text_document.uri)
            return
        cursor = 0
        for change in params.content_changes:
            if isinstance(change, lsp.TextDocumentContentChangePartial):
                r = change.range
                doc.apply_edit(
                    (r.start.line, r.start.character), (r.end.line, r.end.character),
                    change.text, self.encoding,
                )
                start = doc.offset_at(r.start.line, r.start.character, self.encoding)
                cursor = start + len(change.text)
            else:
                doc.replace_all(change.text, params.text_document.version)
                cursor = len(doc.text)
        doc.version = params.text_document.version
        self.documents.touch(doc.uri)
        self.engine.document_changed(CompletionQuery(
            uri=doc.uri, version=doc.version, text=doc.text, offset=cursor,
            path=self.relative_path(doc.uri), language_id=doc.language_id,
            real_paths=self.real_paths(doc.uri)))
        self.backend.keep_warm()

    def relative_path(self, uri: str) -> str:
        path = to_fs_path(uri) or uri
        for folder in [*self.workspace.folders.values()]:
            root = to_fs_path(folder.uri)
            if root and path.startswith(root.rstrip("/") + "/"):
                return path[len(root.rstrip("/")) + 1 :]
        root = self.workspace.root_path
        if root and path.startswith(root.rstrip("/") + "/"):
            return path[len(root.rstrip("/")) + 1 :]
        return path

    def resolve_real_paths(self, uri: str) -> None:
        """Resolve an opened document's absolute and symlink-resolved paths, which `exclude`
        judges too, once: resolving reads the filesystem (~0.1 ms), too slow per keystroke."""
        self._real_paths[uri] = real_paths(to_fs_path(uri))

    def forget_real_paths(self, uri: str) -> None:
        self._real_paths.pop(uri, None)

    def real_paths(self, uri: str) -> tuple[str, ...]:
        """The absolute and symlink-resolved paths of `uri` (resolved at didOpen)."""
        known = self._real_paths.get(uri)
        return known if known is not None else real_paths(to_fs_path(uri))

    def neighbors(self, doc: Document) -> Iterator[Neighbor]:
        """The other open documents of the language, most recently used first, made lazily:
        the context builder takes the first few it may send (`completion/context.py`)."""
        if not self.settings.neighbor_files:
            return
        for other in self.documents.all():
            if other.uri != doc.uri and other.language_id == doc.language_id:
                yield Neighbor(path=self.relative_path(other.uri),
                               language_id=other.language_id, text=other.text,
                               real_paths=self.real_paths(other.uri))

    def query(self, uri: str, position: lsp.Position) -> tuple[Document, CompletionQuery] | None:
        """The completion query for a position, or None for unknown documents/bad positions."""
        doc = self.documents.get(uri)
        if doc is None:
            return None
        try:
            offset = doc.offset_at(position.line, position.character, self.encoding, strict=True)
        except InvalidPositionError:
            return None
        q = CompletionQuery(
            uri=uri, version=doc.version, text=doc.text, offset=offset,
            path=self.relative_path(uri), language_id=doc.language_id,
            neighbors=self.neighbors(doc), real_paths=self.real_paths(uri),
        )
        return doc, q

    async def suggest(
        self, uri: str, position: lsp.Position, *, invoked: bool = False
    ) -> tuple[Document, list[CompletionAnswer]] | None:
        """The engine's answers at a position (several when the user `invoked` the request
        explicitly); None for unknown documents or bad positions."""
        self.stats.completion_requests += 1  # on receipt: one cancelled while settings load counts
        await self.wait_for_settings()
        found = self.query(uri, position)
        if found is None:
            return None
        doc, query = found
        if invoked:
            return doc, await self.engine.alternatives(query)
        answer = await self.engine.complete(query)
        return doc, [answer] if answer is not None else []

    def to_range(self, doc: Document, start: int, end: int) -> lsp.Range:
        sl, sc = doc.position_at(start, self.encoding)
        el, ec = doc.position_at(end, self.encoding)
        return lsp.Range(lsp.Position(sl, sc), lsp.Position(el, ec))

    def supports_snippets(self) -> bool:
        td = self.client_capabilities.text_document
        item = td.completion.completion_item if td and td.completion else None
        return bool(item and item.snippet_support)

    def supports_inline_completion(self) -> bool:
        td = self.client_capabilities.text_document
        return bool(td and td.inline_completion is not None)


server = DeepSeekLanguageServer()


# -- lifecycle ----------------------------------------------------------------------------------


@server.feature(lsp.INITIALIZE)
def initialize(ls: DeepSeekLanguageServer, params: lsp.InitializeParams) -> None:
    """Take settings from initializationOptions; no network here (initialize must be fast)."""
    ls._client_ready = True
    ls.update_settings("init", params.initialization_options)
    ls.show_setting_problems()


@server.feature(lsp.INITIALIZED)
async def initialized(ls: DeepSeekLanguageServer, _params: lsp.InitializedParams) -> None:
    """Pull the `deepseek` configuration section, then warm the API connection (model
    discovery and TCP/TLS) so the first suggestion does not pay for them."""
    try:
        await ls.pull_configuration()
    finally:
        ls.settings_ready.set()
    ls.warm()


@server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(
    ls: DeepSeekLanguageServer, params: lsp.DidChangeConfigurationParams
) -> None:
    """Settings pushed by the client, then pulled again (clients differ in which they do)."""
    if isinstance(params.settings, dict) and isinstance(params.settings.get("deepseek"), dict):
        ls.update_settings("workspace", params.settings["deepseek"])
    await ls.pull_configuration()


@server.feature(lsp.SHUTDOWN)
async def shutdown(ls: DeepSeekLanguageServer, _params: None) -> None:
    """Close the HTTP connections (a warm-up still running is cancelled first)."""
    if ls._warming is not None:
        ls._warming.cancel()
    await ls.backend.aclose()


# -- completions --------------------------------------------------------------------------------


@server.feature(lsp.TEXT_DOCUMENT_INLINE_COMPLETION, lsp.InlineCompletionOptions())
async def inline_completion(
    ls: DeepSeekLanguageServer, params: lsp.InlineCompletionParams
) -> lsp.InlineCompletionList | None:
    """Ghost text at the cursor: one suggestion, or up to three when the user asked."""
    invoked = params.context.trigger_kind == lsp.InlineCompletionTriggerKind.Invoked
    found = await ls.suggest(params.text_document.uri, params.position, invoked=invoked)
    if found is None:
        return None
    doc, answers = found
    return lsp.InlineCompletionList(items=[
        lsp.InlineCompletionItem(insert_text=a.text, range=ls.to_range(doc, a.start, a.end))
        for a in answers])


@server.feature(
    lsp.TEXT_DOCUMENT_COMPLETION,
    lsp.CompletionOptions(trigger_characters=[".", "(", "[", "{", ",", " ", "\n"]),
)
async def completion(
    ls: DeepSeekLanguageServer, params: lsp.CompletionParams
) -> lsp.CompletionList | None:
    """The suggestion as a completion item, for clients without inline completion."""
    if ls.supports_inline_completion():
        return lsp.CompletionList(is_incomplete=False, items=[])
    found = await ls.suggest(params.text_document.uri, params.position)
    if found is None:
        return None
    doc, answers = found
    return lsp.CompletionList(is_incomplete=True,
                              items=[completion_item(ls, doc, a) for a in answers])


def completion_item(
    ls: DeepSeekLanguageServer, doc: Document, answer: CompletionAnswer
) -> lsp.CompletionItem:
    """An item that inserts the whole suggestion and survives the client's prefix filtering.

    The edit starts at the beginning of the word before the cursor, so the filter text is
    that word plus the suggestion: what the user keeps typing still matches. It is an
    (escaped) snippet where the client takes snippets, because some clients (Neovim 0.11)
    insert only the first word of plain text; plain text elsewhere (eglot without yasnippet).
    """
    start = answer.start
    while start > 0 and (doc.text[start - 1].isalnum() or doc.text[start - 1] == "_"):
        start -= 1
    word = doc.text[start : answer.start]
    new_text = word + answer.text
    shown = next((line.strip() for line in answer.text.splitlines() if line.strip()), "")
    # a next-line suggestion (it starts with the line break) is labelled as one
    label = f"↵ {shown}" if answer.text.startswith(("\n", "\r")) else word + shown
    snippets = ls.supports_snippets()
    return lsp.CompletionItem(
        label=label[:80],
        kind=lsp.CompletionItemKind.Snippet,
        detail="DeepSeek",
        documentation=new_text,
        filter_text=new_text,
        sort_text="0",
        preselect=True,
        insert_text_format=lsp.InsertTextFormat.Snippet if snippets
        else lsp.InsertTextFormat.PlainText,
        insert_text_mode=lsp.InsertTextMode.AsIs,
        text_edit=lsp.TextEdit(range=ls.to_range(doc, start, answer.end),
                               new_text=escape_snippet(new_text) if snippets else new_text),
    )


def escape_snippet(text: str) -> str:
    return text.replace("\\", "\\\\").replace("$", "\\$").replace("}", "\\}")


# -- code actions and chat ---------------------------------------------------------------------


@server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION, CODE_ACTION_OPTIONS)
def code_action(
    ls: DeepSeekLanguageServer, params: lsp.CodeActionParams
) -> list[lsp.CodeAction] | None:
    """The actions of `chat/actions.py`'s table for the selection and its diagnostics."""
    return ls.chat.code_actions(params)


@server.command("deepseek.chat")
async def chat(ls: DeepSeekLanguageServer, *args: Any) -> dict[str, Any]:
    """Ask a question, optionally about a selection; streamed, with history."""
    return await ls.chat.chat(args)


def _action_command(action: Action) -> Callable[..., Awaitable[dict[str, Any]]]:
    async def command(ls: DeepSeekLanguageServer, *args: Any) -> dict[str, Any]:
        return await ls.chat.action(action, args)

    command.__doc__ = f"The `{action.name}` code action ({action.title})."
    return command


for _action in ACTIONS:  # deepseek.explain, .refactor, .document, .tests, .fix
    server.command(_action.command)(_action_command(_action))


# -- account and status -------------------------------------------------------------------------


@server.command("deepseek.balance")
async def balance(ls: DeepSeekLanguageServer, *_args: Any) -> dict[str, Any]:
    """The account's balance."""
    return await ls.chat.balance()


@server.command("deepseek.models")
async def models(ls: DeepSeekLanguageServer, *_args: Any) -> dict[str, Any]:
    """The models the account may use, and the `auto` picks."""
    return await ls.chat.models()


@server.command("deepseek.status")
async def status(ls: DeepSeekLanguageServer, *_args: Any) -> dict[str, Any]:
    """Requests, cache and type-ahead hits, tokens, cost, last error, model in use."""
    failures = ls.engine.failures
    return {
        "version": __version__,
        "enabled": ls.engine.enabled and ls.settings.enable,
        "keyConfigured": bool(ls.settings.api_key),
        "baseUrl": ls.settings.base_url,
        "model": ls.backend.current_fim_model,
        "pausedForSeconds": round(failures.pause_remaining_s(), 1),
        "lastError": failures.last_error.user_message if failures.last_error else None,
        "lastErrorKind": failures.last_error.kind if failures.last_error else None,
        "cacheEntries": len(ls.engine.cache),
        "lastSkip": ls.engine.last_skip.to_json() if ls.engine.last_skip else None,
        **ls.stats.to_json(ls.settings.prices),
    }


@server.command("deepseek.toggle")
async def toggle(ls: DeepSeekLanguageServer, *args: Any) -> dict[str, bool]:
    """Turn inline completions off or on (an optional `{enabled: bool}` sets it)."""
    wanted = args[0].get("enabled") if args and isinstance(args[0], dict) else None
    ls.engine.enabled = (not ls.engine.enabled) if wanted is None else bool(wanted)
    state = "on" if ls.engine.enabled else "off"
    ls.show_message(f"DeepSeek inline completions {state}.")
    return {"enabled": ls.engine.enabled}


@server.command("deepseek.clearCache")
async def clear_cache(ls: DeepSeekLanguageServer, *_args: Any) -> dict[str, bool]:
    """Forget remembered completions."""
    ls.engine.clear_cache()
    return {"cleared": True}
