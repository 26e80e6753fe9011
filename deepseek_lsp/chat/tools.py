"""The read-only tools chat offers the model, so it can look things up instead of guessing.

When the user asks about selected code, the request offers (OpenAI-style function tools, as
DeepSeek takes them):

- `find_definition {name}`: the definition of a symbol — looked for in the open documents
  first (same language first), then in the workspace's files of the same language, on disk,
  within the bounds of `workspace.WalkLimits`;
- `read_lines {path, start, end}`: a line range of an open document.

Both respect the `exclude` globs (an excluded file is never read, so never sent) and
`redactSecrets`, and cap what they return (`MAX_RESULT_CHARS`). Each call also gives a one-line
summary for the progress ("looked up `scale` in scaling.py").
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deepseek_lsp.chat.prompts import fenced
from deepseek_lsp.chat.workspace import Reader, WalkLimits, walk
from deepseek_lsp.languages import language_of_path, same_family
from deepseek_lsp.privacy import is_excluded, redact

#: What one tool result may hold (about 1,500 tokens).
MAX_RESULT_CHARS = 6_000
#: Lines of one definition, at most; lines `read_lines` returns, at most.
MAX_DEFINITION_LINES = 80
MAX_READ_LINES = 200
#: Definitions returned for one name, at most (the first ones found).
MAX_DEFINITIONS = 2

FIND_DEFINITION = "find_definition"
READ_LINES = "read_lines"

TOOL_SPECS: list[dict[str, Any]] = [
    {"type": "function", "function": {
        "name": FIND_DEFINITION,
        "description": "Find the definition of a function, class, type, constant or variable "
                       "in the user's workspace (open files first, then files of the same "
                       "language). Use it for a symbol the shown code uses but does not define.",
        "parameters": {"type": "object", "properties": {
            "name": {"type": "string",
                     "description": "The symbol's name as written in the code, e.g. `scale`."}},
            "required": ["name"]}}},
    {"type": "function", "function": {
        "name": READ_LINES,
        "description": "Read lines of a file that is open in the user's editor.",
        "parameters": {"type": "object", "properties": {
            "path": {"type": "string", "description": "The file's path as shown in the prompt."},
            "start": {"type": "integer", "description": "First line, 1-based."},
            "end": {"type": "integer", "description": "Last line, inclusive."}},
            "required": ["path", "start", "end"]}}},
]

_NAME = re.compile(r"^[A-Za-z_$][\w$]*(?:(?:\.|::)[A-Za-z_$][\w$]*)*$")
_DECORATION = re.compile(r"^\s*(?:@|#\[|//|/\*|\*|#|///|--|;)")


@dataclass(frozen=True)
class OpenDocument:
    """An open document as the tools see it: path relative to its workspace folder."""

    path: str
    language_id: str
    text: str


@dataclass(frozen=True)
class ToolOutcome:
    """What goes back to the model, and the line the user sees in the progress."""

    content: str
    summary: str


def _definition_patterns(name: str) -> list[re.Pattern[str]]:
    """Lines that define `name`, strongest first: declarations, then top-level assignments.
    (Blanks are `[ \\t]`, never `\\s`, which would run across lines.)"""
    n = re.escape(name)
    keyword = (r"(?:def|class|function\*?|func|fn|struct|enum|trait|interface|type|module|mod"
               r"|impl|record|object|protocol|typedef|macro_rules!)")
    modifiers = (r"(?:(?:export|default|pub(?:\([^)\n]*\))?|public|private|protected|static"
                 r"|abstract|final|sealed|data|open|async|unsafe|const|inline)[ \t]+)*")
    return [
        re.compile(rf"^[ \t]*{modifiers}{keyword}[ \t]+{n}\b", re.MULTILINE),
        re.compile(rf"^[ \t]*func[ \t]*\([^)\n]*\)[ \t]*{n}[ \t]*[(\[]", re.MULTILINE),  # Go
        re.compile(rf"^(?:export[ \t]+)?(?:(?:const|let|var|val|static|final|pub)[ \t]+)*"
                   rf"{n}[ \t]*(?::[^=\n]+)?=(?!=)", re.MULTILINE),  # top-level assignments
        re.compile(rf"^[ \t]{{0,4}}(?!return\b|if\b|while\b|for\b|else\b|switch\b|case\b)"
                   rf"[A-Za-z_][\w<>,\[\] \t*&:]*[ \t*&]{n}[ \t]*\([^;\n]*$",
                   re.MULTILINE),  # C, C++, Java, C# functions and methods
        re.compile(rf"^[ \t]+(?:(?:async|static|get|set|public|private)[ \t]+)*{n}[ \t]*"
                   rf"\([^;\n]*\)[ \t]*(?::[^{{;\n]+)?\{{[ \t]*$", re.MULTILINE),  # JS/TS methods
    ]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _nesting(line: str) -> int:
    """How much a line opens brackets (minus what it closes), strings left out."""
    code = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'', "", line)
    return sum(code.count(c) for c in "{([") - sum(code.count(c) for c in "})]")


def _block_end(lines: list[str], start: int) -> int:
    """The index after the last line of the definition starting at `lines[start]`: an
    indented block (Python), or braces balanced again, or the end of the statement."""
    indent = _indent(lines[start])
    limit = min(len(lines), start + MAX_DEFINITION_LINES)
    depth, braces = 0, False
    for i in range(start, limit):
        line = lines[i]
        depth += _nesting(line)
        braces = braces or "{" in line
        if depth > 0:
            continue
        if braces:
            return i + 1  # braces balanced again
        if line.rstrip().endswith(":"):  # a Python block: what is indented deeper
            j = i + 1
            while j < limit and (not lines[j].strip() or _indent(lines[j]) > indent):
                j += 1
            while j > i + 1 and not lines[j - 1].strip():
                j -= 1
            return j
        nxt = next((x for x in lines[i + 1:i + 3] if x.strip()), "")
        if line.rstrip().endswith(("=", "(", "[", ",", "\\", "=>")) or \
                nxt.lstrip().startswith("{"):
            continue  # the statement goes on, or its body opens on the next line
        return i + 1
    return limit


def find_in_text(name: str, text: str) -> list[tuple[int, str]]:
    """The definitions of `name` in `text`: (1-based first line, the lines), strongest first.

    A definition comes with the decorators and comments right above it.
    """
    found: list[tuple[int, str]] = []
    seen: set[int] = set()
    lines = text.split("\n")
    for pattern in _definition_patterns(name):
        for m in pattern.finditer(text):
            line = text.count("\n", 0, m.start())
            if line in seen:
                continue
            seen.add(line)
            top = line
            while top > 0 and line - top < 8 and _DECORATION.match(lines[top - 1]) \
                    and lines[top - 1].strip():
                top -= 1
            end = _block_end(lines, line)
            code = "\n".join(lines[top:end]).rstrip()
            if end - line >= MAX_DEFINITION_LINES and end < len(lines):
                code += "\n… (the rest of the definition is left out)"
            found.append((top + 1, code))
            if len(found) >= MAX_DEFINITIONS:
                return found
    return found


def _shown(where: str, code: str, language_id: str, redact_secrets: bool) -> str:
    """`where` and the code in a fence (secrets redacted when asked)."""
    if redact_secrets:
        code = redact(code)
    return f"{where}:\n{fenced(code, language_id)}"


def _cap(text: str) -> str:
    if len(text) <= MAX_RESULT_CHARS:
        return text
    return text[:MAX_RESULT_CHARS].rsplit("\n", 1)[0] + "\n… (cut: the result is too long)"


@dataclass
class Toolbox:
    """The tools for one question: what is open, where the workspace is, what must not go."""

    documents: Sequence[OpenDocument]
    roots: Sequence[Path]
    language_id: str
    exclude: tuple[str, ...]
    redact_secrets: bool = True
    limits: WalkLimits = field(default_factory=WalkLimits)

    specs = TOOL_SPECS

    async def call(self, name: str, arguments: str) -> ToolOutcome:
        """Run one tool call (its JSON arguments as the model sent them)."""
        try:
            args = json.loads(arguments or "{}")
        except ValueError:
            args = None
        if not isinstance(args, dict):
            return ToolOutcome(f"The arguments of {name} must be a JSON object.",
                               f"{name}: arguments that are not JSON")
        if name == FIND_DEFINITION:
            symbol = args.get("name")
            if not isinstance(symbol, str) or not _NAME.match(symbol.strip()) \
                    or len(symbol) > 200:
                return ToolOutcome("`name` must be a symbol name such as `scale`.",
                                   "find_definition without a usable name")
            return await asyncio.to_thread(self.find_definition, symbol.strip())
        if name == READ_LINES:
            return self.read_lines(args.get("path"), args.get("start"), args.get("end"))
        return ToolOutcome(f"There is no tool {name!r}; use {FIND_DEFINITION} or {READ_LINES}.",
                           f"asked for an unknown tool {name!r}")

    # -- find_definition ------------------------------------------------------------------------

    def _sendable(self, path: str) -> bool:
        return not is_excluded(path, self.exclude)

    def find_definition(self, symbol: str) -> ToolOutcome:
        """Open documents (same language first), then the workspace's files of the language."""
        name = re.split(r"\.|::", symbol)[-1]
        results: list[tuple[str, int, str, str]] = []  # path, line, code, language
        ordered = sorted(self.documents,
                         key=lambda d: not same_family(d.language_id, self.language_id))
        open_paths = {d.path for d in self.documents}
        for doc in ordered:
            if not self._sendable(doc.path):
                continue
            results += [(doc.path, line, code, doc.language_id)
                        for line, code in find_in_text(name, doc.text)]
            if len(results) >= MAX_DEFINITIONS:
                break
        if not results:
            results = self._search_workspace(name, open_paths)
        if not results:
            where = f"the open documents or the workspace's {self.language_id} files"
            return ToolOutcome(f"No definition of `{symbol}` found in {where}.",
                               f"looked up `{symbol}`: not found")
        shown = [_shown(f"{path}, line {line}", code, language, self.redact_secrets)
                 for path, line, code, language in results[:MAX_DEFINITIONS]]
        places = ", ".join(dict.fromkeys(Path(p).name for p, *_ in results[:MAX_DEFINITIONS]))
        return ToolOutcome(_cap("\n\n".join(shown)), f"looked up `{symbol}` in {places}")

    def _search_workspace(self, name: str, skip: set[str]) -> list[tuple[str, int, str, str]]:
        def wanted(relative: str) -> bool:
            return same_family(language_of_path(relative), self.language_id)

        reader = Reader(self.limits)
        quick = re.compile(rf"\b{re.escape(name)}\b")
        found: list[tuple[str, int, str, str]] = []
        for root in self.roots:
            for file in walk(root, wanted, self.exclude, self.limits):
                if file.relative in skip:
                    continue
                text = reader.read(file.path)
                if text is None or not quick.search(text):
                    continue
                language = language_of_path(file.relative)
                found += [(file.relative, line, code, language)
                          for line, code in find_in_text(name, text)]
                if len(found) >= MAX_DEFINITIONS:
                    return found
        return found

    # -- read_lines -----------------------------------------------------------------------------

    def read_lines(self, path: Any, start: Any, end: Any) -> ToolOutcome:
        """Lines `start`-`end` (1-based, inclusive) of an open document."""
        if not isinstance(path, str) or not all(
                isinstance(x, int) and not isinstance(x, bool) for x in (start, end)):
            return ToolOutcome("read_lines needs `path` (a string), `start` and `end` "
                               "(line numbers).", "read_lines with unusable arguments")
        wanted = path.strip().lstrip("./")
        doc = next((d for d in self.documents if d.path == wanted), None) or next(
            (d for d in self.documents
             if d.path.endswith("/" + wanted) or Path(d.path).name == wanted), None)
        if doc is None or not self._sendable(doc.path):
            return ToolOutcome(f"{path} is not open in the editor (only open files can be "
                               "read).", f"could not read `{path}`: not open")
        lines = doc.text.split("\n")
        first = max(1, min(start, end))
        last = min(len(lines), max(start, end), first + MAX_READ_LINES - 1)
        if first > len(lines):
            return ToolOutcome(f"{doc.path} has only {len(lines)} lines.",
                               f"could not read `{doc.path}` line {first}")
        code = "\n".join(lines[first - 1:last])
        shown = _shown(f"{doc.path}, lines {first}-{last}", code, doc.language_id,
                       self.redact_secrets)
        return ToolOutcome(_cap(shown), f"read `{Path(doc.path).name}` lines {first}-{last}")
