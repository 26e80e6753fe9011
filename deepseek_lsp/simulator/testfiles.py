"""Unit tests the simulated chat model writes: whole files, placed and styled like the project's.

Where a prompt shows the project's existing test files (their paths, perhaps their code), a new
test file goes into the same folder with the same naming (`test_x.py` or `x_test.py`,
`x.test.ts` or `x.spec.ts`) and the same framework (pytest or unittest; vitest, jest or
node:test); otherwise Python tests go to `tests/test_<module>.py`, JavaScript/TypeScript tests
next to the module as `<module>.test.<ext>`, Go tests next to it as `<module>_test.go`.
"""

from __future__ import annotations

import posixpath
import re

from .fim_model import _params, kind_of

_PY_TEST_CASES = {
    "fibonacci": ("{name}(10)", "55"), "factorial": ("{name}(5)", "120"),
    "is_prime": ("{name}(7)", "True"), "add": ("{name}(2, 3)", "5"),
    "subtract": ("{name}(5, 3)", "2"), "multiply": ("{name}(4, 3)", "12"),
    "divide": ("{name}(6, 3)", "2"), "reverse": ('{name}("abc")', '"cba"'),
    "greet": ('{name}("Ada")', '"Hello, Ada!"'), "maximum": ("{name}([1, 3, 2])", "3"),
    "minimum": ("{name}([1, 3, 2])", "1"), "average": ("{name}([1, 2, 3])", "2"),
    "sort": ("{name}([3, 1, 2])", "[1, 2, 3]"),
}

#: Paths of test files as prompts mention them.
TEST_PATH_RE = re.compile(
    r"(?<![\w/.-])((?:[\w.-]+/)*(?:test_[\w-]+\.py|[\w-]+_test\.py|[\w.-]+\.(?:test|spec)\."
    r"[cm]?[jt]sx?|[\w-]+_test\.go))\b")
_FUNCTION = re.compile(
    r"^\s*(?:export\s+)?(?:default\s+)?(?:async\s+)?(?:def|function|func|fn|pub\s+fn)\s+(\w+)"
    r"\s*(?:<[^>]*>)?\s*\(([^)]*)\)"
    r"|^\s*(?:export\s+)?(?:const|let)\s+(\w+)\s*=\s*(?:async\s*)?\(([^)]*)\)\s*(?::[^=]+)?=>",
    re.MULTILINE)
_TESTISH_DIR = re.compile(r"(?:^|/)(?:tests?|__tests__|specs?)(?:/|$)")


def detect_style(text: str, lang: str) -> str:
    """The test framework the project's code shown in the prompt uses."""
    if lang == "python":
        return "unittest" if re.search(r"^\s*import unittest\b|\bunittest\.TestCase\b", text,
                                       re.MULTILINE) else "pytest"
    if lang in ("javascript", "typescript"):
        for style, pattern in (("vitest", r"""["']vitest["']"""),
                               ("node", r"""["']node:test["']"""),
                               ("jest", r"""["']@?jest(?:/globals)?["']|\bjest\.\w+\(""")):
            if re.search(pattern, text):
                return style
        return "vitest"
    return "default"


def _cases(code: str) -> list[tuple[str, list[str]]]:
    functions = [(m.group(1) or m.group(3), _params(m.group(2) or m.group(4) or ""))
                 for m in _FUNCTION.finditer(code)]
    functions = [(n, p) for n, p in functions if not n.startswith("_")]
    return functions or [("main", [])]


def _call_and_expected(name: str, params: list[str]) -> tuple[str, str]:
    call, expected = _PY_TEST_CASES.get(kind_of(name) or "", ("", ""))
    if call:
        return call.format(name=name), expected
    return f"{name}({', '.join('1' for _ in params)})", ""


def tests_for(code: str, lang: str, module: str | None = None, style: str = "default",
              whole_file: bool = False) -> str:
    """Unit tests for the functions defined in `code` (importing them from `module`).

    `whole_file` adds what a file of its own needs (Go's package clause and imports, the
    runner's import for node:test, a trailing newline).
    """
    functions = _cases(code)
    names = ", ".join(n for n, _ in functions)
    blocks = []
    for name, params in functions:
        call, expected = _call_and_expected(name, params)
        if lang in ("javascript", "typescript"):
            if style == "node":
                check = (f"assert.strictEqual({call}, {expected});" if expected
                         else f"assert.notStrictEqual({call}, undefined);")
            else:
                check = (f"expect({call}).toBe({expected});" if expected
                         else f"expect({call}).toBeDefined();")
            blocks.append(f'test("{name} works", () => {{\n  {check}\n}});')
        elif lang == "go":
            go_name = name[:1].upper() + name[1:]
            blocks.append(f"func Test{go_name}(t *testing.T) {{\n\t_ = {call}\n}}")
        elif lang == "rust":
            blocks.append(f"#[test]\nfn test_{name}() {{\n    let _ = {call};\n}}")
        elif style == "unittest":
            check = (f"self.assertEqual({call}, {expected})" if expected
                     else f"self.assertIsNotNone({call})")
            blocks.append(f"    def test_{name}(self):\n        {check}")
        else:
            check = f"assert {call} == {expected}" if expected else f"assert {call} is not None"
            blocks.append(f"def test_{name}():\n    {check}")
    if lang == "python":
        imports = f"from {module} import {names}\n" if module else ""
        if style == "unittest":
            cls = "".join(p.title() for p in re.split(r"[_\W]+", module or "code") if p)
            text = ("import unittest\n\n" + imports + f"\n\nclass Test{cls}(unittest.TestCase):\n"
                    + "\n\n".join(blocks) + '\n\n\nif __name__ == "__main__":\n    unittest.main()')
        else:
            text = (imports + "\n\n" if imports else "") + "\n\n\n".join(blocks)
    elif lang in ("javascript", "typescript"):
        header = {"vitest": 'import { test, expect } from "vitest";\n',
                  "node": 'import { test } from "node:test";\nimport assert from "node:assert";\n',
                  }.get(style, "")
        if module:
            header += f'import {{ {names} }} from "{module}";\n'
        text = (header + "\n" if header else "") + "\n\n".join(blocks)
    elif lang == "go" and whole_file:
        package = re.search(r"^\s*package\s+(\w+)", code, re.MULTILINE)
        text = (f"package {package.group(1) if package else 'main'}\n\nimport \"testing\"\n\n"
                + "\n\n".join(blocks))
    else:
        text = "\n\n".join(blocks)
    return text + "\n" if whole_file else text


def _split(source: str) -> tuple[str, str, str]:
    """Folder, stem and extension of a path."""
    folder, base = posixpath.split(source)
    stem, dot, ext = base.rpartition(".")
    return (folder, stem, ext) if dot else (folder, base, "")


def python_module(source: str) -> str:
    """`src/shop/orders.py` -> `shop.orders`: the import path from the workspace root."""
    path = source[4:] if source.startswith("src/") else source
    folder, stem, _ = _split(path)
    parts = [p for p in folder.split("/") if p and p != "."] + [stem]
    return ".".join(re.sub(r"\W", "_", p) for p in parts)


def test_path(source: str, lang: str, existing: list[str]) -> str:
    """Where the tests of `source` go, following the existing test files' folder and naming."""
    folder, stem, ext = _split(source)
    if lang == "python":
        for path in existing:
            if path.endswith(".py"):
                name = posixpath.basename(path)
                new = f"{stem}_test.py" if name.endswith("_test.py") else f"test_{stem}.py"
                return posixpath.join(posixpath.dirname(path), new)
        return f"tests/test_{stem}.py"
    if lang in ("javascript", "typescript"):
        ext = ext or ("ts" if lang == "typescript" else "js")
        for path in existing:
            m = re.search(r"\.(test|spec)\.([cm]?[jt]sx?)$", path)
            if m:
                there = posixpath.dirname(path)
                where = there if _TESTISH_DIR.search(there + "/") else folder
                return posixpath.join(where, f"{stem}.{m.group(1)}.{ext}")
        return posixpath.join(folder, f"{stem}.test.{ext}")
    if lang == "go":
        return posixpath.join(folder, f"{stem}_test.go")
    if lang == "rust":
        return f"tests/{stem}.rs"
    return f"tests/test_{stem}.{ext or 'txt'}"


def import_path(source: str, test_file: str, lang: str) -> str | None:
    """How the test file imports the module under test."""
    if lang == "python":
        return python_module(source)
    if lang in ("javascript", "typescript"):
        folder, stem, _ = _split(source)
        rel = posixpath.relpath(posixpath.join(folder, stem) if folder else stem,
                                posixpath.dirname(test_file) or ".")
        return rel if rel.startswith(".") else "./" + rel
    return None


def test_file(code: str, lang: str, source: str | None, prompt: str,
              ignore: tuple[str, ...] = ()) -> tuple[str, str]:
    """Path and whole content of a test file for `code` from `source`, placed and styled like
    the existing tests `prompt` shows (test paths in `ignore`, e.g. an example's, do not count).
    """
    source = source or ("module.py" if lang == "python" else "module")
    existing = [p for p in TEST_PATH_RE.findall(prompt) if p not in ignore]
    path = test_path(source, lang, existing)
    content = tests_for(code, lang, import_path(source, path, lang), detect_style(prompt, lang),
                        whole_file=True)
    return path, content
