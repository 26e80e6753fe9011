"""The VS Code extension (editors/vscode) in real VS Code: code-server driven by Chromium.

The end-to-end test installs the built `.vsix` into a fresh code-server (VS Code 1.139 in the
browser), points `deepseek.serverPath` at a wrapper that runs this venv's `python -m
deepseek_lsp`, and lets tests/editors/vscode/drive.js (playwright-core + Debian's Chromium)
set the API key with "DeepSeek: Set API Key" (the simulator accepts only that key, not the one
in DEEPSEEK_API_KEY), open a Python file, type, see the ghost text from the simulator's canned
FIM answer, take its first word with VS Code's "Accept Next Word" (Ctrl+Right), the rest with
Tab, save, and then, from the palette and the editor: Show Balance, Ask About Selection…
(streamed into the chat view, reasoning apart), the server's Explain code action, Cancel on a
slow answer, "Accept Next Line" on a multi-line suggestion (bound as docs/vscode.md says), and
a missing server. Before all that, the first thing typed in the session is the scripted
session of editor_pauses.py, which measures last keystroke → ghost text at its pauses; after
it, Alt+] / Alt+[ cycle through the server's alternatives, the chat view lists the model's
look-ups and a cut answer's note, and Write Tests creates and opens a test file. Its
screenshots go to the test's
temporary folder, or to the folder named by DEEPSEEK_VSCODE_SCREENSHOTS: docs/images/ to
refresh the ones docs/vscode.md shows.

Tools come from .ci/install-vscode.sh: $DEEPSEEK_CODE_SERVER, $DEEPSEEK_VSIX,
$DEEPSEEK_CHROMIUM, $DEEPSEEK_NODE (falling back to what that script leaves in .ci-tools/ and
editors/vscode/). Without them the test skips, unless $DEEPSEEK_LSP_REQUIRE_EDITORS is set
(CI), where it fails.

The manifest test (package.json's settings schema against deepseek_lsp/config.py) needs none
of that and always runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import editor_pauses
import pytest

from deepseek_lsp.config import SETTINGS, default_value
from deepseek_lsp.simulator import Rule
from deepseek_lsp.simulator.fim_model import fim_completion

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = ROOT / "editors" / "vscode"
DRIVER_DIR = Path(__file__).resolve().parent / "vscode"
TOOLS = ROOT / ".ci-tools" / "vscode"
# The key typed into "DeepSeek: Set API Key" (SecretStorage), and a different one in the
# environment: the simulator accepts only the first, so every answer proves that the key from
# SecretStorage reached the server and won over DEEPSEEK_API_KEY.
SECRET_KEY = "sk-vscode-secret-0123456789abcdef"
ENV_KEY = "sk-vscode-env-not-this-one"
FIM = "/beta/completions"
CHAT = "/chat/completions"

GHOST = "a + b  # sum from DeepSeek"
# A multi-line suggestion for "Accept Next Line" (in sub.py, opened last).
SUB_FILE = "sub.py"
SUB_GHOST = "d = a - b\n    return d"
# The keys docs/vscode.md gives for partial accepts: VS Code's default for the next word, and
# the keybindings.json entry it suggests for the next line.
ACCEPT_WORD_KEY = "Control+ArrowRight"
ACCEPT_LINE_BINDING = {"key": "ctrl+alt+right",
                       "command": "editor.action.inlineSuggest.acceptNextLine",
                       "when": "inlineSuggestionVisible && !editorReadonly"}
CHAT_ANSWER = (
    "`add` returns the sum of `a` and `b`. It works for anything that supports `+`: numbers "
    "add up, while strings and lists are concatenated.\n\n"
    "```python\nadd(2, 3)        # 5\nadd('ab', 'c')   # 'abc'\nadd([1], [2])    # [1, 2]\n```\n"
)
CHAT_REASONING = "The selection is a two-line function; `return a + b` is its whole body."
CANCEL_QUESTION = "Please write a very long essay"
PALETTE = ("Ask About Selection…", "Explain", "Refactor", "Add Documentation", "Write Tests",
           "Show Balance", "Show Status", "Toggle Completions", "Clear Cache", "Set API Key")
# Simulator's default account: 110.00 CNY and 15.00 USD.
BALANCE_TEXT = "110.00 CNY"
# Alt+] / Alt+[ in mul.py: the automatic suggestion, then a line and a block as alternatives.
MUL_FILE = "mul.py"
MUL_AT = "mul(a, b):\n    "  # the cursor on the body's first line
MUL_GHOST = "return a * b"
MUL_ALTERNATIVE = "x = a * b\n    return x"
# A question about code calling a function of another file: the model looks it up.
SCALING = "def scale(value, factor):\n    return value * factor\n"
USES_SCALE = ("from scaling import scale\n\n\n"
              "def double_all(values):\n    return [scale(v, 2) for v in values]\n")
LOOKUP_QUESTION = "What does this return for an empty list?"
# chatMaxTokens is 256 in this window: a long answer is cut, and says so.
NOTICE_QUESTION = "Now write an essay about it"
CHAT_MAX_TOKENS = 256
# Write Tests on calc.py: the test file the model proposes (JSON output).
TESTS_PATH = "tests/test_calc.py"
TESTS_CODE = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


# -- the settings schema in package.json matches the server's settings model -------------------


SYNC = "run `python -m tools.vscode_settings`"


def _manifest() -> dict[str, Any]:
    return json.loads((EXTENSION / "package.json").read_text(encoding="utf-8"))


def _range_of(kind: str) -> tuple[float, float] | None:
    m = re.search(r"([\d.]+)-([\d.]+)", kind)
    return (float(m.group(1)), float(m.group(2))) if m else None


def test_package_json_settings_match_the_server() -> None:
    """Every server setting but apiKey is in the schema with its type, default and range."""
    props = _manifest()["contributes"]["configuration"]["properties"]
    assert "deepseek.apiKey" not in props, "the key belongs in SecretStorage, not settings.json"
    for spec in SETTINGS:
        if spec.key == "apiKey":
            continue
        prop = props.get(f"deepseek.{spec.key}")
        assert prop is not None, f"deepseek.{spec.key} missing from package.json: {SYNC}"
        assert prop.get("markdownDescription") or prop.get("description")
        default = default_value(spec)
        if spec.key == "prices":
            assert prop["default"] == {"cacheHit": default.cache_hit,
                                       "cacheMiss": default.cache_miss,
                                       "output": default.output, "currency": default.currency}
            continue
        expected = list(default) if isinstance(default, tuple) else default
        assert prop["default"] == expected, f"{spec.key}: {SYNC}"
        bounds = _range_of(spec.kind)
        if spec.kind.startswith(("integer", "number")):
            assert prop["type"] == ("integer" if spec.kind.startswith("integer") else "number")
            assert bounds is not None
            assert (prop["minimum"], prop["maximum"]) == bounds, f"{spec.key}: {SYNC}"
        elif spec.kind == "boolean":
            assert prop["type"] == "boolean"
        elif spec.kind.startswith("list"):
            assert prop["type"] == "array"


# -- real VS Code ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tools:
    code_server: str
    vsix: Path
    chromium: str
    node: str


def _missing(reason: str) -> None:
    if os.environ.get("DEEPSEEK_LSP_REQUIRE_EDITORS"):
        pytest.fail(f"{reason} (required: DEEPSEEK_LSP_REQUIRE_EDITORS is set)")
    pytest.skip(reason)


def find_tools() -> Tools:
    """The tools from the environment, else from .ci-tools/; skip (or fail in CI) if absent."""
    hint = "run `source .ci/install-vscode.sh` (it installs code-server, Chromium and the .vsix)"
    code_server = os.environ.get("DEEPSEEK_CODE_SERVER") or str(TOOLS / "bin" / "code-server")
    if not os.access(code_server, os.X_OK):
        _missing(f"code-server not found at {code_server}: {hint}")
    version = _manifest()["version"]
    vsix = Path(os.environ.get("DEEPSEEK_VSIX") or EXTENSION / f"deepseek-lsp-{version}.vsix")
    if not vsix.is_file():
        _missing(f"extension package {vsix} not found: {hint}")
    chromium = os.environ.get("DEEPSEEK_CHROMIUM") or "/usr/bin/chromium"
    if not os.access(chromium, os.X_OK):
        _missing(f"Chromium not found at {chromium}: {hint}")
    node = os.environ.get("DEEPSEEK_NODE") or shutil.which("node") or ""
    if not node or not os.access(node, os.X_OK):
        _missing(f"node not found: {hint}")
    if not (DRIVER_DIR / "node_modules" / "playwright-core").is_dir():
        _missing(f"playwright-core not installed in {DRIVER_DIR}: {hint}")
    return Tools(code_server, vsix, chromium, node)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_http(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"code-server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer means it is serving
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"code-server did not answer on {url} within {timeout:.0f} s")


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(none)"


def user_settings() -> dict[str, Any]:
    """VS Code settings for a quiet, deterministic window (the server's own settings are its
    defaults, but for a low chatMaxTokens)."""
    return {
        "deepseek.chatMaxTokens": CHAT_MAX_TOKENS,
        # An ordinary suggestion popup with the same text would look like success: keep it off.
        "editor.quickSuggestions": {"other": "off", "comments": "off", "strings": "off"},
        "editor.suggestOnTriggerCharacters": False,
        "editor.inlineSuggest.enabled": True,
        "security.workspace.trust.enabled": False,
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": False,
        "workbench.enableExperiments": False,
        "workbench.secondarySideBar.defaultVisibility": "hidden",
        "chat.disableAIFeatures": True,
        "telemetry.telemetryLevel": "off",
        "extensions.autoUpdate": False,
        "extensions.autoCheckUpdates": False,
        "extensions.ignoreRecommendations": True,
        "update.mode": "none",
        "git.enabled": False,
        "files.autoSave": "off",
        "window.zoomLevel": 0,
    }


@contextlib.contextmanager
def code_server(tools: Tools, tmp: Path, base_url: str) -> Iterator[tuple[str, Path]]:
    """A fresh code-server on 127.0.0.1 with the extension installed; yields (url, log dir).

    The machine settings (with `deepseek.serverPath`) are in tmp/user-data/Machine.
    """
    user_data, extensions, workspace = tmp / "user-data", tmp / "extensions", tmp / "workspace"
    for d in (user_data / "User", user_data / "Machine", extensions, workspace):
        d.mkdir(parents=True)
    (workspace / "calc.py").write_text("def add(a, b):\n", encoding="utf-8")
    (workspace / SUB_FILE).write_text("def sub(a, b):\n", encoding="utf-8")
    (workspace / MUL_FILE).write_text("def mul(a, b):\n", encoding="utf-8")
    (workspace / "app.py").write_text(USES_SCALE, encoding="utf-8")
    (workspace / "scaling.py").write_text(SCALING, encoding="utf-8")
    (workspace / editor_pauses.FILENAME).write_text(editor_pauses.BASE, encoding="utf-8")
    wrapper = tmp / "deepseek-lsp"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'exec "{sys.executable}" -m deepseek_lsp --log-file "{tmp / "server.log"}" '
        '--log-level info "$@"\n',
        encoding="utf-8",
    )
    wrapper.chmod(0o755)
    (user_data / "User" / "settings.json").write_text(
        json.dumps(user_settings(), indent=2), encoding="utf-8")
    (user_data / "User" / "keybindings.json").write_text(
        json.dumps([ACCEPT_LINE_BINDING], indent=2), encoding="utf-8")
    # serverPath is machine-overridable: in a remote window (code-server is one) VS Code reads
    # it from the machine's settings, not from the user's.
    (user_data / "Machine" / "settings.json").write_text(
        json.dumps({"deepseek.serverPath": str(wrapper)}, indent=2), encoding="utf-8")

    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPSEEK_")}
    env.update({
        "DEEPSEEK_BASE_URL": base_url,
        "DEEPSEEK_API_KEY": ENV_KEY,
        "XDG_CONFIG_HOME": str(tmp / "xdg-config"),
        "XDG_DATA_HOME": str(tmp / "xdg-data"),
        "XDG_CACHE_HOME": str(tmp / "xdg-cache"),
    })
    common = ["--user-data-dir", str(user_data), "--extensions-dir", str(extensions)]
    install = subprocess.run(
        [tools.code_server, *common, "--install-extension", str(tools.vsix)],
        env=env, capture_output=True, text=True, timeout=180, check=False,
    )
    assert install.returncode == 0 and "successfully installed" in install.stdout, (
        f"--install-extension failed ({install.returncode}):\n{install.stdout}\n{install.stderr}")

    port = free_port()
    log = tmp / "code-server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [tools.code_server, *common, "--bind-addr", f"127.0.0.1:{port}", "--auth", "none",
             "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust",
             "--disable-getting-started-override", str(workspace)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", proc, timeout=90)
        yield f"http://127.0.0.1:{port}/?folder={workspace}", user_data / "logs"
    finally:
        # code-server, its extension host and deepseek-lsp share the session we started.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def extension_log(logs: Path) -> str:
    found = sorted(logs.glob("**/deepseek-lsp.deepseek-lsp/DeepSeek.log"))
    return tail(found[-1]) if found else "(no extension log)"


@pytest.mark.editor
def test_ghost_text_tab_and_palette_in_real_vscode(sim: Any, tmp_path: Path) -> None:
    tools = find_tools()
    sim.configure(api_key=SECRET_KEY,  # any other key gets a 401
                  ttft_ms=editor_pauses.TTFT_MS)  # upstream 150 ms to the first token
    sim.script(
        # mul.py: one suggestion, then two alternatives (a line and a block) when asked.
        Rule(path=FIM, match=MUL_AT, text=MUL_GHOST, times=1),
        Rule(path=FIM, match=MUL_AT, text=MUL_ALTERNATIVE),
        # sub.py: one multi-line suggestion, and none once its first line is in the buffer.
        Rule(path=FIM, match="d = a - b", text=""),
        Rule(path=FIM, match="def sub(a, b):", text=SUB_GHOST),
        # Once the suggestion is in the buffer, no new one (clean screenshots after Tab).
        Rule(path=FIM, match=GHOST, text=""),
        Rule(path=FIM, match="def add(a, b):", text=GHOST),
        # (latency.py: the simulator's model is editor_pauses.Oracle.)
        # A long, slow answer for the Cancel button.
        Rule(path=CHAT, match=CANCEL_QUESTION, text="word " * 400, chunk_delay_s=0.2),
        # More than chatMaxTokens.
        Rule(path=CHAT, match=NOTICE_QUESTION, text="word " * 400),
        # Write Tests: the test file as JSON output.
        Rule(path=CHAT, match="relative to the workspace root",
             text=json.dumps({"path": TESTS_PATH, "content": TESTS_CODE})),
        # Slow enough for the chat view to be caught while the answer streams.
        Rule(path=CHAT, match="def add(a, b):", text=CHAT_ANSWER, reasoning=CHAT_REASONING,
             chunk_delay_s=0.08),
        # (app.py: the simulator's model looks `scale` up, then answers.)
    )
    sim.fake.fim_model = editor_pauses.Oracle()
    wall = time.time() - time.monotonic()  # the simulator's clock → the browser's
    # docs/images is refreshed on request only (DEEPSEEK_VSCODE_SCREENSHOTS=docs/images);
    # an ordinary run keeps its screenshots beside the test's other files.
    screenshots = Path(os.environ.get("DEEPSEEK_VSCODE_SCREENSHOTS") or tmp_path / "screenshots")
    started = time.monotonic()
    with code_server(tools, tmp_path, sim.base_url) as (url, logs):
        config = {
            "url": url,
            "apiKey": SECRET_KEY,
            "file": "calc.py",
            "type": "    return ",
            "expectGhost": GHOST,
            "acceptWord": ACCEPT_WORD_KEY,
            "acceptLine": {"file": SUB_FILE, "type": "    ", "expectGhost": "d = a - b",
                           "expectLine": "    d = a - b", "key": "Control+Alt+ArrowRight"},
            "expectCommands": [f"DeepSeek: {title}" for title in PALETTE],
            "balanceText": BALANCE_TEXT,
            "chat": {"question": "What does this function return?", "expect": "sum of"},
            "chromium": tools.chromium,
            "screenshots": str(screenshots),
            "artifacts": str(tmp_path / "artifacts"),
            "cancel": {"question": CANCEL_QUESTION},
            "codeAction": "DeepSeek: Explain",
            "codeActionTurn": "Explain",
            "machineSettings": str(tmp_path / "user-data" / "Machine" / "settings.json"),
            "missingServerPath": "/nonexistent/venv/bin/deepseek-lsp",
            "latency": {"file": editor_pauses.FILENAME,
                        "pauses": [dataclasses.asdict(p) for p in editor_pauses.pauses()],
                        "keyGapMs": editor_pauses.KEY_GAP_MS, "readMs": editor_pauses.READ_MS},
            "alternatives": {"file": MUL_FILE, "type": "    ", "expectGhost": MUL_GHOST},
            "lookups": {"file": "app.py", "question": LOOKUP_QUESTION},
            "notice": {"question": NOTICE_QUESTION},
            "writeTests": {"file": "calc.py", "expectTab": "test_calc.py"},
        }
        config_file = tmp_path / "drive.json"
        config_file.write_text(json.dumps(config), encoding="utf-8")
        try:
            run = subprocess.run(
                [tools.node, str(DRIVER_DIR / "drive.js"), str(config_file)],
                cwd=DRIVER_DIR, capture_output=True, text=True, timeout=420, check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise AssertionError(f"drive.js timed out:\n{error.stdout}\n{error.stderr}") from None
        finally:
            sim.fake.fim_model = fim_completion
        lines = [json.loads(x) for x in run.stdout.splitlines() if x.startswith("{")]
        result = next((x["result"] for x in lines if "result" in x), {})
        context = (
            f"\n--- drive.js (exit {run.returncode}) ---\n{run.stdout[-4000:]}"
            f"\n{run.stderr[-3000:]}"
            f"\n--- extension log ---\n{extension_log(logs)}"
            f"\n--- server log ---\n{tail(tmp_path / 'server.log')}"
            f"\n--- code-server log ---\n{tail(tmp_path / 'code-server.log', 20)}"
        )
        assert result.get("ok"), f"{result.get('error')}{context}"

    # Ghost text came from deepseek-lsp's inline completion, and Tab put it in the buffer.
    assert GHOST in result["ghostText"], context
    # VS Code's "Accept Next Word" put the first word in; the rest was still shown, and Tab
    # accepted it.
    word_line = next(x for x in result["afterWord"]["lines"] if x.startswith("    return "))
    assert word_line.startswith("    return a") and word_line != f"    return {GHOST}", context
    assert (word_line + result["afterWord"]["ghost"]).rstrip() == f"    return {GHOST}", context
    saved = (tmp_path / "workspace" / "calc.py").read_text(encoding="utf-8")
    assert saved.splitlines()[:2] == ["def add(a, b):", f"    return {GHOST}"], saved
    fim = sim.requests(FIM)
    assert fim, "no FIM request reached the simulator"
    assert all(r.status == 200 for r in fim), [r.status for r in fim]
    assert "def add(a, b):" in fim[-1].json["prompt"]

    # The palette has the extension's commands; Show Balance showed the server's answer.
    assert result["paletteEntries"] == [f"DeepSeek: {title}" for title in PALETTE]
    assert BALANCE_TEXT in result["balanceMessage"]
    assert sim.requests("/user/balance"), "Show Balance did not ask the API"

    # The chat answer streamed into the chat view; the question carried the selection.
    assert "sum of" in result["chatAnswer"]
    assert "whole body" in result["chatReasoning"]  # reasoning shown, apart from the answer
    assert "whole body" not in result["chatAnswer"]
    # The server's Markdown page of the answer is not opened as well (the view shows it).
    assert any("calc.py" in tab for tab in result["tabs"]), result["tabs"]
    assert not [tab for tab in result["tabs"] if ".md" in tab], result["tabs"]
    chat = sim.requests(CHAT)
    assert chat and "def add(a, b):" in json.dumps(chat[-1].json["messages"])

    # The server's "Explain" code action, chosen from the editor's menu, streamed into the view.
    assert "sum of" in result["codeActionAnswer"]

    # Cancel in the progress notification stopped the answer and closed the upstream stream.
    assert "cancelled" in result["cancelledTurn"]
    assert sim.wait_for(
        lambda reqs: any(r.disconnected for r in reqs if r.path == CHAT), timeout=10
    ), "the cancelled answer's HTTP stream was not closed"
    asked = [r for r in sim.requests(CHAT) if CANCEL_QUESTION in json.dumps(r.json["messages"][-1])]
    assert len(asked) == 1, "the cancelled question was asked once"

    # VS Code's "Accept Next Line" took the first line of a multi-line suggestion; the next
    # line was still shown.
    assert "return d" in result["beforeLine"]["ghost"], context
    assert "    d = a - b" in result["afterLine"]["lines"], context
    assert "return d" in result["afterLine"]["ghost"], context
    assert "d = a - b" not in result["afterLine"]["ghost"], context

    # A missing server gets one message with the install steps and the setting to change.
    message = result["missingServerMessage"]
    assert "pipx install ." in message and "deepseek.serverPath" in message, message

    # The scripted session: the right ghost text came at every pause.
    pauses = result["latency"]
    assert [p["expect"] for p in pauses] == [p.expect for p in editor_pauses.pauses()]
    missing = [(p["expect"], p["seen"]) for p in pauses if p["ghost"] is None]
    assert not missing, missing

    # Alt+] showed the server's second suggestion as "2/3" (VS Code asks explicitly for all of
    # them, also when the mouse rests on the ghost text); the next press the third, Alt+[ the
    # second again: three distinct suggestions, a line and a block among them.
    steps = result["alternatives"]
    assert steps[0]["ghost"] == MUL_GHOST, steps
    assert [s["count"] for s in steps[1:]] == ["2/3", "3/3", "2/3"], steps
    assert len({s["ghost"] for s in steps[:3]}) == 3, steps
    assert steps[3]["ghost"] == steps[1]["ghost"], steps
    line, block = sorted((s["ghost"] for s in steps[1:3]), key=len)
    assert line == "x = a * b" and "return x" in block and "x = a * b" in block, steps

    # The chat view listed the model's look-up above its answer.
    assert "looked up scale in scaling.py" in result["lookups"]["lookups"], result["lookups"]
    assert "I looked up scale in scaling.py" in result["lookups"]["answer"], result["lookups"]
    # A cut answer says so.
    assert (f"The answer was cut at {CHAT_MAX_TOKENS} tokens (the chatMaxTokens setting)"
            in result["notice"]["notice"]), result["notice"]

    # Write Tests created the test file, opened it and saved it; the chat view shows its code.
    assert (tmp_path / "workspace" / TESTS_PATH).read_text(encoding="utf-8") == TESTS_CODE
    assert any("test_calc.py" in tab for tab in result["writeTests"]["tabs"]), result["writeTests"]
    assert "def test_add():" in "\n".join(result["writeTests"]["lines"]), result["writeTests"]
    assert "created tests/test_calc.py" in result["writeTests"]["turn"], result["writeTests"]
    assert "def test_add():" in result["writeTests"]["turn"]

    measured = [editor_pauses.Measured(p["kind"], p["key"] / 1000, p["ghost"] / 1000)
                for p in pauses]
    editor_pauses.attach_requests(measured, sim.requests(FIM), to_clock=lambda t: t + wall)
    print("\n" + editor_pauses.table("VS Code 1.139 (code-server), the extension", measured))
    elapsed = time.monotonic() - started
    print(f"real VS Code end-to-end: {elapsed:.1f} s; steps (ms): {result['timings']}")
