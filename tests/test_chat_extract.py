"""Extraction of the replacement code from model answers, indentation fitting, minimal edits."""

from __future__ import annotations

import pytest

from deepseek_lsp.chat.extract import (
    MinimalEdit,
    code_blocks,
    extract_code,
    fit_indentation,
    minimal_edit,
    plan_edit,
    replacement_for,
    tag_fits,
)

ORIGINAL = "def add(a, b):\n    return a + b"
DOCUMENTED = 'def add(a, b):\n    """Add two numbers."""\n    return a + b'


# -- extraction: (answer, language, original) → code or None --------------------------------------

EXTRACT_CASES = [
    pytest.param(f"Here you go:\n\n```python\n{DOCUMENTED}\n```\n\nDone.", DOCUMENTED,
                 id="prose-around-one-block"),
    pytest.param(f"```\n{DOCUMENTED}\n```", DOCUMENTED, id="untagged-block"),
    pytest.param(f"```py\n{DOCUMENTED}\n```", DOCUMENTED, id="alias-tag"),
    pytest.param(f"~~~python\n{DOCUMENTED}\n~~~", DOCUMENTED, id="tilde-fence"),
    pytest.param(f"Before:\n```python\n{ORIGINAL}\n```\nAfter:\n```python\n{DOCUMENTED}\n```",
                 DOCUMENTED, id="before-and-after"),
    pytest.param(f"```python\n{DOCUMENTED}\n```\nUsage:\n```python\nprint(add(1, 2))\n```",
                 DOCUMENTED, id="code-then-usage-example"),
    pytest.param(f"```bash\npip install numpy\n```\n```python\n{DOCUMENTED}\n```", DOCUMENTED,
                 id="other-language-block-first"),
    pytest.param(f"```diff\n-a\n+b\n```\n```python\n{DOCUMENTED}\n```", DOCUMENTED,
                 id="diff-skipped"),
    pytest.param(f"1. The code:\n\n   ```python\n   {DOCUMENTED.replace(chr(10), chr(10) + '   ')}"
                 "\n   ```\n", DOCUMENTED, id="fence-indented-in-list-item"),
    pytest.param(f"````python\n{DOCUMENTED}\n# ```not a fence end\n````",
                 DOCUMENTED + "\n# ```not a fence end", id="longer-fence-holds-backticks"),
    pytest.param(f"Here it is:\n```python\n{DOCUMENTED}\n", DOCUMENTED, id="unclosed-at-end"),
    pytest.param(f"Here is the documented function:\n\n{DOCUMENTED}\n\nThis adds a docstring.",
                 DOCUMENTED, id="no-fence-code-between-prose"),
    pytest.param(DOCUMENTED, DOCUMENTED, id="no-fence-bare-code"),
    pytest.param("This function adds two numbers and returns their sum.", None,
                 id="no-fence-only-prose"),
    pytest.param("", None, id="empty"),
    pytest.param("```python\n\n```", None, id="empty-block"),
    pytest.param("```python\ndef add(a, b):\n    # ... rest unchanged\n```", None,
                 id="placeholder-elides-code"),
    pytest.param("```python\ndef add(a, b):\n    ...\n```", None, id="ellipsis-body"),
    pytest.param("```python\ndef add(a, b):\n    # rest of the function\n```", None,
                 id="rest-of-comment"),
    pytest.param("```python\n# existing code\ndef add(a, b):\n    return a + b\n```", None,
                 id="existing-code-comment"),
    pytest.param("```python\n# Behaviour is unchanged.\ndef add(a, b):\n    return a + b\n```",
                 "# Behaviour is unchanged.\ndef add(a, b):\n    return a + b",
                 id="comment-mentioning-unchanged-is-code"),
    pytest.param(f"```python\r\n{DOCUMENTED}\r\n```\r\n", DOCUMENTED, id="crlf-answer"),
]


@pytest.mark.parametrize(("answer", "expected"), EXTRACT_CASES)
def test_extract_code(answer: str, expected: str | None) -> None:
    result = extract_code(answer, language_id="python", original=ORIGINAL)
    assert result.code == expected
    assert (result.problem is None) == (expected is not None)


def test_extract_keeps_original_placeholders() -> None:
    original = "def stub():\n    ..."
    answer = '```python\ndef stub():\n    """A stub."""\n    ...\n```'
    assert extract_code(answer, language_id="python", original=original).code == (
        'def stub():\n    """A stub."""\n    ...')


def test_extract_without_original_takes_the_largest_block() -> None:
    answer = "```python\nimport x\n```\n```python\ndef test_a():\n    assert a() == 1\n```"
    assert extract_code(answer, language_id="python").code == (
        "def test_a():\n    assert a() == 1")


def test_extract_problem_messages() -> None:
    assert "no code block" in (extract_code("Just words here.", original="x = 1").problem or "")
    assert "empty" in (extract_code("", original="x = 1").problem or "")
    assert "leaves out" in (extract_code("```\nx = 1\n// ...\n```", original="x = 1\ny = 2")
                            .problem or "")


@pytest.mark.parametrize(("tag", "language", "fits"), [
    ("python", "python", True), ("py", "python", True), ("", "rust", True),
    ("text", "go", True), ("ts", "typescriptreact", True), ("js", "typescript", True),
    ("c++", "c", True), ("bash", "python", False), ("json", "python", False),
    ("sh", "shellscript", True), ("rust", None, True),
])
def test_tag_fits(tag: str, language: str | None, fits: bool) -> None:
    assert tag_fits(tag, language) is fits


def test_code_blocks_info_strings() -> None:
    blocks = code_blocks("```python title=a.py\nx\n```\n``` {.rust}\ny\n```\n```js `bad`\n")
    assert [(b.tag, b.code) for b in blocks] == [("python", "x"), ("rust", "y")]


# -- indentation: (code, selection, lead) → replacement -------------------------------------------

INDENT_CASES = [
    pytest.param("x = 1\ny = 2", "        x = 1\n        y = 2\n", "",
                 "        x = 1\n        y = 2\n", id="dedented-answer-reindented"),
    pytest.param("x = 1\nif x:\n    y = 2", "    x = 0\n    if x:\n        y = 1", "",
                 "    x = 1\n    if x:\n        y = 2", id="relative-indent-kept"),
    pytest.param("x = 1\ny = 2", "x = 0\n    y = 0\n", "    ",
                 "x = 1\n    y = 2\n", id="lead-indent-not-repeated"),
    pytest.param("            x = 1\n            y = 2", "    x = 0\n    y = 0", "",
                 "    x = 1\n    y = 2", id="over-indented-answer"),
    pytest.param("foo(1,\n  2)", "foo(1,\n        2)", "result = ",
                 "foo(1,\n        2)", id="mid-line-selection-first-line-as-is"),
    pytest.param("if x:\n    y()\n", "\tif a:\n\t\tb()", "",
                 "\tif x:\n\t\ty()", id="spaces-to-tabs-and-no-trailing-newline"),
    pytest.param("a\n\nb", "  a\n\n  c\n", "", "  a\n\n  b\n", id="blank-lines-stay-blank"),
]


@pytest.mark.parametrize(("code", "selection", "lead", "expected"), INDENT_CASES)
def test_fit_indentation(code: str, selection: str, lead: str, expected: str) -> None:
    assert fit_indentation(code, selection, lead) == expected


def test_replacement_keeps_crlf_line_endings() -> None:
    selection = "    x = 0\r\n    y = 0\r\n"
    replacement = replacement_for("x = 1\ny = 0", selection)
    assert replacement == "    x = 1\r\n    y = 0\r\n"
    assert minimal_edit(selection, replacement) == MinimalEdit(0, 11, "    x = 1\r\n")


# -- minimal edits --------------------------------------------------------------------------------

MINIMAL_CASES = [
    pytest.param("a\nb\nc\n", "a\nB\nc\n", MinimalEdit(2, 4, "B\n"), id="middle-line"),
    pytest.param("a\nb\n", "a\nx\nb\n", MinimalEdit(2, 2, "x\n"), id="pure-insertion"),
    pytest.param("a\nb\nc", "a\nc", MinimalEdit(2, 4, ""), id="deletion"),
    pytest.param("a\nb", "a\nb", None, id="unchanged"),
    pytest.param("a\nb", "a\nbc", MinimalEdit(2, 3, "bc"), id="last-line-without-newline"),
    pytest.param("x", "y", MinimalEdit(0, 1, "y"), id="single-line"),
    pytest.param("a\na\n", "a\na\na\n", MinimalEdit(4, 4, "a\n"), id="repeated-lines"),
]


@pytest.mark.parametrize(("old", "new", "expected"), MINIMAL_CASES)
def test_minimal_edit(old: str, new: str, expected: MinimalEdit | None) -> None:
    edit = minimal_edit(old, new)
    assert edit == expected
    if edit is not None:
        assert old[: edit.start] + edit.text + old[edit.end :] == new


# -- the whole plan: answer → edit or reason -----------------------------------------------------

SELECTION = "    def total(self):\n        return 1\n"
PLAN_CASES = [
    pytest.param('```python\ndef total(self):\n    """One."""\n    return 1\n```', "",
                 False, MinimalEdit(21, 21, '        """One."""\n'), id="documented"),
    pytest.param("```python\ndef total(self):\n    return 1\n```", "", False,
                 "DeepSeek suggested no change", id="same-code"),
    pytest.param("```python\ndef total(self):\n    return 2\n```", "", True,
                 "the answer was cut off before its end", id="truncated"),
    pytest.param("No.", "", False, "the answer has no code block", id="prose"),
    pytest.param('```python\ndef total(self):\n    return "<redacted>"\n```', "", False,
                 "the selection holds a secret that was not sent, and applying the answer "
                 "would replace it", id="redacted-secret"),
]


@pytest.mark.parametrize(("answer", "lead", "truncated", "expected"), PLAN_CASES)
def test_plan_edit(answer: str, lead: str, truncated: bool, expected: object) -> None:
    assert plan_edit(answer, original=SELECTION, lead=lead, language_id="python",
                     truncated=truncated) == expected
