"""DeepSeek's chat features end to end over LSP (the server over stdio, the simulator on
loopback): edits through chat prefix completion and its fallback, Write tests as JSON output
that creates the file, look-up tools, `chatMaxTokens`, chat usage in the status, and
`answerPages`.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from chat_helpers import (
    CHAT,
    CHAT_CLIENT,
    _record_raw_progress,
    messages_text,
    of_text,
    progress_kinds,
    wait_until,
)
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pygls.uris import to_fs_path

from deepseek_lsp.demo import Editor
from deepseek_lsp.documents import UTF16, Document
from deepseek_lsp.simulator import Rule

BETA_CHAT = "/beta/chat/completions"
V1 = "/v1/chat/completions"

SCALING = "def scale(value, factor):\n    return value * factor\n"
USER = ("from scaling import scale\n\n\n"
        "def double_all(values):\n    return [scale(v, 2) for v in values]\n")
SHOP = (
    "class Cart:\n"
    "    def total(self, items):\n"
    "        return sum(i.price for i in items)\n"
)
TOTAL = "    def total(self, items):\n        return sum(i.price for i in items)\n"

#: A client that can create files: `documentChanges` with the `create` resource operation.
FILE_CLIENT = lsp.ClientCapabilities(
    text_document=CHAT_CLIENT.text_document,
    window=CHAT_CLIENT.window,
    workspace=lsp.WorkspaceClientCapabilities(
        apply_edit=True,
        workspace_edit=lsp.WorkspaceEditClientCapabilities(
            document_changes=True, resource_operations=[lsp.ResourceOperationKind.Create])),
)


async def command(editor: Editor, name: str, argument: Any = None) -> Any:
    return await editor.client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command=name, arguments=[] if argument is None else [argument]))


class Disk:
    """`workspace/applyEdit` as an editor with files does it: the open document in memory,
    other files on disk (`CreateFile` never overwrites unless told to)."""

    def __init__(self, editor: Editor) -> None:
        self.editor = editor
        self.edits: list[lsp.ApplyWorkspaceEditParams] = []
        editor.client.feature(lsp.WORKSPACE_APPLY_EDIT)(lambda params: self.apply(params))

    def _edit(self, uri: str, edits: list[Any]) -> None:
        doc = self.editor.doc
        if doc is not None and uri == doc.uri:
            target = doc
        else:
            path = Path(to_fs_path(uri))
            target = Document(uri, "", 0, path.read_text(encoding="utf-8"))
        for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character),
                        reverse=True):
            r = e.range
            target.apply_edit((r.start.line, r.start.character), (r.end.line, r.end.character),
                              e.new_text, UTF16)
        if target is doc:
            self.editor._did_change(doc, [lsp.TextDocumentContentChangePartial(
                range=e.range, text=e.new_text) for e in edits])
        else:
            Path(to_fs_path(uri)).write_text(target.text, encoding="utf-8")

    def apply(self, params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
        self.edits.append(params)
        for change in params.edit.document_changes or []:
            if isinstance(change, lsp.CreateFile):
                path = Path(to_fs_path(change.uri))
                options = change.options or lsp.CreateFileOptions()
                if path.exists() and not options.overwrite:
                    if options.ignore_if_exists:
                        continue
                    return lsp.ApplyWorkspaceEditResult(False, "the file exists")
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("", encoding="utf-8")
            elif isinstance(change, lsp.TextDocumentEdit):
                self._edit(change.text_document.uri, list(change.edits))
            else:
                return lsp.ApplyWorkspaceEditResult(False, "unsupported change")
        for uri, edits in (params.edit.changes or {}).items():
            self._edit(uri, list(edits))
        return lsp.ApplyWorkspaceEditResult(applied=True)


async def editor_in(start_server: Any, root: Path, name: str, text: str,
                    capabilities: lsp.ClientCapabilities = FILE_CLIENT,
                    **kw: Any) -> tuple[Editor, Disk]:
    """A started server whose workspace is `root`, with `root/name` written and open."""
    editor = await start_server(capabilities=capabilities, **kw)
    disk = Disk(editor)
    _record_raw_progress(editor)
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text, encoding="utf-8")
    editor.open((root / name).as_uri(), text, "python")
    return editor, disk


def chat_bodies(sim: Any, path: str = CHAT) -> list[dict[str, Any]]:
    return [r.json for r in sim.requests(path)]


# -- 1. edits through chat prefix completion -------------------------------------------------------


@pytest.mark.parametrize("kind", ["document", "refactor", "fix"])
async def test_edit_actions_ask_beta_with_an_open_fence_and_apply_the_code(
        start_server, sim, tmp_path, kind):
    editor, _ = await editor_in(start_server, tmp_path, "shop.py", SHOP)
    result = await command(editor, f"deepseek.{kind}", {**of_text(editor, TOTAL), "version": 1})
    assert result["applied"] is True, result
    assert editor.doc.text != SHOP
    (request,) = sim.requests(BETA_CHAT)
    assert request.json["messages"][-1] == {"role": "assistant", "content": "```python\n",
                                            "prefix": True}
    assert request.json["stop"] == ["```"]
    assert "```" not in request.response_text  # code only: no fence, no prose to strip
    assert sim.requests(CHAT) == []


async def test_the_fence_is_longer_than_backticks_in_the_selection(start_server, sim, tmp_path):
    text = 'DOC = """\n```python\nx = 1\n```\n"""\n'
    editor, _ = await editor_in(start_server, tmp_path, "doc.py", text)
    await command(editor, "deepseek.refactor", of_text(editor, text))
    (request,) = sim.requests(BETA_CHAT)
    assert request.json["messages"][-1]["content"] == "````python\n"
    assert request.json["stop"] == ["````"]


async def test_without_a_beta_route_edits_fall_back_once_and_remember(
        start_server, sim, tmp_path):
    """A DeepSeek-compatible server without `/beta` (here: the base URL ends in /v1)."""
    editor, _ = await editor_in(start_server, tmp_path, "shop.py", SHOP,
                                env={"DEEPSEEK_BASE_URL": sim.base_url + "/v1"})
    first = await command(editor, "deepseek.document", of_text(editor, TOTAL))
    assert first["applied"] is True
    second = await command(editor, "deepseek.refactor", of_text(editor, "        return sum"))
    assert second["applied"] is True
    paths = [r.path for r in sim.requests() if "chat" in r.path]
    assert paths == ["/v1/beta/chat/completions", V1, V1]  # the beta route is tried once
    assert sim.requests("/v1/beta/chat/completions")[0].status == 404
    assert "prefix" not in json.dumps(sim.requests(V1)[0].json["messages"])


async def test_deepseeks_400_naming_the_prefix_falls_back_other_400s_do_not(
        start_server, sim, tmp_path):
    editor, _ = await editor_in(start_server, tmp_path, "shop.py", SHOP)
    sim.script(Rule(path=BETA_CHAT, status=400, times=1,
                    error_message="Invalid max_tokens value, the valid range is [1, 8192]"))
    with pytest.raises(JsonRpcException) as info:
        await command(editor, "deepseek.document", of_text(editor, TOTAL))
    assert info.value.data["kind"] == "invalid_request"
    sim.script(Rule(path=BETA_CHAT, status=400, times=1, error_message=(
        'prefix is only available when using beta api (set base_url="https://api.deepseek'
        '.com/beta")')))
    result = await command(editor, "deepseek.document", of_text(editor, TOTAL))
    assert result["applied"] is True
    assert [r.path for r in sim.requests() if "chat" in r.path] == [
        BETA_CHAT, BETA_CHAT, CHAT]


# -- 2. Write tests: JSON output that creates the file ---------------------------------------------


async def test_write_tests_creates_the_file_next_to_the_projects_tests(
        start_server, sim, tmp_path):
    existing = tmp_path / "tests" / "unit" / "test_money.py"
    existing.parent.mkdir(parents=True)
    existing.write_text("import unittest\n\n\nclass TestMoney(unittest.TestCase):\n"
                        "    def test_zero(self):\n        self.assertEqual(0, 0)\n")
    code = "def add(a, b):\n    return a + b\n"
    editor, disk = await editor_in(start_server, tmp_path, "maths.py", code)
    result = await command(editor, "deepseek.tests", of_text(editor, code))
    assert result["applied"] is True, result
    assert result["file"] == {"path": "tests/unit/test_maths.py",
                              "uri": (tmp_path / "tests/unit/test_maths.py").as_uri(),
                              "created": True}
    written = (tmp_path / "tests" / "unit" / "test_maths.py").read_text()
    assert written == result["code"]
    assert "class TestMaths(unittest.TestCase):" in written  # the project's framework
    compile(written, "test_maths.py", "exec")
    # one workspace/applyEdit: CreateFile (never overwriting), then the text
    (params,) = disk.edits
    create, text = params.edit.document_changes
    assert isinstance(create, lsp.CreateFile) and create.options.ignore_if_exists
    assert not create.options.overwrite
    assert isinstance(text, lsp.TextDocumentEdit) and text.edits[0].new_text == written
    # asked as JSON output, with the example, the project's tests and their framework
    (body,) = chat_bodies(sim)
    assert body["response_format"] == {"type": "json_object"}
    prompt = body["messages"][-1]["content"]
    assert '{"path": "<test file path relative to the workspace root>"' in prompt
    assert "`tests/unit/test_money.py`. They use unittest." in prompt
    # and the new file is shown
    assert editor.client.shown_documents[-1].uri == result["file"]["uri"]


async def test_write_tests_appends_to_an_existing_file_without_repeating_imports(
        start_server, sim, tmp_path):
    target = tmp_path / "tests" / "test_maths.py"
    target.parent.mkdir()
    before = "from maths import add\n\n\ndef test_old():\n    assert add(1, 1) == 2\n"
    target.write_text(before)
    code = "def add(a, b):\n    return a + b\n"
    editor, disk = await editor_in(start_server, tmp_path, "maths.py", code)
    result = await command(editor, "deepseek.tests", of_text(editor, code))
    assert result["applied"] is True and result["file"]["created"] is False
    after = target.read_text()
    assert after.startswith(before)  # never overwritten
    assert after.count("from maths import add") == 1
    assert "def test_add():" in after[len(before):]
    (params,) = disk.edits
    assert not any(isinstance(c, lsp.CreateFile) for c in params.edit.document_changes)


async def test_json_empty_content_is_asked_again_once_then_said(start_server, sim, tmp_path):
    code = "def add(a, b):\n    return a + b\n"
    editor, disk = await editor_in(start_server, tmp_path, "maths.py", code)
    sim.script(Rule(path=CHAT, json_empty=True, times=1))
    result = await command(editor, "deepseek.tests", of_text(editor, code))
    assert result["applied"] is True and len(sim.requests(CHAT)) == 2
    assert result["usage"]["completionTokens"] == sum(
        r.usage["completion_tokens"] for r in sim.requests(CHAT))

    sim.script(Rule(path=CHAT, json_empty=True, times=2))
    result = await command(editor, "deepseek.tests", of_text(editor, code))
    assert result["applied"] is False and "empty content" in result["reason"]
    assert len(sim.requests(CHAT)) == 4 and len(disk.edits) == 1
    await wait_until(lambda: "empty content" in messages_text(editor))


BAD_PATHS = [
    ("../outside/test_maths.py", "leaves the workspace"),
    ("/tmp/test_maths.py", "not relative"),
    ("C:/tests/test_maths.py", "not relative"),
    ("tests/../../test_maths.py", "leaves the workspace"),
    (".git/hooks/test_maths.py", "hidden"),
    ("maths.py", "not named like a test file"),
    ("tests/test_maths.sh", "not named like a test file"),
    ("tests\\test_maths.py", "not a plain relative path"),
    ("secrets/test_maths.py", "exclude"),
]


async def test_paths_the_model_names_are_checked_before_anything_is_written(
        start_server, sim, tmp_path):
    code = "def add(a, b):\n    return a + b\n"
    editor, disk = await editor_in(start_server, tmp_path, "maths.py", code,
                                   init_options={"exclude": ["**/secrets/**"]})
    (tmp_path / "escape").symlink_to(tmp_path.parent)
    for path, reason in [*BAD_PATHS, ("escape/test_maths.py", "outside the workspace")]:
        answer = json.dumps({"path": path, "content": "def test_x():\n    pass\n"})
        sim.script(Rule(path=CHAT, text=answer, times=1))
        result = await command(editor, "deepseek.tests", of_text(editor, code))
        assert result["applied"] is False and reason in result["reason"], (path, result)
        assert result["code"] == "def test_x():\n    pass\n"
    assert disk.edits == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["escape", "maths.py"]
    assert not (tmp_path.parent / "test_maths.py").exists()


async def test_clients_that_cannot_create_files_get_the_answer_shown(
        start_server, sim, tmp_path):
    code = "def add(a, b):\n    return a + b\n"
    editor, disk = await editor_in(start_server, tmp_path, "maths.py", code,
                                   capabilities=CHAT_CLIENT,
                                   env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    result = await command(editor, "deepseek.tests", of_text(editor, code))
    assert result["applied"] is False and "cannot create files" in result["reason"]
    assert disk.edits == [] and not (tmp_path / "tests").exists()
    page = Path(to_fs_path(result["documentUri"])).read_text()
    assert "Suggested test file `tests/test_maths.py`" in page
    assert "def test_add():" in page


# -- 3. look-up tools ------------------------------------------------------------------------------

GENERATIONS = [("legacy", False), ("v4", False), ("v4", True)]


@pytest.mark.parametrize(("generation", "reasoning"), GENERATIONS)
async def test_chat_looks_up_a_definition_in_an_open_document(
        start_server, sim, tmp_path, generation, reasoning):
    sim.configure(generation=generation)
    editor, _ = await editor_in(start_server, tmp_path, "scaling.py", SCALING)
    editor.open((tmp_path / "app.py").as_uri(), USER, "python")  # the question's document
    question = {"question": "What does this return for an empty list?", "reasoning": reasoning,
                **of_text(editor, USER[USER.index("def "):])}
    result = await command(editor, "deepseek.chat", question)
    assert result["lookups"] == ["looked up `scale` in scaling.py"]
    assert "I looked up `scale` in `scaling.py`" in result["content"]
    first, second = chat_bodies(sim)
    assert [t["function"]["name"] for t in first["tools"]] == ["find_definition", "read_lines"]
    assert first["tools"][0]["function"]["parameters"]["required"] == ["name"]
    tool = second["messages"][-1]
    assert tool["role"] == "tool" and SCALING.strip() in tool["content"]
    assert "scaling.py, line 1" in tool["content"]
    call = second["messages"][-2]
    assert call["tool_calls"][0]["function"]["name"] == "find_definition"
    # thinking mode (V4) needs the reasoning of the tool-call turn back; nowhere else
    assert ("reasoning_content" in call) is (generation == "v4" and reasoning)
    # the look-up is shown in the progress, then the answer streams
    reports = [v for _, v in editor.raw_progress if v.get("kind") == "report"]
    (looked_up,) = [i for i, r in enumerate(reports) if "lookup" in r]
    assert reports[looked_up]["message"] == "looked up `scale` in scaling.py"
    assert reports[looked_up]["lookup"] == "looked up `scale` in scaling.py"
    assert not any(r.get("delta") for r in reports[:looked_up])  # then the answer streams
    assert "".join(r.get("delta", "") for r in reports[looked_up:]) == result["content"]
    # usage counts both rounds
    assert result["usage"]["completionTokens"] == sum(
        r.usage["completion_tokens"] for r in sim.requests(CHAT))


async def test_explain_looks_up_in_workspace_files_but_never_excluded_ones(
        start_server, sim, tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "scaling.py").write_text(
        "# helpers\n\n" + SCALING.replace("return", "KEY = 'sk-live-0123456789abcdefghijklmn'"
                                          "\n    return"))
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "scale.py").write_text("def scale(x):\n    return x\n")
    editor, _ = await editor_in(start_server, tmp_path, "app.py", USER)
    result = await command(editor, "deepseek.explain", of_text(editor, USER[USER.index("def "):]))
    assert result["lookups"] == ["looked up `scale` in scaling.py"]
    tool = chat_bodies(sim)[1]["messages"][-1]["content"]
    assert tool.startswith("pkg/scaling.py, line 3:")
    assert "<redacted>" in tool and "sk-live" not in tool  # redactSecrets

    # the same definition only in an excluded file: not found, and never read out
    sim.reset()
    (tmp_path / "pkg" / "scaling.py").rename(tmp_path / "pkg" / "secrets.py")
    result = await command(editor, "deepseek.explain", of_text(editor, USER[USER.index("def "):]))
    assert result["lookups"] == ["looked up `scale`: not found"]
    tools = [m["content"] for body in chat_bodies(sim) for m in body["messages"]
             if m["role"] == "tool"]
    assert tools and all("factor" not in t and "No definition of `scale`" in t for t in tools)


async def test_with_chat_lookups_off_only_the_selection_is_sent(start_server, sim, tmp_path):
    editor, _ = await editor_in(start_server, tmp_path, "scaling.py", SCALING,
                                init_options={"chatLookups": False})
    editor.open((tmp_path / "app.py").as_uri(), USER, "python")
    question = {"question": "What does this return for an empty list?",
                **of_text(editor, USER[USER.index("def "):])}
    result = await command(editor, "deepseek.chat", question)
    assert not result.get("lookups")
    (body,) = chat_bodies(sim)  # one round, offered no tools
    assert "tools" not in body
    assert not any("factor" in str(m.get("content")) for m in body["messages"])


async def test_look_up_rounds_are_bounded(start_server, sim, tmp_path):
    sim.script(Rule(path=CHAT, tool_calls=[{"name": "find_definition",
                                            "arguments": {"name": "scale"}}]))
    editor, _ = await editor_in(start_server, tmp_path, "app.py", USER)
    result = await command(editor, "deepseek.chat",
                           {"question": "Why?", **of_text(editor, USER)})
    bodies = chat_bodies(sim)
    assert len(bodies) == 4 and len(result["lookups"]) == 3
    assert [b.get("tool_choice") for b in bodies] == [None, None, None, "none"]


async def test_cancelling_during_look_ups_stops_the_next_round(start_server, sim, tmp_path):
    sim.script(Rule(path=CHAT, chunk_delay_s=0.05))
    editor, _ = await editor_in(start_server, tmp_path, "scaling.py", SCALING)
    editor.open((tmp_path / "app.py").as_uri(), USER, "python")
    task = asyncio.ensure_future(command(editor, "deepseek.chat",
                                         {"question": "Empty list?", **of_text(editor, USER)}))
    token = await wait_until(lambda: next(
        (t for t, v in editor.raw_progress if v.get("lookup")), None), timeout=10)
    await wait_until(lambda: len(sim.requests(CHAT)) == 2)
    editor.client.protocol.notify(lsp.WINDOW_WORK_DONE_PROGRESS_CANCEL,
                                  lsp.WorkDoneProgressCancelParams(token=token))
    with pytest.raises(JsonRpcException) as info:
        await task
    assert info.value.data["kind"] == "cancelled"
    await wait_until(lambda: sim.requests(CHAT)[1].disconnected)
    assert len(sim.requests(CHAT)) == 2


async def test_edits_and_questions_without_code_offer_no_tools(start_server, sim, tmp_path):
    editor, _ = await editor_in(start_server, tmp_path, "app.py", USER)
    await command(editor, "deepseek.chat", {"question": "What is a closure?"})
    await command(editor, "deepseek.document", of_text(editor, USER))
    assert all("tools" not in r.json for r in sim.requests() if "chat" in r.path)


async def test_the_legacy_reasoner_is_offered_no_tools(start_server, sim, tmp_path):
    sim.configure(generation="legacy")
    editor, _ = await editor_in(start_server, tmp_path, "app.py", USER)
    result = await command(editor, "deepseek.chat", {"question": "Why?", "reasoning": True,
                                                     **of_text(editor, USER)})
    (body,) = chat_bodies(sim)
    assert body["model"] == "deepseek-reasoner" and "tools" not in body
    assert result["reasoningContent"]


async def test_chat_tokens_count_in_the_status(start_server, sim, tmp_path):
    editor, _ = await editor_in(start_server, tmp_path, "scaling.py", SCALING)
    editor.open((tmp_path / "app.py").as_uri(), USER, "python")
    await command(editor, "deepseek.chat", {"question": "Empty?", **of_text(editor, USER)})
    await command(editor, "deepseek.document", of_text(editor, USER))
    status = await command(editor, "deepseek.status")
    usages = [r.usage for r in sim.requests() if "chat" in r.path]
    assert len(usages) == 3
    assert status["completionTokens"] == sum(u["completion_tokens"] for u in usages)
    assert status["promptTokens"] == sum(u["prompt_tokens"] for u in usages)
    assert status["estimatedCost"] > 0


# -- 5. chatMaxTokens ------------------------------------------------------------------------------


async def test_answers_cut_at_chat_max_tokens_say_so(start_server, sim, tmp_path):
    sim.script(Rule(path=CHAT, text="word " * 400))
    editor, _ = await editor_in(start_server, tmp_path, "shop.py", SHOP,
                                init_options={"chatMaxTokens": 300},
                                env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    result = await command(editor, "deepseek.explain", of_text(editor, TOTAL))
    (body,) = chat_bodies(sim)
    assert body["max_tokens"] == 300
    assert result["finishReason"] == "length" and result["cutAtTokens"] == 300
    assert result["notice"] == ("The answer was cut at 300 tokens (the `chatMaxTokens` "
                                "setting).")
    token = editor.raw_progress[-1][0]
    assert editor.client.progress_reports[token][-1].message == (
        "the answer was cut at 300 tokens (the `chatMaxTokens` setting)")
    assert "cut at 300 tokens" in Path(to_fs_path(result["documentUri"])).read_text()

    sim.script(Rule(path=BETA_CHAT, text="    def total(self, items):\n" + "    x = 1\n" * 400))
    result = await command(editor, "deepseek.refactor", of_text(editor, TOTAL))
    assert result["applied"] is False and "cut at 300 tokens" in result["reason"]
    assert editor.doc.text == SHOP


async def test_chat_max_tokens_default_and_legacy_limit(start_server, sim, tmp_path):
    editor, _ = await editor_in(start_server, tmp_path, "shop.py", SHOP)
    await command(editor, "deepseek.chat", {"question": "Hi?"})
    assert chat_bodies(sim)[0]["max_tokens"] == 8192
    sim.reset()
    sim.configure(generation="legacy")
    sim.script(Rule(path=CHAT, text="word " * 9000))
    editor, _ = await editor_in(start_server, tmp_path, "shop.py", SHOP,
                                init_options={"chatMaxTokens": 20000})
    result = await command(editor, "deepseek.chat", {"question": "Hi?"})
    assert result["model"] == "deepseek-chat" and chat_bodies(sim)[0]["max_tokens"] == 8192
    assert result["cutAtTokens"] == 8192  # deepseek-chat's own limit, not the setting


# -- answer pages (issue 14) -----------------------------------------------------------------------


@pytest.mark.parametrize("pages", [True, False])
async def test_answer_pages_only_where_the_client_wants_them(start_server, sim, tmp_path, pages):
    cache = tmp_path / "cache"
    editor, _ = await editor_in(start_server, tmp_path, "shop.py", SHOP,
                                init_options={"answerPages": pages},
                                env={"XDG_CACHE_HOME": str(cache)})
    result = await command(editor, "deepseek.explain", of_text(editor, TOTAL))
    assert result["content"]
    assert ("documentUri" in result) is pages
    assert bool(editor.client.shown_documents) is pages
    assert (cache / "deepseek-lsp" / "answers").exists() is pages
    assert editor.client.messages == []
    token = editor.raw_progress[-1][0]
    assert progress_kinds(editor, token)[-1] == "end"
