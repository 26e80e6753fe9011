"""Secrets (SPEC §5): the key never shows, excluded files never leave, likely secrets are
redacted, and the simulator stays on loopback.

- The API key, whichever way it arrives (environment, `initializationOptions.apiKey`, a
  `workspace/configuration` answer), is in no log line at debug level, in no byte the editor
  receives (messages, results, errors, progress) and in no crash output (stderr), even when
  the API or a proxy echoes it back in an error.
- Excluded files (`.env`, `id_rsa`, `*.pem`, anything under `.ssh/`) reach the simulator in no
  form: not completed, not as a neighbour snippet, not through chat or code actions.
- Likely secrets in ordinary files (an `sk-` key, an AWS key id, a private key block,
  `password = "..."`) are replaced in FIM prompts, suffixes, neighbour snippets and chat
  messages, unless `redactSecrets` is off.
- The simulator, in-process or as `deepseek-lsp fake-api`, listens on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import string
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException

from deepseek_lsp.demo import Editor
from deepseek_lsp.simulator import Rule

from .support import (
    change_settings,
    content_requests,
    finish_stderr,
    launch,
    server_alive,
    stop,
    wait_for_status,
    wait_until,
)

FIM = "/beta/completions"
CHAT = "/chat/completions"
#: A key as DeepSeek issues them, and one as a gateway in front of it might (not `sk-` shaped,
#: so no pattern can catch it: only knowing the key can).
DEEPSEEK_KEY = "sk-4f9a1c7e2b8d4e6fa0c3b5d7e9f1a2c4"
GATEWAY_KEY = "gw_live_Q7zX2mK9pL4vN8rT3yW6"


def whole(editor: Editor) -> dict[str, Any]:
    assert editor.doc is not None
    line, character = editor.doc.position_at(len(editor.doc.text), "utf-16")
    return {"uri": editor.doc.uri, "range": {"start": {"line": 0, "character": 0},
                                             "end": {"line": line, "character": character}}}


async def command(editor: Editor, name: str, argument: Any) -> Any:
    return await asyncio.wait_for(editor.command(name, argument), 15)


# -- the key ----------------------------------------------------------------------------------


async def workout(editor: Editor, sim: Any, key: str, root: Path) -> None:
    """What a session does: completions, failures that echo the key, chat, status, bad input."""
    # the key may arrive a moment after `initialized` (from workspace/configuration)
    async def configured() -> bool:
        return (await command(editor, "deepseek.status", None))["keyConfigured"]

    deadline = time.monotonic() + 10
    while not await configured():
        assert time.monotonic() < deadline, "the key never arrived"
        await asyncio.sleep(0.05)
    text = "import os\n\n\ndef load(path):\n    "
    editor.open((root / "app.py").as_uri(), text)
    editor.move_to(len(text))
    sim.script(Rule(path=FIM, text="return open(path).read()", times=1))
    assert await asyncio.wait_for(editor.ghost(), 10) is not None  # the key works
    # a proxy that echoes the key in its error: shown to the user, without the key
    sim.script(Rule(path=FIM, status=401, times=1,
                    error_message=f"Authentication Fails, Your api key: {key} is invalid"))
    editor.type("x")  # not what was suggested: a new request
    await asyncio.wait_for(editor.ghost(), 10)
    await wait_until(lambda: editor.client.messages)
    sim.script(Rule(path=CHAT, status=502, times=1,
                    body=f"<html><body>upstream rejected Bearer {key}</body></html>"))
    with pytest.raises(JsonRpcException):
        await command(editor, "deepseek.explain", whole(editor))
    sim.script(Rule(path=CHAT, status=429, times=1, error_message=f"too many requests for {key}"))
    with pytest.raises(JsonRpcException):
        await command(editor, "deepseek.chat", {"question": "Why?"})
    answer = await command(editor, "deepseek.chat", {"question": "What does load do?",
                                                       **whole(editor)})
    assert answer["content"]
    status = await command(editor, "deepseek.status", None)
    assert status["keyConfigured"] is True
    await command(editor, "deepseek.models", None)
    await command(editor, "deepseek.balance", None)
    # a setting with a bad value is reported, with the value (never the key) shown
    editor.client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        settings={"deepseek": {"apiKey": ["not", "a", "string", key]}}))
    await wait_until(lambda: any("apiKey" in m.message for m in editor.client.messages))
    with pytest.raises(JsonRpcException):  # bad arguments are answered with an error
        await command(editor, "deepseek.chat", {"question": 42, "uri": key})


def everything_received(editor: Editor) -> bytes:
    return b"\n".join(editor.raw)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("source", "key"), [
    ("environment", DEEPSEEK_KEY),
    ("environment", GATEWAY_KEY),
    ("initializationOptions", DEEPSEEK_KEY),
    ("initializationOptions", GATEWAY_KEY),
    ("workspace/configuration", GATEWAY_KEY),
], ids=["env-deepseek-key", "env-gateway-key", "init-deepseek-key", "init-gateway-key",
        "configuration-gateway-key"])
async def test_the_key_is_never_logged_sent_or_printed(sim, tmp_path, capfd, source, key):
    log = tmp_path / "server.log"
    options: dict[str, Any] = {}
    if source == "environment":
        options["key"] = key
    elif source == "initializationOptions":
        options.update(key=None, init_options={"apiKey": key})
    else:
        options.update(key=None, configuration={"deepseek": {"apiKey": key}})
    editor = await launch(sim.base_url, tmp_path, record=True,
                          args=("--log-level", "debug", "--log-file", str(log)), **options)
    try:
        await workout(editor, sim, key, tmp_path)
        assert server_alive(editor)
    finally:
        await stop(editor)
    # the key was used ...
    assert any(r.key_sha256 is not None for r in sim.requests(FIM))
    # ... and shown nowhere: not in the log (which has debug records), ...
    logged = log.read_text(encoding="utf-8")
    assert " DEBUG " in logged and "workspace/executeCommand" in logged
    assert key not in logged
    # ... not in anything the editor received (messages, results, errors, progress) ...
    received = everything_received(editor)
    assert b"showMessage" in received and b"$/progress" in received
    assert key.encode() not in received
    assert all(key not in m.message for m in editor.client.messages)
    # ... and not on stderr
    assert key not in capfd.readouterr().err


async def test_stderr_has_no_key_even_when_interrupted(sim, tmp_path, capfd):
    """Logging to stderr at debug level (what editors show in their output panels), the same
    session, then the process interrupted mid-answer and its pipe closed: nothing it printed
    has the key, given here in `initializationOptions` (logged before the server reads it)."""
    editor = await launch(sim.base_url, tmp_path, key=None, record=True,
                          init_options={"apiKey": GATEWAY_KEY}, args=("--log-level", "debug"))
    server = editor.client._server
    try:
        await workout(editor, sim, GATEWAY_KEY, tmp_path)
        sim.script(Rule(path=CHAT, text="slow " * 200, chunk_delay_s=0.02))
        editor.client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
            settings={"deepseek": {"apiKey": GATEWAY_KEY}}))
        chat = asyncio.ensure_future(editor.command("deepseek.chat", {"question": "Long?"}))
        await wait_until(lambda: any(r.json["messages"][-1]["content"] == "Long?"
                                     for r in sim.requests(CHAT)))
        server.send_signal(signal.SIGINT)
        await asyncio.sleep(0.2)
        server.stdin.close()  # the editor goes away
        await asyncio.wait_for(server.wait(), 10)
        chat.cancel()
    finally:
        if server.returncode is None:
            server.kill()
        await finish_stderr(editor)
        await asyncio.wait_for(editor.client.stop(), 10)
    err = capfd.readouterr().err
    assert " DEBUG " in err and "initialize" in err
    assert GATEWAY_KEY not in err
    assert GATEWAY_KEY.encode() not in everything_received(editor)


# -- excluded files ---------------------------------------------------------------------------

#: Code shaped like the file being completed, so that it would be picked as a neighbour snippet
#: if it were allowed to be.
NEIGHBOURLY = ("def connect(database, user, host, port):\n"
               "    session = database.open(user, host, port)\n"
               "    session.verify(user, host)\n"
               "    return session\n")


def excluded_files(root: Path) -> dict[str, Path]:
    return {"EXCLUDED-DOTENV-7731": root / ".env",
            "EXCLUDED-IDRSA-7732": root / "id_rsa",
            "EXCLUDED-PEM-7733": root / "certs" / "server.pem",
            "EXCLUDED-SSH-7734": root / ".ssh" / "helpers.py"}


async def test_excluded_files_never_reach_the_simulator(start_server, sim, tmp_path):
    editor = await start_server(init_options={"redactSecrets": False})
    _offer_code_actions_as_sent(editor)
    # Excluded files, opened as Python so that they would qualify as neighbours
    for token, path in excluded_files(tmp_path).items():
        editor.open(path.as_uri(), f"# {token}\n{NEIGHBOURLY}\nTOKEN = '{token}'\n", "python")
        editor.move_to(len(editor.doc.text))
        assert await asyncio.wait_for(editor.ghost(), 10) is None  # nothing asked here
        for name, argument in [
            ("deepseek.chat", {"question": "Is this safe?", "uri": editor.doc.uri}),
            ("deepseek.chat", {"question": "Is this safe?", **whole(editor)}),
            ("deepseek.explain", whole(editor)),
            ("deepseek.document", whole(editor)),
            ("deepseek.tests", whole(editor)),
            ("deepseek.fix", {**whole(editor), "diagnostic": {
                "range": whole(editor)["range"], "message": "bad"}}),
        ]:
            with pytest.raises(JsonRpcException) as info:
                await command(editor, name, argument)
            assert info.value.data["kind"] == "excluded", (path, name)
        actions = await editor.client.text_document_code_action_async(lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(editor.doc.uri),
            range=lsp.Range(lsp.Position(0, 0), lsp.Position(3, 0)),
            context=lsp.CodeActionContext(diagnostics=[])))
        assert not actions, path
    # not one request with content yet (the connection was warmed with GET /models)
    assert [r.path for r in sim.requests() if r.path != "/models"] == []

    # An ordinary neighbour of the same shape is used (so the excluded ones could have been)
    editor.open((tmp_path / "db.py").as_uri(), f"# NEIGHBOUR-OK-7735\n{NEIGHBOURLY}", "python")
    text = "import db\n\n\ndef reconnect(database, user, host, port):\n    session = "
    editor.open((tmp_path / "app.py").as_uri(), text, "python")
    editor.move_to(len(text))
    await asyncio.wait_for(editor.ghost(), 10)
    await command(editor, "deepseek.chat", {"question": "What next?", **whole(editor)})
    await command(editor, "deepseek.explain", whole(editor))
    sent = "\n".join(r.raw for r in sim.requests())
    assert "NEIGHBOUR-OK-7735" in sim.requests(FIM)[0].json["prompt"]
    for token in excluded_files(tmp_path):
        assert token not in sent


def _offer_code_actions_as_sent(editor: Editor) -> None:
    from chat_helpers import _structure_code_actions_as_sent

    _structure_code_actions_as_sent(editor)


# -- likely secrets in ordinary files ---------------------------------------------------------

SK_KEY = "sk-" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6"
AWS_KEY = "AKIA" + "Z7QW3ERT5YUI8OPA"
PRIVATE_KEY = ("-----BEGIN PRIVATE KEY-----\n"
               "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
               "q3Zb5Yx9Wv2Tn8Rk1Lm4Pj7Hg0Fd6Sa3Qe5Ui8Oy2Kt4Nr7Mx\n"
               "-----END PRIVATE KEY-----\n")
PASSWORD = "hunter2-correct-horse"
SECRETS = {"sk- key": SK_KEY, "AWS key id": AWS_KEY,
           "private key block": "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcw", "password": PASSWORD}
CONFIG = (
    "import os\n\n"
    f'OPENAI_KEY = "{SK_KEY}"\n'
    f'PRIVATE = """{PRIVATE_KEY}"""\n\n'
    "def connect(database, user, host, port):\n"
    "    session = database.open(user, host, port)\n"
    "    "  # the cursor: key and key block above, AWS key and password below
    "\n\n"
    f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n'
    f'password = "{PASSWORD}"\n'
)
NEIGHBOUR_WITH_SECRET = (
    "def connect(database, user, host, port):\n"
    "    session = database.open(user, host, port)\n"
    f'    session.login(user, password="{PASSWORD}")\n'
    f'    session.token = "{SK_KEY}"\n'
    "    return session\n"
)


@pytest.mark.parametrize("redact", [True, False], ids=["default", "redactSecrets-off"])
async def test_likely_secrets_are_redacted_unless_turned_off(start_server, sim, tmp_path,
                                                             redact):
    options = {} if redact else {"redactSecrets": False}
    editor = await start_server(init_options=options)
    editor.open((tmp_path / "session.py").as_uri(), NEIGHBOUR_WITH_SECRET)
    editor.open((tmp_path / "settings.py").as_uri(), CONFIG)
    editor.move_to(CONFIG.index("    \n\n") + 4)
    await asyncio.wait_for(editor.ghost(), 10)
    (fim,) = sim.requests(FIM)
    prompt, suffix = fim.json["prompt"], fim.json["suffix"]
    assert "session.py" in prompt  # the neighbour snippet is there
    snippet = prompt[prompt.index("session.py"):prompt.rindex("settings.py")]
    await command(editor, "deepseek.chat", {"question": "Is this right?", **whole(editor)})
    start = CONFIG.index("AWS_ACCESS")
    line = CONFIG.count("\n", 0, start)
    await command(editor, "deepseek.explain", {"uri": editor.doc.uri, "range": {
        "start": {"line": line, "character": 0}, "end": {"line": line + 2, "character": 0}}})
    chat, explain = (r.json["messages"][-1]["content"] for r in sim.requests(CHAT))
    where = {
        "FIM prompt": (prompt, ["sk- key", "private key block"]),
        "FIM suffix": (suffix, ["AWS key id", "password"]),
        "neighbour snippet": (snippet, ["sk- key", "password"]),
        "chat message": (chat, list(SECRETS)),
        "code action message": (explain, ["AWS key id", "password"]),
    }
    for place, (text, names) in where.items():
        for name in names:
            assert (SECRETS[name] not in text) is redact, (place, name)
        if redact:
            assert "<redacted>" in text, place
    if redact:  # the code around the secrets is still there
        assert "AWS_ACCESS_KEY_ID = " in suffix and "def connect(" in prompt
        assert "\n" * PRIVATE_KEY.count("\n") in prompt  # same line count: positions hold


# -- files that are secret by where they are, or by where a link leads ------------------------

#: The home directory's secret stores, as `cd ~/.aws && hx credentials` opens them (the store
#: is the workspace, the file is shown by its bare name).
STORES = {".aws": ("credentials", "config"), ".ssh": ("config", "authorized_keys", "known_hosts"),
          ".gnupg": ("gpg.conf",), ".kube": ("config",)}


def secret_home(root: Path) -> dict[str, Path]:
    """Files of the usual secret stores under `root/home`, by a token each holds, in the shape
    of the code being completed (so that they would make good neighbour snippets)."""
    files = {}
    for store, names in STORES.items():
        for name in names:
            token = f"STORE{store.replace('.', '-')}-{name.replace('_', '-')}-4411".upper()
            path = root / "home" / store / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"# {token}\n{NEIGHBOURLY}\nTOKEN = '{token}'\n", encoding="utf-8")
            files[token] = path
    return files


async def refused_everywhere(editor: Editor, path: Path, language_id: str = "python") -> None:
    """Open `path` (its URI as given: a link stays a link) and try every way of sending it."""
    editor.open(path.as_uri(), path.read_text(encoding="utf-8"), language_id)
    editor.move_to(len(editor.doc.text))
    assert await asyncio.wait_for(editor.ghost(), 10) is None  # nothing asked here
    for name, argument in [
        ("deepseek.chat", {"question": "Is this safe?", "uri": editor.doc.uri}),
        ("deepseek.chat", {"question": "Is this safe?", **whole(editor)}),
        ("deepseek.explain", whole(editor)),
        ("deepseek.document", whole(editor)),
    ]:
        with pytest.raises(JsonRpcException) as info:
            await command(editor, name, argument)
        assert info.value.data["kind"] == "excluded", (path, name)
    actions = await editor.client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(editor.doc.uri),
        range=lsp.Range(lsp.Position(0, 0), lsp.Position(3, 0)),
        context=lsp.CodeActionContext(diagnostics=[])))
    assert not actions, path


async def complete_an_ordinary_file(editor: Editor, sim: Any, root: Path) -> str:
    """Complete in an ordinary file next to an ordinary neighbour: everything that was sent."""
    (root / "project").mkdir(exist_ok=True)
    editor.open((root / "project" / "db.py").as_uri(), f"# NEIGHBOUR-OK-7735\n{NEIGHBOURLY}")
    text = "import db\n\n\ndef reconnect(database, user, host, port):\n    session = "
    editor.open((root / "project" / "app.py").as_uri(), text)
    editor.move_to(len(text))
    await asyncio.wait_for(editor.ghost(), 10)
    (fim,) = sim.requests(FIM)
    assert "NEIGHBOUR-OK-7735" in fim.json["prompt"]  # neighbours were used
    return "\n".join(r.raw for r in sim.requests())


@pytest.mark.parametrize("store", [".aws", ".ssh", ".gnupg"])
async def test_a_workspace_that_is_a_secret_store_sends_nothing(sim, tmp_path, store):
    """Issue 10 §1: with ~/.aws as the workspace, `credentials` is `credentials`: only its
    absolute path shows what it is. Not completed, not a neighbour, not chatted about."""
    files = secret_home(tmp_path)
    editor = await launch(sim.base_url, tmp_path / "home" / store,
                          init_options={"redactSecrets": False})
    _offer_code_actions_as_sent(editor)
    try:
        for path in files.values():  # every store's files, as editors open them
            await refused_everywhere(editor, path)
        assert content_requests(sim) == []
        sent = await complete_an_ordinary_file(editor, sim, tmp_path)
    finally:
        await stop(editor)
    for token in files:
        assert token not in sent


async def test_a_document_opened_through_a_symlink_is_judged_by_its_target(start_server, sim,
                                                                           tmp_path):
    """Issue 10 §2: `link.py -> .env`, and a folder that links into ~/.ssh."""
    (tmp_path / ".env").write_text(f"# LINKED-DOTENV-5521\n{NEIGHBOURLY}", encoding="utf-8")
    (tmp_path / "link.py").symlink_to(tmp_path / ".env")
    files = secret_home(tmp_path)
    (tmp_path / "keys").symlink_to(tmp_path / "home" / ".ssh", target_is_directory=True)
    editor = await start_server(init_options={"redactSecrets": False})
    _offer_code_actions_as_sent(editor)
    await refused_everywhere(editor, tmp_path / "link.py")
    await refused_everywhere(editor, tmp_path / "keys" / "config")
    assert content_requests(sim) == []
    sent = await complete_an_ordinary_file(editor, sim, tmp_path)
    assert "LINKED-DOTENV-5521" not in sent
    assert not [token for token in files if token in sent]


def run_cli(sim: Any, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPSEEK_")}
    env.update(DEEPSEEK_BASE_URL=sim.base_url, DEEPSEEK_API_KEY=DEEPSEEK_KEY)
    return subprocess.run([sys.executable, "-m", "deepseek_lsp", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("where", "args", "shown"), [
    ("home/.aws", ("complete", "credentials:6:1"), ".aws/credentials"),
    ("home/.aws", ("chat", "Explain", "--file", "credentials"), ".aws/credentials"),
    ("home/.ssh", ("complete", "known_hosts:6:1"), ".ssh/known_hosts"),
    ("home/.kube", ("chat", "Explain", "--file", "config:1-2"), ".kube/config"),
    (".", ("complete", "cfg.py:3:1"), ".env"),  # cfg.py -> .env
    (".", ("chat", "Explain", "--file", "cfg.py"), ".env"),
], ids=["aws-complete", "aws-chat", "ssh-complete", "kube-chat", "link-complete", "link-chat"])
def test_the_command_line_refuses_secret_files_by_any_name(sim, tmp_path, where, args, shown):
    """One line, exit 2, nothing sent; the line says which name matched."""
    secret_home(tmp_path)
    (tmp_path / ".env").write_text("DB_HOST=db\nDB_PASSWORD=LINKED-CLI-8812\n", encoding="utf-8")
    (tmp_path / "cfg.py").symlink_to(tmp_path / ".env")
    result = run_cli(sim, tmp_path / where, *args)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "exclude" in line and shown in line
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert content_requests(sim) == []


# -- private key blocks seen from inside --------------------------------------------------------

KEY_LINES = ["".join(random.Random(i).choices(string.ascii_letters + string.digits + "+/", k=64))
             for i in range(40)]
PEM_FILE = ("import ssl\n\nKEY = '''\n-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(KEY_LINES)
            + "\n-----END RSA PRIVATE KEY-----\n'''\n\n\ndef context():\n"
              "    return ssl.create_default_context()\n")
#: The same key as string literals, one per line, long enough that the completion prompt
#: (about 5,500 characters before the cursor) begins inside it.
EMBEDDED_KEY_FILE = ("KEY = (\n    \"-----BEGIN RSA PRIVATE KEY-----\\n\"\n"
                     + "".join(f'    "{line}\\n"\n' for line in KEY_LINES * 3)
                     + "    \"-----END RSA PRIVATE KEY-----\\n\"\n)\n\n\ndef load(path):\n    ")


def _lines(first: int, last: int, uri: str) -> dict[str, Any]:
    return {"uri": uri, "range": {"start": {"line": first, "character": 0},
                                  "end": {"line": last, "character": 0}}}


async def test_lines_inside_a_private_key_block_are_never_sent(start_server, sim, tmp_path):
    """Issue 10 §3: a selection of lines inside the block (neither BEGIN nor END in it), and a
    completion prompt that begins inside one."""
    editor = await start_server()
    uri = (tmp_path / "tls.py").as_uri()
    editor.open(uri, PEM_FILE)
    inside = _lines(10, 20, uri)  # KEY_LINES[6:16]
    await command(editor, "deepseek.explain", inside)
    await command(editor, "deepseek.chat", {"question": "What is this?", **inside})
    await command(editor, "deepseek.chat", {"question": "What is this?", "uri": uri})
    editor.open((tmp_path / "keys.py").as_uri(), EMBEDDED_KEY_FILE)
    editor.move_to(len(EMBEDDED_KEY_FILE))
    await asyncio.wait_for(editor.ghost(), 10)
    (fim,) = sim.requests(FIM)
    assert "BEGIN RSA" not in fim.json["prompt"]  # the prompt does begin inside the block
    assert "def load(path):" in fim.json["prompt"]
    messages = [r.json["messages"][-1]["content"] for r in sim.requests(CHAT)]
    assert len(messages) == 3 and all("<redacted>" in m for m in messages)
    sent = "\n".join(r.raw for r in sim.requests())
    assert [line for line in KEY_LINES if line in sent] == []


# -- the families of secrets ------------------------------------------------------------------

#: Issue 10 §4: sent as-is before. Name → (line of the file, the secret in it).
FAMILIES = {
    "AWS secret, unquoted": ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLE",
                             "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLE"),
    "db_password, unquoted": ("db_password=Tr0ub4dor-and-3", "Tr0ub4dor-and-3"),
    "password in a URL": ("DSN = 'postgres://app:pw-in-url-9fK2@db:5432/app'", "pw-in-url-9fK2"),
    "bare JWT": ("JWT = eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXZhbHVl",
                 "eyJzdWIiOiIxMjM0NTY3ODkwIn0"),
    "Slack": ("SLACK = 'xoxb-2048-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx'",
              "1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"),
    "Stripe": ("stripe.api_key = sk_live_4eC39HqLyjWDarjtT1zdp7dc", "4eC39HqLyjWDarjtT1zdp7dc"),
    "Google": ("MAPS = 'AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI'", "SyDdI0hCZtE6vySjMm-WEf"),
    "GitHub": ("GH = 'ghp_" + "Ab1" * 12 + "'", "Ab1Ab1Ab1Ab1Ab1Ab1"),
    "GitHub fine-grained": ("GH2 = 'github_pat_11AAAAAAA0" + "Xy9" * 25 + "'", "Xy9Xy9Xy9Xy9"),
}
FAMILIES_FILE = ("import stripe\n\n" + "\n".join(line for line, _ in FAMILIES.values())
                 + "\n\n\ndef connect():\n    ")


@pytest.mark.parametrize("redact", [True, False], ids=["default", "redactSecrets-off"])
async def test_every_family_of_secrets_is_redacted(start_server, sim, tmp_path, redact):
    editor = await start_server(init_options={} if redact else {"redactSecrets": False})
    editor.open((tmp_path / "settings.py").as_uri(), FAMILIES_FILE)
    editor.move_to(len(FAMILIES_FILE))
    await asyncio.wait_for(editor.ghost(), 10)
    await command(editor, "deepseek.chat", {"question": "Is this right?",
                                            "uri": editor.doc.uri})
    (fim,) = sim.requests(FIM)
    (chat,) = sim.requests(CHAT)
    for place, text in (("FIM prompt", fim.json["prompt"]),
                        ("chat message", chat.json["messages"][-1]["content"])):
        for name, (line, secret) in FAMILIES.items():
            assert (secret not in text) is redact, (place, name)
            if redact:
                assert line[:line.index(secret)][:6] in text, (place, name)  # its name stays


# -- what the log holds at each level -------------------------------------------------------

#: Distinctive text of a document, of the suggestion shown for it and of a chat answer.
LOGGED_DOCUMENT = "def reconcile_quokka_ledger(path):\n    "
LOGGED_TYPED = "narwhal"
LOGGED_SUGGESTION = "return axolotl_checksum_9942(path)"
LOGGED_ANSWER = "It reconciles the capybara_marmot_5510 ledger."


async def logged_session(editor: Editor, sim: Any, root: Path) -> None:
    """Open, type, ghost text, chat, an edit action: what an editor does in a minute."""
    uri = (root / "ledger.py").as_uri()
    editor.open(uri, LOGGED_DOCUMENT)
    editor.move_to(len(LOGGED_DOCUMENT))
    editor.type(LOGGED_TYPED + " = 1\n    ")
    sim.script(Rule(path=FIM, text=LOGGED_SUGGESTION, times=1))
    item = await asyncio.wait_for(editor.ghost(), 10)
    assert item is not None and item.insert_text == LOGGED_SUGGESTION
    sim.script(Rule(path=CHAT, text=LOGGED_ANSWER, times=1))
    answer = await command(editor, "deepseek.chat", {"question": "What does this do?",
                                                       **whole(editor)})
    assert LOGGED_ANSWER in answer["content"]
    sim.script(Rule(path=CHAT, text=f"```python\n{LOGGED_SUGGESTION}\n```", times=1))
    await command(editor, "deepseek.document", whole(editor))


LOGGED_TEXT = ("reconcile_quokka_ledger", LOGGED_TYPED, "axolotl_checksum_9942",
               "capybara_marmot_5510")


@pytest.mark.parametrize("level", ["info", "warning", "debug"])
async def test_no_document_or_suggestion_text_in_the_log_above_debug(sim, tmp_path, level):
    """Issue 10 §6: pygls logs every outgoing message at info level ("Sending data: …"). Above
    debug the log says what was sent, not what it said; at debug it holds the traffic (and
    docs/privacy.md says so)."""
    log = tmp_path / "server.log"
    editor = await launch(sim.base_url, tmp_path, args=("--log-level", level, "--log-file",
                                                        str(log)))
    editor.client.feature(lsp.WORKSPACE_APPLY_EDIT)(
        lambda params: lsp.ApplyWorkspaceEditResult(applied=True))
    try:
        await logged_session(editor, sim, tmp_path)
        assert server_alive(editor)
    finally:
        await stop(editor)
    logged = log.read_text(encoding="utf-8")
    shown = [text for text in LOGGED_TEXT if text in logged]
    if level == "debug":  # outgoing messages whole: suggestions, answers, edits
        assert {"axolotl_checksum_9942", "capybara_marmot_5510"} <= set(shown)
    else:
        assert shown == []
    if level == "info":  # the traffic is still traceable
        assert "Sending data: <method='$/progress'" in logged
        assert "Sending data: <id=" in logged


#: Keys that JSON and repr escape: quotes, backslashes, a trailing backslash, non-ASCII (a key
#: the HTTP layer refuses, but which still travels through settings and the log).
ODD_KEYS = {
    "quotes-and-backslashes": "gw\"q'uote\\back\\\\slash-TAIL7Hq2",
    "trailing-backslash": "gw-'single'-TAIL4Kx9\\",
    "json-lookalike": 'gw\\", "model": "x-TAIL3Pd8',
    "unicode": "gw-ключ-ünï-Ω-TAIL9Zr4",
}


@pytest.mark.parametrize("level", ["info", "debug"])
@pytest.mark.parametrize("name", list(ODD_KEYS))
async def test_odd_keys_are_in_no_log(sim, tmp_path, level, name):
    """Issue 10 §6: a key with quotes or backslashes in `initializationOptions` left its tail in
    the log (the field scrubber stopped at the first quote). Given in `initializationOptions`
    (logged by pygls before the server reads it) and again in a configuration answer."""
    key = ODD_KEYS[name]
    log = tmp_path / "server.log"
    editor = await launch(sim.base_url, tmp_path, key=None, init_options={"apiKey": key},
                          configuration={"deepseek": {"apiKey": key}},
                          args=("--log-level", level, "--log-file", str(log)))
    try:
        status = await command(editor, "deepseek.status", None)
        assert status["keyConfigured"] is True
        text = "def load(path):\n    "
        editor.open((tmp_path / "app.py").as_uri(), text)
        editor.move_to(len(text))
        await asyncio.wait_for(editor.ghost(), 10)  # sent with the key, or refused before
        change_settings(editor, {"apiKey": key, "debounceMs": 1, "enable": False})
        # the configuration answer (key and all) has reached the server once it is applied
        await wait_for_status(editor, lambda status: status["enabled"] is False)
    finally:
        await stop(editor)
    logged = log.read_text(encoding="utf-8")
    assert "initialize" in logged.lower()
    tail = key[key.index("TAIL"):key.index("TAIL") + 8]
    assert tail not in logged
    for form in {key, json.dumps(key)[1:-1], repr(key)[1:-1]}:
        assert form not in logged


# -- loopback ---------------------------------------------------------------------------------


def listeners(port: int) -> list[str]:
    out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True,
                         check=True).stdout
    return [line.split()[3] for line in out.splitlines() if line.strip()]


def other_local_address() -> str | None:
    """An address of this machine that is not loopback, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.254.254.254", 9))
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def refused(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=2):
            return False
    except OSError:
        return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_simulator_listens_on_loopback_only(sim_session, tmp_path):
    from urllib.parse import urlsplit

    in_process = urlsplit(sim_session.base_url)
    assert in_process.hostname == "127.0.0.1"
    assert listeners(in_process.port) == [f"127.0.0.1:{in_process.port}"]

    port = free_port()
    fake = subprocess.Popen(
        [sys.executable, "-m", "deepseek_lsp", "fake-api", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not listeners(port):
            assert fake.poll() is None, fake.stderr.read() if fake.stderr else ""
            assert time.monotonic() < deadline, "fake-api did not start listening"
            time.sleep(0.05)
        assert listeners(port) == [f"127.0.0.1:{port}"]  # not 0.0.0.0, not [::]
        address = other_local_address()
        for p in (port, in_process.port):
            assert not refused("127.0.0.1", p)
            if address is not None:
                assert refused(address, p), f"reachable on {address}:{p}"
    finally:
        fake.terminate()
        fake.wait(10)
