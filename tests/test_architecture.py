"""The package's shape: no import cycles, pure cores, and one home per concern.

Imports are read from the source with `ast` (every `import`, also inside functions and
`TYPE_CHECKING` blocks), so a cycle hidden behind a late import is still a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "deepseek_lsp"
#: The pure cores: plain data in, plain data out; no LSP, no command line.
CORES = ("completion", "chat", "api")
FORBIDDEN_IN_CORES = ("pygls", "lsprotocol", "argparse", "deepseek_lsp.server",
                      "deepseek_lsp.lsp_chat", "deepseek_lsp.cli", "deepseek_lsp.demo")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module `path` imports (absolute names; relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        graph[name] = {m for m in _imports(path) if m in modules and m != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, or None (packages importing their own modules are not cycles)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt.startswith(node + "."):
                continue  # a package's __init__ re-exporting its own modules
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle_in_the_package():
    assert _cycle(_graph()) is None, f"import cycle: {' -> '.join(_cycle(_graph()) or [])}"


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"p": {"p.x"}, "p.x": set()}) is None


@pytest.mark.parametrize("core", CORES)
def test_cores_import_no_lsp_and_no_command_line(core):
    offenders = []
    for path in (PACKAGE / core).rglob("*.py"):
        for module in _imports(path):
            if module.startswith(FORBIDDEN_IN_CORES):
                offenders.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert not offenders, offenders


def test_every_command_and_feature_is_registered_in_server_py():
    """`server.py` is the table of contents: no other module registers LSP handlers."""
    registering = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "server.py":
            continue
        text = path.read_text(encoding="utf-8")
        if "server.command(" in text or "server.feature(" in text:
            registering.append(str(path.relative_to(PACKAGE)))
    assert registering == []


async def test_the_server_offers_every_command_of_the_table():
    from deepseek_lsp.chat.actions import ACTIONS
    from deepseek_lsp.server import server

    commands = set(server.protocol.fm.commands)
    assert {a.command for a in ACTIONS} <= commands
    assert {"deepseek.chat", "deepseek.balance", "deepseek.models", "deepseek.status",
            "deepseek.toggle", "deepseek.clearCache"} <= commands
