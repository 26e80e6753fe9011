"""The look-up tools chat offers the model: what a definition is in each language, where it is
looked for, and what is never read or sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deepseek_lsp.chat.tools import (
    MAX_RESULT_CHARS,
    TOOL_SPECS,
    OpenDocument,
    Toolbox,
    find_in_text,
)
from deepseek_lsp.chat.workspace import WalkLimits
from deepseek_lsp.config import DEFAULT_EXCLUDE

DEFINITIONS = [
    ("python", "import math\n\n\n@cache\ndef scale(v, f):\n    '''Doc.'''\n    if v:\n"
               "        return v * f\n\n    return 0\n\n\nx = scale(1, 2)\n",
     "scale", 4, "@cache\ndef scale(v, f):\n    '''Doc.'''\n    if v:\n        return v * f\n\n"
                 "    return 0"),
    ("python", "class Cart:\n    def total(self, items):\n        return sum(items)\n\n"
               "LIMIT = 10\n", "total", 2,
     "    def total(self, items):\n        return sum(items)"),
    ("python", "LIMIT = 10\nx = LIMIT\n", "LIMIT", 1, "LIMIT = 10"),
    ("python", "def multi(\n    a,\n    b,\n):\n    return a\n\n\ny = 1\n", "multi", 1,
     "def multi(\n    a,\n    b,\n):\n    return a"),
    ("javascript", "// Scale it.\nexport function scale(v, f) {\n  if (v) {\n    return v * f;\n"
                   "  }\n  return 0;\n}\nscale(1);\n", "scale", 1,
     "// Scale it.\nexport function scale(v, f) {\n  if (v) {\n    return v * f;\n  }\n"
     "  return 0;\n}"),
    ("javascript", "const add = (a, b) => {\n  return a + b;\n};\n", "add", 1,
     "const add = (a, b) => {\n  return a + b;\n};"),
    ("typescript", "class Cart {\n  total(items: number[]): number {\n    return 0;\n  }\n}\n",
     "total", 2, "  total(items: number[]): number {\n    return 0;\n  }"),
    ("go", "package m\n\n// Scale scales.\nfunc Scale(v int) int {\n\treturn v * 2\n}\n",
     "Scale", 3, "// Scale scales.\nfunc Scale(v int) int {\n\treturn v * 2\n}"),
    ("go", "func (c *Cart) Total() int {\n\treturn 0\n}\n", "Total", 1,
     "func (c *Cart) Total() int {\n\treturn 0\n}"),
    ("rust", "pub struct Thing {\n    a: u8,\n}\n", "Thing", 1,
     "pub struct Thing {\n    a: u8,\n}"),
    ("c", "static int add(int a, int b)\n{\n    return a + b;\n}\nint main(void) {\n"
          "    return add(1, 2);\n}\n", "add", 1,
     "static int add(int a, int b)\n{\n    return a + b;\n}"),
]


@pytest.mark.parametrize(("language", "text", "name", "line", "code"), DEFINITIONS)
def test_definitions_in_each_language(language, text, name, line, code) -> None:
    assert find_in_text(name, text)[0] == (line, code)


def test_uses_and_calls_are_not_definitions() -> None:
    text = "import scale\n\nresult = scale(3)\nif scale(2):\n    return scale(1)\n"
    assert find_in_text("scale", text) == []
    long = "def long():\n" + "    x = 1\n" * 200
    (found,) = find_in_text("long", long)
    assert found[1].endswith("… (the rest of the definition is left out)")
    assert found[1].count("\n") <= 81


def toolbox(tmp_path: Path, documents=(), **kw) -> Toolbox:
    return Toolbox(list(documents), [tmp_path], "python", DEFAULT_EXCLUDE, **kw)


async def call(box: Toolbox, tool: str, **arguments) -> tuple[str, str]:
    outcome = await box.call(tool, json.dumps(arguments))
    return outcome.content, outcome.summary


async def test_open_documents_first_same_language_first(tmp_path: Path) -> None:
    (tmp_path / "disk.py").write_text("def scale(x):\n    return 'disk'\n")
    docs = [OpenDocument("notes.js", "javascript", "function scale(x) { return 'js'; }\n"),
            OpenDocument("lib/open.py", "python", "def scale(x):\n    return 'open'\n")]
    content, summary = await call(toolbox(tmp_path, docs), "find_definition", name="scale")
    assert content.startswith("lib/open.py, line 1:\n```python\ndef scale(x):")
    assert "'js'" in content and "'disk'" not in content
    assert summary == "looked up `scale` in open.py, notes.js"


async def test_workspace_search_is_bounded_and_skips_what_it_must(tmp_path: Path) -> None:
    for folder in ("node_modules", ".venv", "build"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.py").write_text("def scale(x):\n    return 1\n")
    (tmp_path / "big.py").write_text("def scale(x):\n" + "    x = 1\n" * 60_000)
    (tmp_path / "secrets.py").write_text("def scale(x):\n    return 'secret'\n")
    (tmp_path / "link.py").symlink_to(tmp_path / "secrets.py")
    (tmp_path / "notes.txt").write_text("def scale(x): pass\n")
    content, summary = await call(toolbox(tmp_path), "find_definition", name="scale")
    assert summary == "looked up `scale`: not found" and "No definition" in content

    (tmp_path / "zzz").mkdir()
    (tmp_path / "zzz" / "found.py").write_text("def scale(x):\n    return 2\n")
    content, _ = await call(toolbox(tmp_path), "find_definition", name="scale")
    assert content.startswith("zzz/found.py, line 1:")
    few = toolbox(tmp_path, limits=WalkLimits(max_files=3))
    content, _ = await call(few, "find_definition", name="scale")
    assert "No definition" in content  # it stops listing before it gets there


async def test_results_are_redacted_and_capped(tmp_path: Path) -> None:
    key = "sk-live-0123456789abcdefghijklmnop"
    body = "".join(f"    line_{i} = '{'x' * 60}'\n" for i in range(70))
    docs = [OpenDocument("a.py", "python", f"def scale(x):\n    key = '{key}'\n{body}")]
    content, _ = await call(toolbox(tmp_path, docs), "find_definition", name="scale")
    assert key not in content and "<redacted>" in content
    assert len(content) <= MAX_RESULT_CHARS + 50
    plain, _ = await call(toolbox(tmp_path, docs, redact_secrets=False), "find_definition",
                          name="scale")
    assert key in plain


async def test_read_lines_of_open_documents_only(tmp_path: Path) -> None:
    (tmp_path / "disk.py").write_text("a = 1\n")
    numbered = "".join(f"x{i} = {i}\n" for i in range(1, 11))
    docs = [OpenDocument("pkg/scaling.py", "python", numbered),
            OpenDocument(".env", "dotenv", "KEY=1\n")]
    box = toolbox(tmp_path, docs)
    content, summary = await call(box, "read_lines", path="scaling.py", start=3, end=4)
    assert content == "pkg/scaling.py, lines 3-4:\n```python\nx3 = 3\nx4 = 4\n```"
    assert summary == "read `scaling.py` lines 3-4"
    for path in ("disk.py", ".env"):
        content, summary = await call(box, "read_lines", path=path, start=1, end=1)
        assert "not open" in content and "KEY" not in content
    content, _ = await call(box, "read_lines", path="pkg/scaling.py", start=50, end=60)
    assert "only 11 lines" in content


async def test_bad_calls_get_an_answer_not_an_exception(tmp_path: Path) -> None:
    box = toolbox(tmp_path)
    assert "JSON object" in (await box.call("find_definition", "not json")).content
    assert "symbol name" in (await call(box, "find_definition", name="a b; rm"))[0]
    assert "no tool" in (await call(box, "delete_everything"))[0]
    assert "needs `path`" in (await call(box, "read_lines", path="a.py"))[0]


def test_the_tool_specs_are_what_spec_8_fixes() -> None:
    (find,) = [t["function"] for t in TOOL_SPECS if t["function"]["name"] == "find_definition"]
    assert find["parameters"]["required"] == ["name"]
    assert find["parameters"]["properties"]["name"]["type"] == "string"
    assert all(t["type"] == "function" for t in TOOL_SPECS)
