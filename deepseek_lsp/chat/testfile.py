"""Write tests: the prompt, the project's existing tests, and checking the file the model names.

`deepseek.tests` asks with JSON output for exactly `{"path": ..., "content": ...}` (DeepSeek
requires the word "json" in the prompt, and an example of the shape makes the answer
reliable). The prompt names the project's existing test files of the language and their
framework, and shows the start of the nearest one, so the new file lands next to them in their
style. The model's `path` is never trusted: `check_test_path` accepts only a relative path with
no `..` and no hidden folder, inside the workspace folder once resolved, not matching the
`exclude` globs, and named like a test file of the language. An existing file is never
overwritten: the new tests are appended to it (`appendix`), without the imports it already has.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from deepseek_lsp.chat.prompts import Excerpt, describe_excerpt, fenced
from deepseek_lsp.chat.workspace import DEFAULT_LIMITS, Reader, WalkLimits, inside, walk
from deepseek_lsp.languages import language_of_path, same_family
from deepseek_lsp.privacy import is_excluded, redact

JSON_FORMAT = (
    'Answer in json: one object exactly like this example, and nothing else:\n'
    '{"path": "<test file path relative to the workspace root>", '
    '"content": "<the whole test file>"}\n'
    "`path` names a new test file, placed and named like the project's existing tests; "
    "`content` is the complete file with its imports, ready to run."
)
#: Existing test files named in the prompt, at most; lines of the one shown for style.
LISTED_TESTS = 8
SAMPLE_LINES = 30
SAMPLE_CHARS = 2_000
#: An existing test file larger than this is not appended to.
MAX_APPEND_TARGET_BYTES = 1024 * 1024

_TEST_NAME = re.compile(
    r"^(?:test_.+|.+_tests?|.+\.(?:test|spec)|.+_spec|.+Tests?|Test[A-Z0-9_].*|.+Spec|.+IT)$")
_TEST_DIRS = frozenset({"test", "tests", "__tests__", "spec", "specs", "testing"})
#: Frameworks recognised in test files' text, first match wins (per language family).
_FRAMEWORKS: tuple[tuple[str, str], ...] = (
    (r"^\s*import unittest\b|\bunittest\.TestCase\b", "unittest"),
    (r"^\s*import pytest\b|^\s*from pytest\b|@pytest\.", "pytest"),
    (r"""from ["']vitest["']|\bvi\.fn\(""", "vitest"),
    (r"""["']@jest/globals["']|\bjest\.(?:fn|mock|spyOn)\(""", "jest"),
    (r"""from ["']node:test["']|require\(["']node:test["']\)""", "node:test"),
    (r"""from ["']mocha["']|require\(["']chai["']\)|from ["']chai["']""", "mocha"),
    (r"\"testing\"", "Go's testing package"),
    (r"org\.junit\.jupiter", "JUnit 5"),
    (r"org\.junit\.Test\b", "JUnit 4"),
    (r"\bRSpec\.describe\b", "RSpec"),
    (r"\bMinitest::Test\b", "Minitest"),
    (r"#\[test\]", "Rust's #[test]"),
    (r"^\s*def test_\w+\(", "pytest"),
)
_IMPORT_LINE = re.compile(
    r"^\s*(?:import\s|from\s+\S+\s+import\s|#include\s|use\s|using\s|package\s|require\(|"
    r"(?:const|let|var)\s+[\w{},\s]+=\s*require\()")


@dataclass(frozen=True)
class ExistingTests:
    """The project's test files of the language, nearest to the source first."""

    paths: tuple[str, ...] = ()
    framework: str | None = None
    sample_path: str | None = None
    sample: str = ""  # the start of the nearest test file (redacted when asked)


@dataclass(frozen=True)
class ProposedFile:
    """The file the model proposes: its path relative to the workspace root and its text."""

    path: str
    content: str


def is_test_file_name(path: str, language_id: str, source_path: str = "") -> bool:
    """Whether `path` names a test file of `language_id` (or of the source's suffix)."""
    p = PurePosixPath(path)
    suffix_ok = same_family(language_of_path(path), language_id) or (
        bool(source_path) and p.suffix != "" and p.suffix == PurePosixPath(source_path).suffix)
    if not suffix_ok:
        return False
    stem = p.name[: -len(p.suffix)] if p.suffix else p.name
    if _TEST_NAME.match(stem):
        return True
    # Rust's integration tests and Elixir's are any file under `tests/`.
    return bool(set(p.parts[:-1]) & {"tests", "test"}) and p.suffix in (".rs", ".exs")


def _nearness(path: str, source: str) -> tuple[int, int, str]:
    """Sort key: more leading folders shared with the source first, then shorter paths."""
    a, b = PurePosixPath(path).parts[:-1], PurePosixPath(source).parts[:-1]
    shared = 0
    while shared < min(len(a), len(b)) and a[shared] == b[shared]:
        shared += 1
    return -shared, len(a), path


def detect_framework(texts: list[str]) -> str | None:
    for pattern, name in _FRAMEWORKS:
        if any(re.search(pattern, t, re.MULTILINE) for t in texts):
            return name
    return None


def find_existing_tests(
    root: Path,
    source_path: str,
    language_id: str,
    exclude: tuple[str, ...],
    redact_secrets: bool = True,
    limits: WalkLimits = DEFAULT_LIMITS,
) -> ExistingTests:
    """The test files of the language under `root` (bounded walk) and their framework.

    Blocking (it reads the disk): run it in a thread.
    """
    found = [f for f in walk(root, lambda rel: is_test_file_name(rel, language_id, source_path),
                             exclude, limits)]
    found.sort(key=lambda f: _nearness(f.relative, source_path))
    reader = Reader(limits)
    heads: list[str] = []
    for f in found[:3]:
        text = reader.read(f.path)
        if text is not None:
            heads.append(text[:8_000])
    manifests = []
    for name in ("package.json", "pyproject.toml", "setup.cfg", "pytest.ini", "Cargo.toml"):
        path = root / name
        if path.is_file() and not is_excluded(name, exclude):
            text = reader.read(path)
            if text is not None:
                manifests.append(text[:64_000])
    framework = detect_framework(heads) or _framework_from_manifests(manifests, language_id)
    sample_path, sample = None, ""
    if found and heads:
        sample_path = found[0].relative
        lines = heads[0].split("\n")[:SAMPLE_LINES]
        sample = "\n".join(lines)[:SAMPLE_CHARS].rstrip()
        if redact_secrets:
            sample = redact(sample)
    return ExistingTests(tuple(f.relative for f in found[:LISTED_TESTS]), framework,
                         sample_path, sample)


def _framework_from_manifests(manifests: list[str], language_id: str) -> str | None:
    text = "\n".join(manifests)
    if same_family(language_id, "javascript"):
        for name in ("vitest", "jest", "mocha"):
            if f'"{name}"' in text:
                return name
    if language_id == "python" and "pytest" in text:
        return "pytest"
    return None


def prompt_for_tests(task: str, excerpt: Excerpt, existing: ExistingTests) -> str:
    """The user message of Write tests: the task, the JSON shape, where the project keeps its
    tests, then the code (the selection's block first), then an existing test file's start."""
    parts = [task, JSON_FORMAT]
    if existing.paths:
        shown = ", ".join(f"`{p}`" for p in existing.paths)
        framework = f" They use {existing.framework}." if existing.framework else ""
        parts.append(f"The project's existing test files: {shown}.{framework}")
    elif existing.framework:
        parts.append(f"The project uses {existing.framework} for its tests.")
    parts.append(describe_excerpt(excerpt))
    if existing.sample_path and existing.sample:
        parts.append(f"The start of the existing test file `{existing.sample_path}`, for its "
                     f"style:\n\n{fenced(existing.sample, excerpt.language_id)}")
    return "\n\n".join(parts)


def parse_test_file(content: str) -> ProposedFile | str:
    """The `{path, content}` object of a JSON answer, or why there is none."""
    if not content.strip():
        return "DeepSeek answered with empty content"
    wrapped = re.match(r"^\s*```(?:json)?[ \t]*\n(.*)\n```\s*$", content, re.DOTALL)
    if wrapped:  # JSON in a Markdown fence, as a plain (not JSON-mode) answer may be
        content = wrapped.group(1)
    try:
        data = json.loads(content)
    except ValueError:
        return "the answer is not valid JSON"
    if not isinstance(data, dict):
        return "the answer is not a JSON object"
    path, text = data.get("path"), data.get("content")
    if not isinstance(path, str) or not path.strip():
        return "the answer names no file (`path`)"
    if not isinstance(text, str) or not text.strip():
        return "the answer's test file is empty (`content`)"
    fence = re.match(r"^\s*(`{3,})[^\n]*\n(.*?)\n?\1\s*$", text, re.DOTALL)
    if fence:  # a file wrapped in a Markdown fence: the file is what is inside
        text = fence.group(2) + "\n"
    return ProposedFile(path.strip(), text if text.endswith("\n") else text + "\n")


def check_test_path(
    relative: str, root: Path, language_id: str, exclude: tuple[str, ...], source_path: str = ""
) -> tuple[str, Path] | str:
    """The checked relative path (with `/`) and the file it names, or why it is refused."""
    shown = relative[:120]
    if "\0" in relative or "\\" in relative or len(relative) > 300:
        return f"the suggested path {shown!r} is not a plain relative path"
    rel = relative[2:] if relative.startswith("./") else relative
    p = PurePosixPath(rel)
    if p.is_absolute() or rel.startswith("~") or re.match(r"^[A-Za-z]:", rel):
        return f"the suggested path {shown!r} is not relative to the workspace folder"
    if any(part in ("", ".", "..") for part in rel.split("/")):
        return f"the suggested path {shown!r} leaves the workspace folder or is not a plain path"
    if any(part.startswith(".") for part in p.parts):
        return f"the suggested path {shown!r} goes into a hidden folder or file"
    target = inside(root, rel)
    if target is None:
        return f"the suggested path {shown!r} is outside the workspace folder"
    if is_excluded(rel, exclude) or is_excluded(str(target), exclude):
        return f"the suggested path {shown!r} matches the `exclude` setting"
    if not is_test_file_name(rel, language_id, source_path):
        return f"the suggested path {shown!r} is not named like a test file of this language"
    if target.exists() and not target.is_file():
        return f"the suggested path {shown!r} is not a regular file"
    return rel, target


def appendix(existing: str, content: str) -> str:
    """What to add at the end of an existing test file: the new file without the import lines
    the existing one already has, after a blank-line separator."""
    have = {line.strip() for line in existing.split("\n") if line.strip()}
    kept = [line for line in content.split("\n")
            if not (_IMPORT_LINE.match(line) and line.strip() in have)]
    body = "\n".join(kept).strip("\n")
    if not body:
        return ""
    lead = "" if existing.endswith("\n") or not existing else "\n"
    gap = "\n\n" if existing.strip() else ""
    return f"{lead}{gap}{body}\n"
