"""LSP language ids from file names, for the command line (editors send their own ids)."""

from __future__ import annotations

from pathlib import PurePath

_BY_SUFFIX = {
    ".py": "python", ".pyi": "python", ".js": "javascript", ".mjs": "javascript",
    ".cjs": "javascript", ".jsx": "javascriptreact", ".ts": "typescript",
    ".tsx": "typescriptreact", ".go": "go", ".rs": "rust", ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".java": "java",
    ".kt": "kotlin", ".swift": "swift", ".rb": "ruby", ".php": "php", ".cs": "csharp",
    ".lua": "lua", ".sh": "shellscript", ".bash": "shellscript", ".zsh": "shellscript",
    ".sql": "sql", ".html": "html", ".css": "css", ".scss": "scss", ".json": "json",
    ".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".md": "markdown", ".r": "r",
    ".scala": "scala", ".dart": "dart", ".ex": "elixir", ".exs": "elixir", ".hs": "haskell",
    ".ml": "ocaml", ".zig": "zig", ".vue": "vue", ".svelte": "svelte", ".txt": "plaintext",
}
_BY_NAME = {"Makefile": "makefile", "Dockerfile": "dockerfile"}


def language_of(path: str) -> str:
    p = PurePath(path)
    return _BY_NAME.get(p.name) or _BY_SUFFIX.get(p.suffix.lower(), "plaintext")
