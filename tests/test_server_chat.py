"""Code actions and chat commands end to end: the server over stdio, the simulator on loopback."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
from chat_helpers import (
    BARE_CLIENT,
    CHAT,
    chat_editor,
    content_requests,
    messages_text,
    of_text,
    progress_kinds,
    wait_until,
)
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException

from deepseek_lsp.simulator import Rule

BETA_CHAT = "/beta/chat/completions"
PY = "file:///work/shop.py"
SHOP = (
    "import math\n"
    "\n"
    "\n"
    "class Cart:\n"
    "    def total(self, items):\n"
    "        return sum(i.price for i in items)\n"
    "\n"
    "    def count(self, items):\n"
    "        return len(items)\n"
)
TOTAL = "    def total(self, items):\n        return sum(i.price for i in items)\n"
DOCUMENTED_TOTAL = (
    "def total(self, items):\n"
    '    """Total price of the items."""\n'
    "    return sum(i.price for i in items)"
)
FENCED_DOC = f"Here it is:\n\n```python\n{DOCUMENTED_TOTAL}\n```\n\n- Added a docstring."


def user_text(request) -> str:
    return request.json["messages"][-1]["content"]


async def command(editor, name, argument=None):
    args = [] if argument is None else [argument]
    return await editor.client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(command=name, arguments=args))


async def failing(editor, name, argument=None) -> JsonRpcException:
    with pytest.raises(JsonRpcException) as info:
        await command(editor, name, argument)
    return info.value


@pytest.fixture
def cache_env(tmp_path: Path) -> dict[str, str]:
    return {"XDG_CACHE_HOME": str(tmp_path / "cache")}


# -- code action lists ---------------------------------------------------------------------------


async def test_capabilities_and_action_lists(start_server):
    editor = await chat_editor(start_server, PY, SHOP)
    caps = editor.server_capabilities
    assert {"quickfix", "refactor", "refactor.rewrite"} <= set(
        caps.code_action_provider.code_action_kinds)
    assert {"deepseek.chat", "deepseek.explain", "deepseek.refactor", "deepseek.document",
            "deepseek.tests", "deepseek.fix", "deepseek.balance", "deepseek.models"} <= set(
        caps.execute_command_provider.commands)

    sel = of_text(editor, TOTAL)
    rng = lsp.Range(lsp.Position(4, 0), lsp.Position(6, 0))
    diag = lsp.Diagnostic(range=lsp.Range(lsp.Position(5, 15), lsp.Position(5, 18)),
                          message="Name 'sum' shadows\na builtin", source="lint")

    async def actions(r, diagnostics=(), only=None, uri=PY):
        result = await editor.client.text_document_code_action_async(lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(uri), range=r,
            context=lsp.CodeActionContext(diagnostics=list(diagnostics), only=only)))
        return result or []

    listed = await actions(rng)
    assert [a.title for a in listed] == [
        "DeepSeek: Explain", "DeepSeek: Improve/refactor", "DeepSeek: Add documentation",
        "DeepSeek: Write tests", "DeepSeek: Ask about the selection"]
    assert [a.kind for a in listed] == ["refactor", "refactor.rewrite", "refactor.rewrite",
                                        "refactor", "refactor"]
    commands = [a.command for a in listed]
    assert [c.command for c in commands] == ["deepseek.explain", "deepseek.refactor",
                                             "deepseek.document", "deepseek.tests",
                                             "deepseek.chat"]
    assert list(commands[2].arguments) == [{**sel, "version": 1}]

    # an empty selection offers only fixes; a fix covers its diagnostic's whole lines
    fixes = await actions(lsp.Range(lsp.Position(5, 16), lsp.Position(5, 16)), [diag])
    (fix,) = fixes
    assert fix.title == "DeepSeek: Fix: Name 'sum' shadows a builtin"
    assert fix.kind == "quickfix" and fix.diagnostics[0].message == diag.message
    cmd = fix.command
    (arg,) = cmd.arguments
    assert cmd.command == "deepseek.fix"
    assert arg["range"] == {"start": {"line": 5, "character": 0},
                            "end": {"line": 5, "character": 42}}
    assert arg["diagnostic"]["message"] == diag.message

    # `only` filters by kind; excluded files get nothing
    only_fix = await actions(rng, [diag], only=[lsp.CodeActionKind.QuickFix])
    assert [a.title for a in only_fix] == ["DeepSeek: Fix: Name 'sum' shadows a builtin"]
    rewrites = await actions(rng, only=[lsp.CodeActionKind.RefactorRewrite])
    assert [a.title for a in rewrites] == ["DeepSeek: Improve/refactor",
                                           "DeepSeek: Add documentation"]
    editor.open("file:///work/.env", "API_KEY=sk-live-0123456789abcdefghijkl\n", "dotenv")
    assert await actions(rng, [diag], uri="file:///work/.env") == []


# -- explain: request shape, streaming progress, the answer shown ------------------------------


async def test_explain_streams_progress_and_shows_the_answer(start_server, sim, cache_env):
    text = "".join(f"word{i} " for i in range(60))
    sim.script(Rule(path=CHAT, text=text, chunk_delay_s=0.005))
    editor = await chat_editor(start_server, PY, SHOP, env=cache_env)
    result = await command(editor, "deepseek.explain", of_text(editor, TOTAL))
    assert result["content"] == text
    assert result["model"] == "deepseek-v4-flash"
    assert result["usage"]["completionTokens"] > 0
    assert "reasoningContent" not in result

    (req,) = sim.requests(CHAT)
    body = req.json
    assert body["model"] == "deepseek-v4-flash"
    assert body["thinking"] == {"type": "disabled"}
    assert body["stream"] is True
    prompt = user_text(req)
    assert prompt.startswith("Explain the selected code")
    assert "shop.py` (python, lines 5-6)" in prompt
    assert f"```python\n{TOTAL}```" in prompt
    assert "class Cart:" in prompt  # surrounding code is there too

    # progress on a server-created token: begin, reports with the answer's tail, end
    (token,) = editor.client.progress_reports
    kinds = progress_kinds(editor, token)
    assert kinds[0] == "begin" and kinds[-1] == "end" and "report" in kinds
    begin = editor.client.progress_reports[token][0]
    assert begin.title == "DeepSeek: Explain" and begin.cancellable
    reports = [v for t, v in editor.raw_progress if t == token and v["kind"] == "report"]
    assert reports and all(r["message"].lstrip("…") in text for r in reports)  # tails
    assert "".join(r.get("delta", "") for r in reports) == text  # and the whole text

    # the answer is written as Markdown under the cache directory and shown
    (shown,) = editor.client.shown_documents
    assert shown.uri == result["documentUri"]
    path = Path(shown.uri.removeprefix("file://"))
    assert path.is_relative_to(Path(cache_env["XDG_CACHE_HOME"]) / "deepseek-lsp" / "answers")
    assert text.strip() in path.read_text()


async def test_bare_client_gets_the_answer_as_a_message(start_server, sim):
    sim.script(Rule(path=CHAT, text="It sums prices."))
    editor = await chat_editor(start_server, PY, SHOP, capabilities=BARE_CLIENT)
    result = await command(editor, "deepseek.explain", of_text(editor, TOTAL))
    assert result["content"] == "It sums prices." and "documentUri" not in result
    await wait_until(lambda: "It sums prices." in messages_text(editor))
    assert editor.client.progress_reports == {}


async def test_work_done_token_in_the_argument_and_a_question_about_a_file(start_server, sim):
    sim.script(Rule(path=CHAT, text="An answer."))
    editor = await chat_editor(start_server, PY, SHOP, capabilities=BARE_CLIENT)
    editor.client.progress_reports["my-token"] = []
    await command(editor, "deepseek.chat",
                  {"question": "Hi?", "uri": PY, "workDoneToken": "my-token"})
    assert progress_kinds(editor, "my-token")[0] == "begin"
    assert progress_kinds(editor, "my-token")[-1] == "end"
    # a uri without a range: the question is about the whole file
    assert f"(python, lines 1-9):\n\n```python\n{SHOP}```" in user_text(sim.requests(CHAT)[0])


async def test_work_done_token_in_the_request_params(start_server, sim):
    """The standard place (VS Code's client puts it there): progress goes to that token."""
    sim.script(Rule(path=CHAT, text="An answer."))
    editor = await chat_editor(start_server, PY, SHOP, capabilities=BARE_CLIENT)
    editor.client.progress_reports["params-token"] = []
    await editor.client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="deepseek.chat", arguments=[{"question": "Hi?"}],
        work_done_token="params-token"))
    assert progress_kinds(editor, "params-token")[0] == "begin"
    assert progress_kinds(editor, "params-token")[-1] == "end"
    # the next command without a token does not reuse it
    await command(editor, "deepseek.chat", {"question": "Again?"})
    assert progress_kinds(editor, "params-token").count("begin") == 1


# -- edits ---------------------------------------------------------------------------------------


async def test_add_documentation_applies_a_minimal_indented_edit(start_server, sim):
    # chat prefix completion: the answer continues an open fence, so it is the code only
    sim.script(Rule(path=BETA_CHAT, text=DOCUMENTED_TOTAL + "\n"))
    editor = await chat_editor(start_server, PY, SHOP)
    result = await command(editor, "deepseek.document", {**of_text(editor, TOTAL), "version": 1})
    assert result["applied"] is True
    assert editor.doc.text == SHOP.replace(
        "    def total(self, items):\n",
        '    def total(self, items):\n        """Total price of the items."""\n')
    # only the new line is inserted (minimal edit), as a versioned document change
    (params,) = editor.applied_edits
    (change,) = params.edit.document_changes
    assert change.text_document.version == 1
    (edit,) = change.edits
    assert edit.range == lsp.Range(lsp.Position(5, 0), lsp.Position(5, 0))
    assert edit.new_text == '        """Total price of the items."""\n'
    assert params.label == "DeepSeek: Add documentation"
    (request,) = sim.requests(BETA_CHAT)
    assert request.path == BETA_CHAT
    assert request.json["messages"][-1] == {"role": "assistant", "content": "```python\n",
                                            "prefix": True}
    assert request.json["stop"] == ["```"]
    prompt = request.json["messages"][-2]["content"]
    assert prompt.startswith("Add documentation") and "exactly one fenced code block" in prompt


async def test_simulated_model_end_to_end_for_each_edit_kind(start_server, sim):
    """No canned text: the simulator's model edits the selection as a real one would."""
    editor = await chat_editor(start_server, PY, SHOP, capabilities=BARE_CLIENT)
    result = await command(editor, "deepseek.document", of_text(editor, TOTAL))
    assert result["applied"] is True
    assert '        """Total."""\n' in editor.doc.text
    # unversioned clients get `changes`
    assert editor.applied_edits[0].edit.changes is not None
    count = "    def count(self, items):\n        return len(items)\n"
    result = await command(editor, "deepseek.refactor", of_text(editor, count))
    assert result["applied"] is True
    assert "\n    # Refactored for readability" in editor.doc.text  # the selection's indentation


async def test_fix_sends_the_diagnostic_and_applies(start_server, sim):
    text = "def area(r):\n    return math.pi * r ** 2\n"
    fixed = "import math\n\n\ndef area(r):\n    return math.pi * r ** 2"
    sim.script(Rule(path=BETA_CHAT, text=f"{fixed}\n"))
    editor = await chat_editor(start_server, PY, text)
    diag = {"range": {"start": {"line": 1, "character": 11}, "end": {"line": 1, "character": 15}},
            "message": "undefined name 'math'", "severity": 1, "source": "pyflakes"}
    arg = {**of_text(editor, text), "version": 1, "diagnostic": diag}
    result = await command(editor, "deepseek.fix", arg)
    assert result["applied"] is True
    assert editor.doc.text == fixed + "\n"
    prompt = sim.requests(BETA_CHAT)[0].json["messages"][-2]["content"]
    assert prompt.startswith("The editor reports at line 2: undefined name 'math' (pyflakes).")


async def test_edit_while_streaming_applies_nothing(start_server, sim):
    sim.script(Rule(path=BETA_CHAT, text=DOCUMENTED_TOTAL, chunk_delay_s=0.02))
    editor = await chat_editor(start_server, PY, SHOP)
    task = asyncio.ensure_future(
        command(editor, "deepseek.document", {**of_text(editor, TOTAL), "version": 1}))
    await wait_until(lambda: sim.requests(BETA_CHAT))
    editor.move_to(len(SHOP))
    editor.type("# typed meanwhile\n")
    result = await task
    assert result["applied"] is False and "edited while DeepSeek was answering" in result["reason"]
    assert editor.doc.text == SHOP + "# typed meanwhile\n"
    assert editor.applied_edits == []
    await wait_until(lambda: "edited while DeepSeek was answering" in messages_text(editor))


async def test_stale_action_is_refused_before_asking(start_server, sim):
    editor = await chat_editor(start_server, PY, SHOP)
    arg = {**of_text(editor, TOTAL), "version": 1}
    editor.move_to(0)
    editor.type("#\n")
    result = await command(editor, "deepseek.refactor", arg)
    assert result == {"applied": False, "reason": result["reason"]}
    assert "changed since the action was offered" in result["reason"]
    assert content_requests(sim) == []


#: (Markdown answer of the plain path, code-only answer of prefix completion, why refused)
NOT_APPLIED = [
    ("I would rather not change this code.", "I would rather not change this code.",
     "no code block"),
    ("", "", "empty"),
    ("```python\n    def total(self, items):\n        # ... rest unchanged\n```",
     "    def total(self, items):\n        # ... rest unchanged\n", "leaves out"),
    (f"```python\n{TOTAL.rstrip()}\n```", TOTAL, "no change"),
]


@pytest.mark.parametrize("route", ["beta", "plain"])
async def test_answers_that_never_delete_the_selection(start_server, sim, route):
    # "plain": a base URL without the /beta chat route (falls back to Markdown answers)
    env = {} if route == "beta" else {"DEEPSEEK_BASE_URL": sim.base_url + "/v1"}
    editor = await chat_editor(start_server, PY, SHOP, env=env)
    for markdown, code, reason in NOT_APPLIED:
        answer = code if route == "beta" else markdown
        sim.script(Rule(path="/v1/chat/completions" if route == "plain" else BETA_CHAT,
                        text=answer, times=1))
        result = await command(editor, "deepseek.document", of_text(editor, TOTAL))
        assert result["applied"] is False and reason in result["reason"], answer
        assert editor.doc.text == SHOP and editor.applied_edits == []
    await wait_until(lambda: len(editor.client.messages) == len(NOT_APPLIED))


# -- chat: history, sessions, model generations ---------------------------------------------------


async def test_history_across_rounds_and_new_session(start_server, sim, cache_env):
    editor = await chat_editor(start_server, PY, SHOP, env=cache_env,
                               init_options={"chatReasoning": True})
    first = await command(editor, "deepseek.chat",
                          {"question": "What does total do?", **of_text(editor, TOTAL)})
    assert first["reasoningContent"]  # thinking on: shown apart ...
    second = await command(editor, "deepseek.chat", {"question": "And count?"})
    third = await command(editor, "deepseek.chat", {"question": "Fresh start", "newSession": True})
    r1, r2, r3 = sim.requests(CHAT)
    assert r1.json["thinking"] == {"type": "enabled"}
    assert [m["role"] for m in r1.json["messages"]] == ["system", "user"]
    assert "What does total do?" in user_text(r1) and TOTAL in user_text(r1)
    # ... and never sent back: the second round carries the first answer's content only
    assert [m["role"] for m in r2.json["messages"]] == ["system", "user", "assistant", "user"]
    assert r2.json["messages"][1]["content"] == user_text(r1)
    assert r2.json["messages"][2] == {"role": "assistant", "content": first["content"]}
    assert "round 2" in second["content"]
    assert [m["role"] for m in r3.json["messages"]] == ["system", "user"]
    assert "round 1" in third["content"]


@pytest.mark.parametrize(("generation", "plain", "reasoner", "thinking"), [
    ("v4", "deepseek-v4-flash", "deepseek-v4-flash", ({"type": "disabled"}, {"type": "enabled"})),
    ("legacy", "deepseek-chat", "deepseek-reasoner", (None, None)),
])
async def test_model_generations(start_server, sim, generation, plain, reasoner, thinking):
    sim.configure(generation=generation)
    editor = await chat_editor(start_server, capabilities=BARE_CLIENT)
    without = await command(editor, "deepseek.chat", {"question": "Why?"})
    with_reasoning = await command(editor, "deepseek.chat", {"question": "Why?",
                                                            "reasoning": True})
    r1, r2 = sim.requests(CHAT)
    assert (r1.json["model"], r2.json["model"]) == (plain, reasoner)
    assert (without["model"], with_reasoning["model"]) == (plain, reasoner)
    assert (r1.json.get("thinking"), r2.json.get("thinking")) == thinking
    assert "reasoningContent" not in without and with_reasoning["reasoningContent"]
    # the reasoning of the first answer is not in the second request
    assert all("reasoning_content" not in m for m in r2.json["messages"])


# -- cancellation ---------------------------------------------------------------------------------


async def test_progress_cancel_closes_the_upstream_stream(start_server, sim):
    sim.script(Rule(path=CHAT, text="slow " * 400, chunk_delay_s=0.02))
    editor = await chat_editor(start_server, PY, SHOP)
    task = asyncio.ensure_future(command(editor, "deepseek.chat", {"question": "Long?"}))
    token = await wait_until(lambda: next(
        (t for t in editor.client.progress_reports
         if "report" in progress_kinds(editor, t)), None))
    editor.client.protocol.notify(lsp.WINDOW_WORK_DONE_PROGRESS_CANCEL,
                                  lsp.WorkDoneProgressCancelParams(token=token))
    with pytest.raises(JsonRpcException) as info:
        await task
    assert info.value.code == -32800 and info.value.data["kind"] == "cancelled"
    await wait_until(lambda: sim.requests(CHAT)[0].disconnected)
    await wait_until(lambda: progress_kinds(editor, token)[-1] == "end")


async def test_cancel_request_closes_the_upstream_stream(start_server, sim):
    sim.script(Rule(path=CHAT, text="slow " * 400, chunk_delay_s=0.02))
    editor = await chat_editor(start_server, PY, SHOP)
    future = asyncio.ensure_future(editor.client.protocol.send_request_async(
        lsp.WORKSPACE_EXECUTE_COMMAND,
        lsp.ExecuteCommandParams(command="deepseek.chat", arguments=[{"question": "Long?"}]),
        msg_id="chat-1"))
    await wait_until(lambda: sim.requests(CHAT))
    editor.client.protocol.notify(lsp.CANCEL_REQUEST, lsp.CancelParams(id="chat-1"))
    with pytest.raises(JsonRpcException):
        await future
    await wait_until(lambda: sim.requests(CHAT)[0].disconnected)


async def test_newer_chat_supersedes_the_running_one(start_server, sim):
    sim.script(Rule(path=CHAT, text="slow " * 400, chunk_delay_s=0.02, times=1),
               Rule(path=CHAT, text="Quick answer."))
    editor = await chat_editor(start_server, PY, SHOP)
    first = asyncio.ensure_future(command(editor, "deepseek.chat", {"question": "Long?"}))
    await wait_until(lambda: sim.requests(CHAT))
    second = await command(editor, "deepseek.chat", {"question": "Short?"})
    assert second["content"] == "Quick answer."
    with pytest.raises(JsonRpcException) as info:
        await first
    assert info.value.code == -32800 and info.value.data["kind"] == "superseded"
    await wait_until(lambda: sim.requests(CHAT)[0].disconnected)
    # the superseded round is not in the history
    third = await command(editor, "deepseek.chat", {"question": "Next?"})
    assert third and [m["role"] for m in sim.requests(CHAT)[2].json["messages"]] == [
        "system", "user", "assistant", "user"]


# -- failures -------------------------------------------------------------------------------------

FAILURES = [
    (Rule(path=CHAT, status=401), "authentication", "401"),
    (Rule(path=CHAT, status=402), "balance", "402"),
    (Rule(path=CHAT, status=429, retry_after=3), "rate_limit", "429"),
    (Rule(path=CHAT, status=500), "server", "server error"),
    (Rule(path=CHAT, status=503), "server_busy", "503"),
    (Rule(path=CHAT, stall_s=3), "timeout", "stalled"),
    (Rule(path=CHAT, text="part " * 50, drop_after_chunks=3), None, ""),
    (Rule(path=CHAT, text="part " * 50, truncate=True), "malformed", ""),
]


async def test_every_failure_kind_ends_progress_and_leaves_the_document(start_server, sim):
    editor = await chat_editor(start_server, PY, SHOP, init_options={"timeoutMs": 500})
    for number, (rule, kind, words) in enumerate(FAILURES):
        sim.script(dataclass_copy(rule, path=BETA_CHAT, times=1))
        error = await failing(editor, "deepseek.document", of_text(editor, TOTAL))
        assert error.code == lsp.LSPErrorCodes.RequestFailed, rule
        if kind is not None:
            assert error.data["kind"] == kind, rule
        else:
            assert error.data["kind"] in ("connection", "malformed"), rule
        assert words in error.message
        if rule.status in (401, 402):
            assert "platform.deepseek.com" in error.message  # says what to do
        if rule.status == 429:
            assert error.data["retryAfter"] == 3
        assert editor.doc.text == SHOP and editor.applied_edits == []
        tokens = list(editor.client.progress_reports)
        assert len(tokens) == number + 1
        await wait_until(lambda t=tokens[-1]: progress_kinds(editor, t)[-1:] == ["end"])
    # the error response is the one message: clients show it, the server adds no popup
    assert editor.client.messages == []


def dataclass_copy(rule: Rule, **changes):
    return dataclasses.replace(rule, **changes)


async def test_missing_key_and_bad_arguments(start_server, sim):
    editor = await chat_editor(start_server, PY, SHOP, key=None)
    error = await failing(editor, "deepseek.chat", {"question": "Hi?"})
    assert error.code == lsp.LSPErrorCodes.RequestFailed and error.data["kind"] == "missing_key"
    error = await failing(editor, "deepseek.explain", {"question": "no range"})
    assert error.code == -32602 and error.data["kind"] == "invalid_arguments"
    error = await failing(editor, "deepseek.explain", {"uri": "file:///work/closed.py",
                                                        "range": of_text(editor, TOTAL)["range"]})
    assert error.code == -32602 and error.data["kind"] == "not_open"
    editor.open("file:///work/big.py", "x = 1\n" * 6000)
    error = await failing(editor, "deepseek.refactor", of_text(editor, "x = 1\n" * 6000))
    assert error.code == -32602 and error.data["kind"] == "too_large"
    assert "select less code" in error.message
    assert [r.path for r in content_requests(sim)] == []


async def test_excluded_files_are_never_sent(start_server, sim):
    secret = "DEEPSEEK_API_KEY=sk-live-0123456789abcdefghijkl\n"
    editor = await chat_editor(start_server, "file:///work/.env", secret, "dotenv")
    selected = of_text(editor, secret)
    for name, argument in [("deepseek.chat", {"question": "Is this ok?", **selected}),
                           ("deepseek.explain", selected), ("deepseek.document", selected)]:
        error = await failing(editor, name, argument)
        assert error.data["kind"] == "excluded" and ".env" in error.message
    assert [r.path for r in content_requests(sim)] == []
    assert all("sk-live" not in r.raw for r in sim.requests())


# -- account commands -----------------------------------------------------------------------------


async def test_balance_and_models(start_server, sim):
    editor = await chat_editor(start_server)
    balance = await command(editor, "deepseek.balance")
    assert balance["isAvailable"] is True
    assert {b["currency"] for b in balance["balances"]} == {"CNY", "USD"}
    await wait_until(lambda: balance["message"] in messages_text(editor))
    models = await command(editor, "deepseek.models")
    assert models["models"] == ["deepseek-v4-flash", "deepseek-v4-pro"]
    await wait_until(lambda: "deepseek-v4-flash (auto), deepseek-v4-pro" in messages_text(editor))
    assert models["autoFim"] == models["autoChat"] == "deepseek-v4-flash"
    sim.script(Rule(path="/user/balance", status=401))
    error = await failing(editor, "deepseek.balance")
    assert error.data["kind"] == "authentication"
