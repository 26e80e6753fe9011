"""The docs describe what exists: the generated reference is current, every command and setting
named in docs/*.md and README.md exists, every relative link resolves, and the behaviour the
editor guide relies on (completion items only for clients without inline completion) holds."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from lsprotocol import types as lsp

from deepseek_lsp.completion.engine import SKIP_REASONS
from deepseek_lsp.config import (
    SETTINGS,
    SPEC_BY_KEY,
    default_value,
    env_layer,
    json_value,
    load_settings,
)
from deepseek_lsp.demo import INLINE_CLIENT
from deepseek_lsp.simulator import Rule
from tools import docgen

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [*DOCS, ROOT / "README.md", ROOT / "CONTRIBUTING.md"]
VSCODE_MANIFEST = ROOT / "editors" / "vscode" / "package.json"

# `deepseek.name` not preceded by a dot, slash or word character (so not `api.deepseek.com`).
DOTTED_NAME = re.compile(r"(?<![\w./-])deepseek((?:\.[A-Za-z][A-Za-z0-9]*)+)")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)


def _prose(page: Path) -> str:
    """The page without fenced code blocks (code is checked by what it configures, not here)."""
    return FENCE.sub("", page.read_text(encoding="utf-8"))


def test_configuration_reference_is_up_to_date():
    committed = (ROOT / docgen.DOC_PATH).read_text(encoding="utf-8")
    assert committed == docgen.render(), (
        "docs/configuration.md is out of date: run `python -m tools.docgen --write`")


def test_docgen_prints_the_reference(capsys):
    assert docgen.main([]) == 0
    assert capsys.readouterr().out == docgen.render()
    assert docgen.main(["--bogus"]) == 2


@pytest.mark.parametrize("spec", SETTINGS, ids=lambda s: s.key)
def test_each_default_as_documented_is_accepted_as_that_default(spec):
    shown = json.loads(docgen.default_json(spec))
    assert spec.check(shown) == default_value(spec)
    assert f"| `{spec.key}` |" in docgen.render()


def test_environment_variables_are_read_as_documented():
    documented = docgen.environment_variables()
    assert documented == {"DEEPSEEK_API_KEY": "apiKey", "DEEPSEEK_BASE_URL": "baseUrl"}
    for name, key in documented.items():
        value = "sk-doc-test-1234" if key == "apiKey" else "http://127.0.0.1:9"
        settings, problems = load_settings([env_layer({name: value})])
        assert problems == []
        assert getattr(settings, SPEC_BY_KEY[key].attr) == value


def test_layers_apply_in_the_documented_order():
    """defaults < environment < initializationOptions < workspace/configuration."""
    from deepseek_lsp.server import DeepSeekLanguageServer

    ls = DeepSeekLanguageServer()
    ls._layers["env"] = {"debounceMs": 1, "maxTokens": 11, "temperature": 0.1}
    ls.update_settings("init", {"maxTokens": 22, "temperature": 0.2})
    ls.update_settings("workspace", {"temperature": 0.3})
    assert (ls.settings.debounce_ms, ls.settings.max_tokens, ls.settings.temperature) == (
        1, 22, 0.3)
    ls.update_settings("workspace", {"deepseek": {"temperature": None}})  # null: not set
    assert ls.settings.temperature == 0.2


def _known_names() -> set[str]:
    """Server commands, settings as `deepseek.<key>`, and the VS Code extension's own names."""
    from deepseek_lsp.server import server

    names = set(server.protocol.fm.commands)
    names |= {f"deepseek.{spec.key}" for spec in SETTINGS}
    if VSCODE_MANIFEST.exists():  # client-side settings such as `deepseek.serverPath`
        contributes = json.loads(VSCODE_MANIFEST.read_text(encoding="utf-8"))["contributes"]
        sections = contributes.get("configuration", [])
        for section in sections if isinstance(sections, list) else [sections]:
            names |= set(section.get("properties", {}))
    return names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_commands_and_settings_named_in_the_docs_exist(page):
    known = _known_names()
    named = {"deepseek" + m.group(1) for m in DOTTED_NAME.finditer(_prose(page))}
    assert not named - known, f"{page.name} names what does not exist: {sorted(named - known)}"


def _slug(heading: str) -> str:
    text = re.sub(r"[`*_]|<[^>]+>", "", heading.strip().lower())
    return "".join(c for c in text if c.isalnum() or c in " -").replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*$", _prose(page), re.MULTILINE)
    return {_slug(h) for h in headings}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_point_to_files_that_exist(page):
    broken = []
    for target in LINK.findall(_prose(page)):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, ...
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        anchor_missing = bool(anchor) and resolved.suffix == ".md" and (
            not resolved.exists() or anchor not in _anchors(resolved))
        if not resolved.exists() or anchor_missing:
            broken.append(target)
    assert not broken, f"{page.name} has broken links: {broken}"


PY = "file:///project/stats.py"


@pytest.mark.parametrize("inline", [True, False], ids=["inline-client", "completion-client"])
async def test_completion_items_only_for_clients_without_inline_completion(
        start_server, sim, inline):
    """What docs/editors.md tells Helix, Emacs, Zed and Sublime users: they get the suggestion
    as a completion item; clients with inline completion get ghost text only."""
    sim.script(Rule(path="/beta/completions", text="urn sum(values)"))
    capabilities = INLINE_CLIENT if inline else lsp.ClientCapabilities(
        text_document=lsp.TextDocumentClientCapabilities(completion=lsp.CompletionClientCapabilities(
            completion_item=lsp.ClientCompletionItemOptions(snippet_support=True))))
    editor = await start_server(capabilities=capabilities)
    editor.open(PY, "def total(values):\n    ret\n")
    result = await editor.client.text_document_completion_async(lsp.CompletionParams(
        text_document=lsp.TextDocumentIdentifier(PY), position=lsp.Position(1, 7)))
    labels = [item.label for item in result.items]
    assert labels == ([] if inline else ["return sum(values)"])


#: `completion/engine.py:CompletionEngine.complete`: a module of the package and a name in it.
CODE_REFERENCE = re.compile(r"`((?:[a-z_]+/)*[a-z_]+\.py):([A-Za-z_][\w.]*)`")
#: `tests/test_docs.py`, `.ci/run`, `completion/engine.py`: a path in backticks.
PATH_REFERENCE = re.compile(r"`(\.?[\w-]+(?:/[\w.-]+)+)`")
PACKAGE = ROOT / "deepseek_lsp"
#: Where a path in the docs is one of this repository's files: it begins with a top-level entry
#: of the repository or of the package (`src/app.py`, `.kube/config` are examples, not ours).
OUR_TOP_LEVEL = {p.name for p in ROOT.iterdir()} | {p.name for p in PACKAGE.iterdir()}


def _code_references(page: Path) -> list[tuple[str, str]]:
    return CODE_REFERENCE.findall(page.read_text(encoding="utf-8"))


def _missing_code(path: str, qualname: str) -> bool:
    import importlib

    module_name = "deepseek_lsp." + path.removesuffix(".py").replace("/", ".")
    try:
        obj = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return True
    return False


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_code_and_file_references_in_the_docs_exist(page):
    """`completion/engine.py:CompletionEngine.complete` names a real attribute of the package,
    and `tests/test_docs.py` or `completion/engine.py` a file of the repository or package."""
    missing = [f"{path}:{name}" for path, name in _code_references(page)
               if _missing_code(path, name)]
    for path in PATH_REFERENCE.findall(page.read_text(encoding="utf-8")):
        ours = path.split("/", 1)[0] in OUR_TOP_LEVEL
        if ours and not (ROOT / path).exists() and not (PACKAGE / path).exists():
            missing.append(path)
    assert not missing, f"{page.name} refers to code that does not exist: {missing}"


def test_the_architecture_page_walks_through_the_code():
    """The page that follows a keystroke through the modules names the code it describes, so
    the check above has something to check there."""
    references = set(_code_references(ROOT / "docs" / "architecture.md"))
    assert len(references) >= 100
    modules = {path for path, _ in references}
    for part in ("server.py", "lsp_chat.py", "documents.py", "failures.py", "completion/",
                 "chat/", "api/", "privacy/"):
        assert sum(m.startswith(part) for m in modules) >= 1, part


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_troubleshooting_lists_every_error_message():
    from deepseek_lsp.api.errors import DeepSeekError

    def family(cls: type[DeepSeekError]) -> list[type[DeepSeekError]]:
        return [cls, *(c for sub in cls.__subclasses__() for c in family(sub))]

    page = _flat((ROOT / "docs" / "troubleshooting.md").read_text(encoding="utf-8"))
    missing = [cls.__name__ for cls in family(DeepSeekError)[1:]
               if _flat(cls.default_message) not in page or f"`{cls.kind}`" not in page]
    assert not missing, f"docs/troubleshooting.md lacks the message or kind of {missing}"


async def test_troubleshooting_lists_every_status_field():
    from deepseek_lsp.server import DeepSeekLanguageServer, status

    page = (ROOT / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    table = page.split("## `deepseek.status`", 1)[1].split("\n## ", 1)[0]
    documented = {name for row in re.findall(r"^\| (.+?) \|", table, re.MULTILINE)
                  for name in re.findall(r"`(\w+)`", row)}
    assert documented == set(await status(DeepSeekLanguageServer()))


MY_PAGES = ["configuration.md", "editors.md", "architecture.md", "troubleshooting.md",
            "privacy.md"]
#: camelCase words in those pages that are protocol or argument names, not settings.
PROTOCOL_WORDS = {"initializationOptions", "newSession", "reasoningContent", "workDoneToken",
                  "retryAfter", "documentUri", "cutAtTokens", "ignoreIfExists", "triggerKind"}


@pytest.mark.parametrize("name", MY_PAGES)
async def test_camel_case_names_are_settings_or_known_fields(name):
    """A misspelt setting (`debounceMS`) in prose fails here."""
    from deepseek_lsp.config import Prices
    from deepseek_lsp.server import DeepSeekLanguageServer, status

    known = {spec.key for spec in SETTINGS} | set(await status(DeepSeekLanguageServer()))
    known |= set(json_value(Prices())) | PROTOCOL_WORDS | set(SKIP_REASONS)
    words = set(re.findall(r"`([a-z]+[A-Z][A-Za-z]*)`", _prose(ROOT / "docs" / name)))
    assert not words - known, f"{name}: unknown names {sorted(words - known)}"


async def test_doctor_output_is_as_documented(sim, monkeypatch, capsys):
    import argparse

    from deepseek_lsp import __version__
    from deepseek_lsp.cli import commands

    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-doc-test-0123456789")
    monkeypatch.setenv("DEEPSEEK_BASE_URL", sim.base_url)
    assert await commands.doctor(argparse.Namespace()) == 0
    shown = capsys.readouterr().out.replace(sim.base_url, "https://api.deepseek.com")
    shown = shown.replace(__version__, "0.1.0")
    page = (ROOT / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    sample = page.split("$ deepseek-lsp doctor\n", 1)[1].split("```", 1)[0]
    assert shown == sample
