"""The LSP side of chat and code actions: arguments, progress, cancellation, edits, pages.

`server.py` registers the features and commands; their bodies are here, thin over the pure
chat modules (`chat/actions.py` — the table of actions —, `chat/prompts.py`,
`chat/session.py`, `chat/extract.py`, `chat/pages.py`).

Kinds of work (the `result` of a row of `chat/actions.py`):
- answer kinds (`deepseek.chat`, `explain`) join the workspace's conversation; a newer one in
  the same workspace supersedes (cancels) the one still running. About selected code, the
  model may look definitions up first (`chat/tools.py`); each look-up is a progress report;
- edit kinds (`refactor`, `document`, `fix`) are one-shot and replace exactly the selection,
  through `workspace/applyEdit`, only if the document still has the version the action
  started from (a `version` in the argument, else the version when the command arrived);
- the file kind (`tests`) is one-shot: JSON output names a test file and its text, which is
  created with one `workspace/applyEdit` (`CreateFile` with `ignoreIfExists`, then the text)
  after the path is checked (`chat/testfile.py`), or appended to the file if it exists; clients
  that cannot create files get the answer shown instead.

Answers are shown as Markdown pages (`chat/pages.py`, `window/showDocument`) unless the
client turned `answerPages` off (it has a chat view of its own and shows the result). Every
request carries `max_tokens` = `chatMaxTokens`; an answer cut there says so in its result
(`notice`, `cutAtTokens`), its page and the progress's end message, and a cut edit is not
applied. Chat tokens count in `deepseek.status` (tokens and estimated cost).

Streaming and cancellation: answers stream with `$/progress` (begin, reports at most every
0.1 s, end) on a `workDoneToken` passed in the argument, else on a fresh server-created token
when the client declares `window.workDoneProgress`. A report's `message` is the answer's tail
on one line; its extra keys `delta` and `reasoning` carry the new text since the last report.
pygls does not cancel `workspace/executeCommand` bodies, so the answer runs in its own task,
cancelled by the progress cancel, by `$/cancelRequest` for the command and by supersession;
cancelling it closes the HTTP stream, which stops DeepSeek's generation.

Error convention (every command): a failure is a JSON-RPC error response, never a result —
`RequestFailed` (-32803) for API failures (401/402/429/5xx, timeouts, dropped streams,
missing key) and excluded files; `InvalidParams` (-32602) for bad arguments, a document that
is not open or a selection too large to send; `RequestCancelled` (-32800) for cancellation
and supersession. The error's `data` is `{kind, status?, retryAfter?}` (`kind` as in
`api/errors.py`, or `excluded`, `invalid_arguments`, `not_open`, `too_large`, `cancelled`,
`superseded`). Clients show error responses themselves (VS Code, Neovim and the editor glue
in `editors/` do), so the server sends no `window/showMessage` for them: one failure, one
message. An edit that is not applied is not a failure: the result says `{applied: false,
reason}`, and the reason is also shown with `window/showMessage`, since a client running a
code action's command ignores its result.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cattrs import Converter
from lsprotocol import types as lsp
from lsprotocol.converters import get_converter
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcRequestCancelled
from pygls.progress import Progress
from pygls.protocol import LanguageServerProtocol
from pygls.uris import to_fs_path
from pygls.workspace import Workspace

from deepseek_lsp.api.backend import ApiBackend
from deepseek_lsp.api.errors import DeepSeekError
from deepseek_lsp.api.models import pick_chat_model, pick_fim_model
from deepseek_lsp.api.types import ChatDelta
from deepseek_lsp.chat.actions import (
    ACTIONS,
    ASK,
    Action,
    Diagnostic,
    action_messages,
    action_prompt,
    kind_wanted,
    messages_for_tests,
    selection_too_large,
    title_of,
)
from deepseek_lsp.chat.extract import plan_edit
from deepseek_lsp.chat.pages import answer_markdown, write_answer
from deepseek_lsp.chat.prompts import (
    Excerpt,
    excerpt_of,
    fenced,
    file_selection_end,
    question_prompt,
)
from deepseek_lsp.chat.session import (
    ChatAnswer,
    Sessions,
    stream_answer,
    stream_edit,
    stream_json,
)
from deepseek_lsp.chat.testfile import (
    MAX_APPEND_TARGET_BYTES,
    ExistingTests,
    appendix,
    check_test_path,
    find_existing_tests,
    parse_test_file,
)
from deepseek_lsp.chat.tools import OpenDocument, Toolbox
from deepseek_lsp.config import Settings
from deepseek_lsp.documents import Document, DocumentStore
from deepseek_lsp.languages import language_of_path
from deepseek_lsp.privacy import is_excluded
from deepseek_lsp.stats import Stats

log = logging.getLogger(__name__)


@functools.cache
def _converter() -> Converter:
    """Built on first use, not at import: building one costs tens of ms of start-up."""
    return get_converter()

CODE_ACTION_OPTIONS = lsp.CodeActionOptions(code_action_kinds=[
    lsp.CodeActionKind.QuickFix, lsp.CodeActionKind.Refactor, lsp.CodeActionKind.RefactorRewrite,
])
REPORT_EVERY_S = 0.1

#: The `workDoneToken` of the `workspace/executeCommand` request being handled: pygls passes
#: only the arguments to command handlers, and each handler task copies this context.
COMMAND_WORK_DONE_TOKEN: ContextVar[str | int | None] = ContextVar(
    "command_work_done_token", default=None
)


class ChatHost(Protocol):
    """What chat needs of the language server (`server.DeepSeekLanguageServer`)."""

    documents: DocumentStore
    settings: Settings
    backend: ApiBackend
    stats: Stats

    @property
    def encoding(self) -> str: ...
    @property
    def client_capabilities(self) -> lsp.ClientCapabilities: ...
    @property
    def work_done_progress(self) -> Progress: ...
    @property
    def protocol(self) -> LanguageServerProtocol: ...
    @property
    def workspace(self) -> Workspace: ...
    def relative_path(self, uri: str) -> str: ...
    def real_paths(self, uri: str) -> tuple[str, ...]: ...
    def to_range(self, doc: Document, start: int, end: int) -> lsp.Range: ...
    def show_message(self, message: str, kind: lsp.MessageType = ...) -> None: ...
    async def wait_for_settings(self) -> None: ...
    async def workspace_apply_edit_async(
        self, params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult: ...
    async def window_show_document_async(
        self, params: lsp.ShowDocumentParams) -> lsp.ShowDocumentResult: ...


# -- code actions ---------------------------------------------------------------------------------


def range_json(r: lsp.Range) -> dict[str, Any]:
    return {"start": {"line": r.start.line, "character": r.start.character},
            "end": {"line": r.end.line, "character": r.end.character}}


def _command_action(title: str, kind: str, command: str, argument: dict[str, Any],
                    diagnostics: list[lsp.Diagnostic] | None = None) -> lsp.CodeAction:
    return lsp.CodeAction(title=title, kind=kind, diagnostics=diagnostics,
                          command=lsp.Command(title=title, command=command, arguments=[argument]))


def list_actions(
    uri: str,
    selection: lsp.Range,
    version: int,
    diagnostics: list[lsp.Diagnostic],
    only: list[str] | None,
    line_end: Callable[[int], int],
) -> list[lsp.CodeAction]:
    """The actions of `chat/actions.py`'s table for a selection and the diagnostics in the
    context.

    Selection actions need a non-empty selection; a fix covers the whole lines of its
    diagnostic (`line_end(line)` is the character count of a line in the client's encoding),
    so the model sees and rewrites complete statements.
    """
    found: list[lsp.CodeAction] = []
    base = {"uri": uri, "range": range_json(selection), "version": version}
    if selection.start != selection.end:
        for action in ACTIONS:
            if not action.on_diagnostic and kind_wanted(action.code_action_kind, only):
                found.append(_command_action(action.title, action.code_action_kind,
                                             action.command, dict(base)))
        title, kind, command = ASK
        if kind_wanted(kind, only):
            found.append(_command_action(title, kind, command, dict(base)))
    for action in ACTIONS:
        if not action.on_diagnostic or not kind_wanted(action.code_action_kind, only):
            continue
        for diag in diagnostics:
            lines = lsp.Range(lsp.Position(diag.range.start.line, 0),
                              lsp.Position(diag.range.end.line, line_end(diag.range.end.line)))
            argument = {"uri": uri, "range": range_json(lines), "version": version,
                        "diagnostic": _converter().unstructure(diag)}
            found.append(_command_action(title_of(action, _diagnostic(diag)),
                                         action.code_action_kind, action.command, argument,
                                         [diag]))
    return found


# -- command arguments ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A command's argument, checked."""

    uri: str | None = None
    range: lsp.Range | None = None
    version: int | None = None
    diagnostic: lsp.Diagnostic | None = None
    question: str = ""
    new_session: bool = False
    work_done_token: str | int | None = None
    reasoning: bool | None = None


def invalid(message: str, kind: str = "invalid_arguments") -> JsonRpcException:
    return JsonRpcInvalidParams(message=message, data={"kind": kind})


def api_failure(error: DeepSeekError) -> JsonRpcException:
    """A failed DeepSeek call as the command's error response (the module docstring)."""
    data: dict[str, Any] = {"kind": error.kind, "status": error.status}
    if error.retry_after is not None:
        data["retryAfter"] = error.retry_after
    return JsonRpcException(message=error.user_message, code=lsp.LSPErrorCodes.RequestFailed,
                            data=data)


def parse_target(args: tuple[Any, ...], *, needs_selection: bool) -> Target:
    """The one JSON-object argument of a chat command (SPEC §3)."""
    if len(args) > 1 or (args and not isinstance(args[0], dict | type(None))):
        raise invalid("expected one JSON object argument")
    obj: dict[str, Any] = dict(args[0] or {}) if args else {}
    uri, rng = obj.get("uri"), obj.get("range")
    if uri is not None and not isinstance(uri, str):
        raise invalid("`uri` must be a string")
    try:
        parsed_range = _converter().structure(rng, lsp.Range) if rng is not None else None
        diagnostic = (_converter().structure(obj["diagnostic"], lsp.Diagnostic)
                      if obj.get("diagnostic") is not None else None)
    except Exception:
        raise invalid("`range` or `diagnostic` is not an LSP Range/Diagnostic") from None
    if needs_selection and (uri is None or parsed_range is None):
        raise invalid("expected {uri, range}")
    if parsed_range is not None and uri is None:
        raise invalid("`range` needs `uri`")
    question = obj.get("question")
    if question is not None and not isinstance(question, str):
        raise invalid("`question` must be a string")
    version = obj.get("version")
    token = obj.get("workDoneToken")
    reasoning = obj.get("reasoning")
    return Target(
        uri=uri, range=parsed_range,
        version=version if isinstance(version, int) and not isinstance(version, bool) else None,
        diagnostic=diagnostic, question=question or "",
        new_session=bool(obj.get("newSession")),
        work_done_token=token if isinstance(token, str | int) else None,
        reasoning=reasoning if isinstance(reasoning, bool) else None,
    )


def _diagnostic(d: lsp.Diagnostic | None) -> Diagnostic | None:
    if d is None:
        return None
    return Diagnostic(message=d.message, line=d.range.start.line + 1, source=d.source,
                      code=None if d.code is None else str(d.code))


def progress_tail(text: str, limit: int = 80) -> str:
    """The end of the answer so far, on one line (what a progress notification can show)."""
    line = " ".join(text[-4 * limit:].split())
    return line if len(line) <= limit else "…" + line[-(limit - 1):]


# -- running a command ----------------------------------------------------------------------------


@dataclass
class Job:
    task: asyncio.Task[ChatAnswer]
    reason: str = "cancelled"

    def cancel(self, reason: str) -> None:
        if not self.task.done():
            self.reason = reason
            self.task.cancel()


class ChatCommands:
    """The bodies of the chat commands: sessions, running jobs, progress, documents, edits."""

    def __init__(self, host: ChatHost) -> None:
        self.host = host
        self.sessions = Sessions()
        self.running: dict[str, Job] = {}  # answer kinds, per workspace

    # -- documents and context --------------------------------------------------------------------

    def workspace_key(self, uri: str | None) -> str:
        """The workspace folder holding `uri` (the conversation's scope)."""
        ws = self.host.workspace
        if uri:
            for folder in ws.folders.values():
                if uri.startswith(folder.uri.rstrip("/") + "/"):
                    return folder.uri
        return ws.root_uri or ""

    def workspace_root(self, uri: str | None) -> Path | None:
        """The folder (on disk) of the workspace folder holding `uri`, if any."""
        key = self.workspace_key(uri)
        path = to_fs_path(key) if key else None
        if not path or (uri and not (to_fs_path(uri) or "").startswith(path.rstrip("/") + "/")):
            return None
        return Path(path)

    def toolbox(self, doc: Document) -> Toolbox | None:
        """The look-up tools for a question about `doc`: the open documents, the workspace
        folders on disk, and what must not be sent; None with `chatLookups` off."""
        host = self.host
        if not host.settings.chat_lookups:
            return None
        roots = [Path(p) for p in (to_fs_path(f.uri) for f in host.workspace.folders.values())
                 if p]
        if not roots and host.workspace.root_path:
            roots = [Path(host.workspace.root_path)]
        documents = [OpenDocument(host.relative_path(d.uri), d.language_id, d.text)
                     for d in host.documents.all()]
        return Toolbox(documents, roots, doc.language_id, host.settings.exclude,
                       host.settings.redact_secrets)

    def document(self, uri: str) -> Document:
        doc = self.host.documents.get(uri)
        if doc is None:
            raise invalid(f"{uri} is not open in the editor", "not_open")
        return doc

    def check_not_excluded(self, uri: str) -> str:
        path = self.host.relative_path(uri)
        if is_excluded(path, self.host.settings.exclude, self.host.real_paths(uri)):
            message = (f"DeepSeek: {path} matches the `exclude` setting, so its content is never "
                       "sent.")
            raise JsonRpcException(message=message, code=lsp.LSPErrorCodes.RequestFailed,
                                   data={"kind": "excluded"})
        return path

    def selection_offsets(self, doc: Document, r: lsp.Range) -> tuple[int, int]:
        """Offsets of a range; an empty one means its whole line(s)."""
        enc = self.host.encoding
        start = doc.offset_at(r.start.line, r.start.character, enc)
        end = doc.offset_at(r.end.line, r.end.character, enc)
        start, end = min(start, end), max(start, end)
        if start == end:
            line = doc.line_of_offset(start)
            start, end = doc.line_start(line), doc.line_end(line)
        return start, end

    def excerpt(self, doc: Document, path: str, start: int, end: int, kind: str) -> Excerpt:
        problem = selection_too_large(kind, end - start)
        if problem is not None:
            raise invalid(f"DeepSeek: {problem}.", "too_large")
        return excerpt_of(doc.text, start, end, path=path, language_id=doc.language_id,
                          redact_secrets=self.host.settings.redact_secrets)

    # -- progress ---------------------------------------------------------------------------------

    async def progress_token(self, target: Target) -> str | int | None:
        """The client's token from the argument, or a fresh server-created one, or None."""
        progress = self.host.work_done_progress
        given = target.work_done_token
        if given is None:
            given = COMMAND_WORK_DONE_TOKEN.get()  # the standard place: the request's params
        if given is not None and given not in progress.tokens:
            return given
        window = self.host.client_capabilities.window
        if not (window and window.work_done_progress):
            return None
        token = str(uuid.uuid4())
        try:
            await asyncio.wait_for(progress.create_async(token), timeout=5)
        except Exception as error:  # a client that refuses still gets its answer
            log.info("window/workDoneProgress/create failed: %s", type(error).__name__)
            return None
        return token

    # -- the job ----------------------------------------------------------------------------------

    async def run(
        self, title: str, token: str | int | None,
        work: Callable[[_Reporter], Awaitable[ChatAnswer]], supersede_key: str | None,
    ) -> ChatAnswer:
        """Run one answer (`work`, streaming through the reporter it is given) with progress;
        cancellable by progress cancel, `$/cancelRequest` and supersession. Counts its usage
        in `deepseek.status`. Raises the JSON-RPC errors of the module docstring."""
        host = self.host
        progress = host.work_done_progress
        if token is not None:
            progress.begin(token, lsp.WorkDoneProgressBegin(
                title=title, cancellable=True, message="waiting for DeepSeek…"))

        def send(value: dict[str, Any]) -> None:
            if token is not None:
                host.protocol.notify(lsp.PROGRESS, lsp.ProgressParams(token=token, value=value))

        reporter = _Reporter(send)
        host.stats.chat_requests += 1
        job = Job(asyncio.ensure_future(work(reporter)))
        if supersede_key is not None:
            previous = self.running.get(supersede_key)
            if previous is not None:
                previous.cancel("superseded by a newer question")
            self.running[supersede_key] = job
        self._link_cancellation(job, token)
        end, answered = "failed", False
        try:
            answer = await job.task
            answered = True
            host.stats.add_usage(answer.usage)
            end = answer.cut_notice or "done"
            return answer
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the server itself is stopping this handler
            end = job.reason
            kind = "superseded" if job.reason.startswith("superseded") else "cancelled"
            raise JsonRpcRequestCancelled(message=f"DeepSeek: {job.reason}.",
                                          data={"kind": kind}) from None
        except DeepSeekError as error:
            raise api_failure(error) from None
        finally:
            if supersede_key is not None and self.running.get(supersede_key) is job:
                del self.running[supersede_key]
            if token is not None:
                if answered:
                    reporter.flush()
                progress.end(token, lsp.WorkDoneProgressEnd(message=end))
                progress.tokens.pop(token, None)

    def _link_cancellation(self, job: Job, token: str | int | None) -> None:
        """Cancel the job when the client cancels the progress or the request itself."""
        loop = asyncio.get_running_loop()

        def on_done(reason: str) -> Callable[[Any], None]:
            def callback(future: Any) -> None:
                if future.cancelled():
                    loop.call_soon_threadsafe(job.cancel, reason)
            return callback

        if token is not None:
            future = self.host.work_done_progress.tokens.get(token)
            if future is not None:
                future.add_done_callback(on_done("cancelled"))
        # pygls answers `$/cancelRequest` for executeCommand by cancelling the request's outer
        # future only; the handler's body runs on unless it is told, which happens here.
        protocol = self.host.protocol
        request = getattr(protocol, "_request_futures", {}).get(protocol.msg_id)
        if request is not None:
            request.add_done_callback(on_done("cancelled"))

    # -- after the answer -------------------------------------------------------------------------

    async def show_answer(self, title: str, question: str, answer: ChatAnswer,
                          where: str | None) -> str | None:
        """Write the answer as Markdown and show it, where the client can show documents;
        elsewhere show it as a message; nothing where the client turned `answerPages` off (it
        shows the result itself). Returns the file's URI when one was written."""
        host = self.host
        if not host.settings.answer_pages:
            return None
        window = host.client_capabilities.window
        if not (window and window.show_document and window.show_document.support):
            host.show_message(f"{title}\n\n{answer.content}")
            return None
        try:
            path = write_answer(answer_markdown(title, question, answer, where), title)
        except OSError as error:
            log.warning("could not write the answer: %s", error)
            host.show_message(f"{title}\n\n{answer.content}")
            return None
        uri = path.as_uri()
        try:
            await asyncio.wait_for(host.window_show_document_async(
                lsp.ShowDocumentParams(uri=uri, take_focus=False)), timeout=10)
        except Exception as error:
            log.info("window/showDocument failed: %s", type(error).__name__)
        return uri

    def not_applied(self, title: str, reason: str) -> dict[str, Any]:
        """An edit or file not applied: said once (a client running a code action's command
        ignores its result) and returned."""
        self.host.show_message(f"{title}: nothing changed — {reason}.", lsp.MessageType.Warning)
        return {"applied": False, "reason": reason}

    def can_create_files(self) -> bool:
        """Whether the client applies `documentChanges` with `CreateFile` operations."""
        workspace = self.host.client_capabilities.workspace
        edit = workspace.workspace_edit if workspace else None
        return bool(edit and edit.document_changes and lsp.ResourceOperationKind.Create
                    in (edit.resource_operations or []))

    async def apply_workspace_edit(self, title: str, edit: lsp.WorkspaceEdit) -> str | None:
        """Send `workspace/applyEdit`; None when applied, else why not."""
        try:
            result = await asyncio.wait_for(self.host.workspace_apply_edit_async(
                lsp.ApplyWorkspaceEditParams(edit=edit, label=title)), timeout=30)
        except Exception as error:
            return f"the editor did not apply the edit ({type(error).__name__})"
        if not result.applied:
            return f"the editor refused the edit ({result.failure_reason or 'no reason'})"
        return None

    async def apply(
        self, title: str, doc_uri: str, version: int, start: int, original: str,
        answer: ChatAnswer,
    ) -> dict[str, Any]:
        """Replace the selection with the answer's code, only if nothing changed meanwhile."""
        host = self.host

        def refuse(reason: str) -> dict[str, Any]:
            return self.not_applied(title, reason)

        if answer.cut_notice:
            return refuse(f"{answer.cut_notice}, so its code may be incomplete")
        doc = host.documents.get(doc_uri)
        if doc is None or doc.version != version:
            return refuse("the document was edited while DeepSeek was answering; "
                          "run the action again")
        lead = doc.text[doc.line_start(doc.line_of_offset(start)) : start]
        edit = plan_edit(answer.content, original=original, lead=lead,
                         language_id=doc.language_id, code_only=answer.code_only)
        if isinstance(edit, str):
            return refuse(edit)
        text_edit = lsp.TextEdit(range=host.to_range(doc, start + edit.start, start + edit.end),
                                 new_text=edit.text)
        workspace = host.client_capabilities.workspace
        versioned = bool(workspace and workspace.workspace_edit
                         and workspace.workspace_edit.document_changes)
        if versioned:
            ws_edit = lsp.WorkspaceEdit(document_changes=[lsp.TextDocumentEdit(
                text_document=lsp.OptionalVersionedTextDocumentIdentifier(doc_uri, version),
                edits=[text_edit])])
        else:
            ws_edit = lsp.WorkspaceEdit(changes={doc_uri: [text_edit]})
        problem = await self.apply_workspace_edit(title, ws_edit)
        if problem is not None:
            return refuse(problem)
        return {"applied": True, "edit": {"range": range_json(text_edit.range),
                                          "newText": text_edit.new_text}}

    # -- the commands -----------------------------------------------------------------------------

    def code_actions(self, params: lsp.CodeActionParams) -> list[lsp.CodeAction] | None:
        """DeepSeek's actions for the selection and the diagnostics under it."""
        host = self.host
        uri = params.text_document.uri
        doc = host.documents.get(uri)
        if doc is None or is_excluded(host.relative_path(uri), host.settings.exclude,
                                      host.real_paths(uri)):
            return None
        enc = host.encoding
        return list_actions(
            uri, params.range, doc.version, list(params.context.diagnostics or []),
            list(params.context.only) if params.context.only else None,
            lambda line: doc.position_at(doc.line_end(line), enc)[1],
        )

    async def chat(self, args: tuple[Any, ...]) -> dict[str, Any]:
        """`deepseek.chat {question, uri?, range?, newSession?}` → `{content,
        reasoningContent?, usage, model, finishReason, lookups?, notice?}`; the conversation
        continues unless `newSession`. A `uri` without a `range` asks about the file (its
        first `FILE_QUESTION_CHARS`). About code, the model may look definitions up."""
        target = parse_target(args, needs_selection=False)
        await self.host.wait_for_settings()
        excerpt, where, tools = None, None, None
        if target.uri is not None:
            path = self.check_not_excluded(target.uri)
            doc = self.document(target.uri)
            if target.range is not None:
                start, end = self.selection_offsets(doc, target.range)
            else:  # a question about the file
                start, end = 0, file_selection_end(doc.text)
            excerpt = self.excerpt(doc, path, start, end, "chat")
            where = f"{path}:{excerpt.start_line}-{excerpt.end_line}"
            tools = self.toolbox(doc)
        prompt = question_prompt(target.question, excerpt)
        return await self.answer("DeepSeek: Chat", target, prompt, target.question, where, tools,
                                 new_session=target.new_session)

    async def answer(
        self, title: str, target: Target, prompt: str, question: str, where: str | None,
        tools: Toolbox | None, *, new_session: bool = False,
    ) -> dict[str, Any]:
        """An answer kind: streamed in the workspace's conversation, then shown."""
        key = self.workspace_key(target.uri)
        conversation = self.sessions.get(key, new=new_session)
        token = await self.progress_token(target)
        settings = self.host.settings
        messages = conversation.messages(prompt)
        answer = await self.run(title, token, lambda r: stream_answer(
            self.host.backend, settings, messages, reasoning=target.reasoning,
            on_delta=r.delta, on_lookup=r.lookup, tools=tools), supersede_key=key)
        conversation.add(prompt, answer.content)
        result = answer.to_json()
        shown = await self.show_answer(title, question, answer, where)
        if shown:
            result["documentUri"] = shown
        return result

    async def action(self, action: Action, args: tuple[Any, ...]) -> dict[str, Any]:
        """A code action's command `{uri, range, version?, diagnostic?}`: edit kinds return
        `{applied, reason?, edit?}` with the answer; answer kinds return the answer; the file
        kind returns `{applied, reason?, file?, path?, code?}` with the answer."""
        target = parse_target(args, needs_selection=True)
        await self.host.wait_for_settings()
        assert target.uri is not None and target.range is not None
        host = self.host
        diagnostic = _diagnostic(target.diagnostic)
        title = title_of(action, diagnostic)
        path = self.check_not_excluded(target.uri)
        doc = self.document(target.uri)
        if action.edits and target.version is not None and target.version != doc.version:
            reason = "the document changed since the action was offered; run it again"
            return self.not_applied(title, reason)
        version = doc.version
        start, end = self.selection_offsets(doc, target.range)
        original = doc.text[start:end]  # the document object changes as the user types
        excerpt = self.excerpt(doc, path, start, end, action.name)
        where = f"{path}:{excerpt.start_line}-{excerpt.end_line}"
        if action.creates_file:
            return await self.write_tests(title, target, doc, path, excerpt, where)
        if not action.edits:  # answers join the history
            prompt = action_prompt(action.name, excerpt, diagnostic)
            tools = self.toolbox(doc) if action.looks_up else None
            return await self.answer(title, target, prompt, "", where, tools)
        token = await self.progress_token(target)
        messages = action_messages(action.name, excerpt, diagnostic)
        answer = await self.run(title, token, lambda r: stream_edit(
            host.backend, host.settings, messages, language_id=doc.language_id,
            original=original, reasoning=target.reasoning, on_delta=r.delta),
            supersede_key=None)
        return {**answer.to_json(),
                **await self.apply(title, target.uri, version, start, original, answer)}

    async def write_tests(
        self, title: str, target: Target, doc: Document, path: str, excerpt: Excerpt,
        where: str,
    ) -> dict[str, Any]:
        """Write tests: ask for `{path, content}` as JSON, check the path, create the file (or
        append to it) with one `workspace/applyEdit`, and open it."""
        host, settings = self.host, self.host.settings
        root = self.workspace_root(target.uri)
        existing = ExistingTests()
        if root is not None:
            existing = await asyncio.to_thread(
                find_existing_tests, root, path, doc.language_id, settings.exclude,
                settings.redact_secrets)
        token = await self.progress_token(target)
        messages = messages_for_tests(excerpt, existing)
        answer = await self.run(title, token, lambda r: stream_json(
            host.backend, settings, messages, reasoning=target.reasoning, on_delta=r.delta),
            supersede_key=None)
        result = answer.to_json()
        proposal = parse_test_file(answer.content)
        if isinstance(proposal, str):
            if answer.cut_notice:
                proposal = answer.cut_notice
            elif not answer.content.strip():
                proposal = ("DeepSeek answered twice with empty content (it may in JSON "
                            "mode); run Write tests again")
            return {**result, **self.not_applied(title, proposal)}
        result.update(path=proposal.path, code=proposal.content)
        checked = (check_test_path(proposal.path, root, doc.language_id, settings.exclude,
                                   path)
                   if root is not None else "the document is not inside a workspace folder")
        if isinstance(checked, str) or not self.can_create_files():
            reason = checked if isinstance(checked, str) else None
            shown = await self.show_answer(title, "", self.file_answer(answer, proposal.path,
                                                                       reason), where)
            if shown:
                result["documentUri"] = shown
            if reason is not None:
                return {**result, **self.not_applied(title, reason)}
            return {**result, "applied": False,
                    "reason": "the editor cannot create files (workspace/applyEdit with "
                              "resource operations)"}
        relative, file_path = checked
        outcome = await self.create_or_append(title, file_path, proposal.content)
        if isinstance(outcome, str):
            return {**result, **self.not_applied(title, outcome)}
        result.update(applied=True, file={"path": relative, "uri": file_path.as_uri(),
                                          "created": outcome})
        await self.open_document(file_path.as_uri())
        return result

    @staticmethod
    def file_answer(answer: ChatAnswer, path: str, reason: str | None) -> ChatAnswer:
        """A JSON test-file answer as Markdown, for showing it instead of creating the file."""
        code = parse_test_file(answer.content)
        text = code.content if not isinstance(code, str) else answer.content
        markdown = f"Suggested test file `{path}`:\n\n{fenced(text, language_of_path(path))}"
        if reason:
            markdown += f"\n\n*Not created: {reason}.*"
        return dataclasses.replace(answer, content=markdown)

    async def create_or_append(self, title: str, file_path: Path, content: str) -> bool | str:
        """Create the file with `content` (True), or append to the existing one (False), with
        one `workspace/applyEdit`; or say why not. Never overwrites: `CreateFile` does not
        overwrite and ignores an existing file, and an existing file only gets text added at
        its end (guarded by its version when it is open)."""
        uri = file_path.as_uri()
        open_doc = self.host.documents.get(uri)
        if open_doc is None and not file_path.exists():
            edit = lsp.WorkspaceEdit(document_changes=[
                lsp.CreateFile(uri=uri, options=lsp.CreateFileOptions(
                    overwrite=False, ignore_if_exists=True)),
                lsp.TextDocumentEdit(
                    text_document=lsp.OptionalVersionedTextDocumentIdentifier(uri, None),
                    edits=[lsp.TextEdit(range=lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0)),
                                        new_text=content)]),
            ])
            problem = await self.apply_workspace_edit(title, edit)
            return True if problem is None else problem
        if open_doc is not None:
            existing, version = open_doc.text, open_doc.version
        else:
            try:
                if file_path.stat().st_size > MAX_APPEND_TARGET_BYTES:
                    return f"{file_path.name} exists and is too large to add tests to"
                existing = file_path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                return f"{file_path.name} exists and cannot be read ({type(error).__name__})"
            version = None
        added = appendix(existing, content)
        if not added:
            return f"{file_path.name} already holds these tests"
        end = Document(uri, "", 0, existing).position_at(len(existing), self.host.encoding)
        at = lsp.Range(lsp.Position(*end), lsp.Position(*end))
        edit = lsp.WorkspaceEdit(document_changes=[lsp.TextDocumentEdit(
            text_document=lsp.OptionalVersionedTextDocumentIdentifier(uri, version),
            edits=[lsp.TextEdit(range=at, new_text=added)])])
        problem = await self.apply_workspace_edit(title, edit)
        return False if problem is None else problem

    async def open_document(self, uri: str) -> None:
        """Show a file the server made, where the client can."""
        window = self.host.client_capabilities.window
        if not (window and window.show_document and window.show_document.support):
            return
        try:
            await asyncio.wait_for(self.host.window_show_document_async(
                lsp.ShowDocumentParams(uri=uri, take_focus=True)), timeout=10)
        except Exception as error:
            log.info("window/showDocument failed: %s", type(error).__name__)

    async def balance(self) -> dict[str, Any]:
        """`deepseek.balance`: shown as a message and returned."""
        await self.host.wait_for_settings()
        try:
            balance = await self.host.backend.balance(self.host.settings)
        except DeepSeekError as error:
            raise api_failure(error) from None
        message = balance.describe()
        self.host.show_message(f"DeepSeek: {message}")
        return {
            "isAvailable": balance.is_available,
            "balances": [{"currency": b.currency, "totalBalance": b.total_balance,
                          "grantedBalance": b.granted_balance,
                          "toppedUpBalance": b.topped_up_balance} for b in balance.infos],
            "message": message,
        }

    async def models(self) -> dict[str, Any]:
        """`deepseek.models`: what the account lists and what `auto` picks from it."""
        await self.host.wait_for_settings()
        settings = self.host.settings
        try:
            ids = [m.id for m in await self.host.backend.list_models(settings)]
        except DeepSeekError as error:
            raise api_failure(error) from None
        fim, chat = pick_fim_model(ids), pick_chat_model(ids, reasoning=False)
        listed = ", ".join(i + (" (auto)" if i in (fim, chat) else "") for i in ids) or "none"
        self.host.show_message(f"DeepSeek models: {listed}")
        return {
            "models": ids,
            "autoFim": fim,
            "autoChat": chat,
            "autoChatReasoning": pick_chat_model(ids, reasoning=True),
            "model": settings.model,
            "chatModel": settings.chat_model,
            "chatReasoning": settings.chat_reasoning,
        }


class _Reporter:
    """Turns answer deltas into `$/progress` reports, at most one per `REPORT_EVERY_S`.

    A report's `message` is the tail of the answer so far (what any client can show); the
    extra keys `delta` and `reasoning` carry the text since the previous report, so a client
    that reads them can show the whole answer as it streams. A look-up is a report of its own
    whose `message` (and extra key `lookup`) says what was looked up. `flush` sends what is
    left.
    """

    def __init__(self, send: Callable[[dict[str, Any]], None]) -> None:
        self._send = send
        self._content: list[str] = []
        self._pending: list[str] = []
        self._pending_reasoning: list[str] = []
        self._last = 0.0

    def lookup(self, summary: str) -> None:
        """A look-up the model made: reported at once, as the report's message."""
        self.flush()
        self._last = time.monotonic()
        self._send({"kind": "report", "message": summary, "lookup": summary})

    def delta(self, delta: ChatDelta) -> None:
        self._content.append(delta.content)
        self._pending.append(delta.content)
        self._pending_reasoning.append(delta.reasoning_content)
        if time.monotonic() - self._last >= REPORT_EVERY_S:
            self.flush()

    def flush(self) -> None:
        delta, reasoning = "".join(self._pending), "".join(self._pending_reasoning)
        if not delta and not reasoning:
            return
        self._pending.clear()
        self._pending_reasoning.clear()
        self._last = time.monotonic()
        text = "".join(self._content)
        value: dict[str, Any] = {"kind": "report",
                                 "message": progress_tail(text) if text else "thinking…"}
        if delta:
            value["delta"] = delta
        if reasoning:
            value["reasoning"] = reasoning
        self._send(value)
