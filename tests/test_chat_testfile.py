"""Write tests, its pure parts: test-file names, the checks on the path the model names, the
project's existing tests and framework, the prompt, and appending to an existing file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deepseek_lsp.chat.actions import messages_for_tests
from deepseek_lsp.chat.prompts import excerpt_of
from deepseek_lsp.chat.testfile import (
    ExistingTests,
    appendix,
    check_test_path,
    find_existing_tests,
    is_test_file_name,
    parse_test_file,
)
from deepseek_lsp.config import DEFAULT_EXCLUDE

NAMES = [
    ("tests/test_cart.py", "python", True), ("cart_test.py", "python", True),
    ("tests/conftest.py", "python", False), ("cart.py", "python", False),
    ("src/cart.test.ts", "typescript", True), ("src/cart.spec.js", "typescript", True),
    ("src/cart.ts", "typescript", False), ("cart_test.go", "go", True), ("cart.go", "go", False),
    ("src/test/java/CartTest.java", "java", True), ("tests/cart.rs", "rust", True),
    ("src/cart.rs", "rust", False), ("spec/cart_spec.rb", "ruby", True),
    ("tests/test_cart.sh", "python", False), ("tests/test_cart.md", "python", False),
]


@pytest.mark.parametrize(("path", "language", "expected"), NAMES)
def test_test_file_names(path, language, expected) -> None:
    assert is_test_file_name(path, language) is expected


def test_paths_are_checked(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_dir.py").mkdir()
    ok = check_test_path("./tests/test_cart.py", tmp_path, "python", DEFAULT_EXCLUDE)
    assert ok == ("tests/test_cart.py", (tmp_path / "tests" / "test_cart.py").resolve())
    refused = {
        "": "leaves", "tests//test_a.py": "leaves", "../test_a.py": "leaves",
        "/abs/test_a.py": "not relative", "~/test_a.py": "not relative",
        "D:/test_a.py": "not relative", "a\\test_a.py": "plain relative",
        ".hidden/test_a.py": "hidden", "tests/.test_a.py": "hidden",
        "tests/test_dir.py": "not a regular file", "secrets/x/test_a.py": "exclude",
        "cart.py": "not named like a test",
    }
    exclude = (*DEFAULT_EXCLUDE, "**/secrets/**")
    for path, reason in refused.items():
        problem = check_test_path(path, tmp_path, "python", exclude)
        assert isinstance(problem, str) and reason in problem, (path, problem)
    (tmp_path / "out").symlink_to(tmp_path.parent)
    problem = check_test_path("out/test_a.py", tmp_path, "python", exclude)
    assert "outside the workspace" in problem


def test_parse_test_file() -> None:
    good = parse_test_file(json.dumps({"path": "tests/test_a.py", "content": "x = 1"}))
    assert good.path == "tests/test_a.py" and good.content == "x = 1\n"
    fenced = parse_test_file(json.dumps({"path": "a_test.go", "content": "```go\npackage a\n```"}))
    assert fenced.content == "package a\n"
    in_fence = parse_test_file('```json\n{"path": "t_test.go", "content": "package t"}\n```')
    assert in_fence.path == "t_test.go"
    for bad, reason in [("", "empty content"), ("{", "not valid JSON"), ("[1]", "not a JSON obj"),
                        ('{"content": "x"}', "names no file"),
                        ('{"path": "t.py", "content": "  "}', "is empty")]:
        assert reason in parse_test_file(bad), bad


def test_appendix_keeps_the_existing_file_and_drops_repeated_imports() -> None:
    existing = "import pytest\nfrom shop import total\n\n\ndef test_old():\n    assert True\n"
    new = ("import pytest\nfrom shop import total, count\n\n\ndef test_count():\n"
           "    assert count([]) == 0\n")
    added = appendix(existing, new)
    assert added == ("\n\nfrom shop import total, count\n\n\ndef test_count():\n"
                     "    assert count([]) == 0\n")
    assert appendix("x = 1", "y = 2\n") == "\n\n\ny = 2\n"
    assert appendix(existing, "import pytest\n") == ""


def test_existing_tests_nearest_first_with_their_framework(tmp_path: Path) -> None:
    for path in ("tests/test_far.py", "shop/tests/test_money.py", "shop/tests/test_cart.py",
                 "node_modules/x/test_dep.py", "secrets/test_hidden.py"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("import unittest\nKEY = 'sk-live-0123456789abcdefghijklmn'\n"
                                     if "cart" in path else "def test_x():\n    pass\n")
    found = find_existing_tests(tmp_path, "shop/orders.py", "python",
                                (*DEFAULT_EXCLUDE, "**/secrets/**"))
    assert found.paths == ("shop/tests/test_cart.py", "shop/tests/test_money.py",
                           "tests/test_far.py")
    assert found.framework == "unittest" and found.sample_path == "shop/tests/test_cart.py"
    assert "sk-live" not in found.sample and "<redacted>" in found.sample
    js = find_existing_tests(tmp_path, "web/app.ts", "typescript", DEFAULT_EXCLUDE)
    assert js == ExistingTests()
    (tmp_path / "package.json").write_text('{"devDependencies": {"vitest": "^2"}}')
    assert find_existing_tests(tmp_path, "web/app.ts", "typescript",
                               DEFAULT_EXCLUDE).framework == "vitest"


def test_the_prompt_says_json_shows_the_shape_and_the_projects_tests() -> None:
    code = "def add(a, b):\n    return a + b\n"
    excerpt = excerpt_of(code, 0, len(code), path="shop/maths.py", language_id="python")
    existing = ExistingTests(("shop/tests/test_money.py",), "pytest", "shop/tests/test_money.py",
                             "import pytest\n\n\ndef test_zero():\n    assert 0 == 0")
    _, user = messages_for_tests(excerpt, existing)
    prompt = user["content"]
    assert "json" in prompt.lower()
    assert ('{"path": "<test file path relative to the workspace root>", '
            '"content": "<the whole test file>"}') in prompt
    assert "`shop/tests/test_money.py`. They use pytest." in prompt
    # the selection is the first code block; the style sample comes after it
    assert prompt.index("```python\ndef add") < prompt.index("```python\nimport pytest")
    assert prompt.index("Selected code from `shop/maths.py`") < prompt.index("for its style")
