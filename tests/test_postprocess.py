"""Post-processing: each step on its own, then the whole pipeline on real-looking code."""

from __future__ import annotations

import pytest

from deepseek_lsp.completion import FimPlan, Suggestion, build_fim_request
from deepseek_lsp.completion.postprocess import (
    PostprocessContext,
    advance_suggestion,
    balance_brackets,
    cut_at_dedent,
    document_indent_style,
    drop_repeated_following_lines,
    is_complete,
    match_indent_style,
    normalize_newlines,
    postprocess,
    put_tail_on_own_line,
    repeats_suffix,
    strip_leading_blank_lines,
    strip_repeated_indent,
    strip_trailing_whitespace,
)
from deepseek_lsp.config import Settings

PLAIN = Settings(neighbor_files=False, redact_secrets=False)
PATHS = {"python": "app.py", "javascript": "app.js", "typescript": "app.ts",
         "typescriptreact": "App.tsx", "javascriptreact": "App.jsx", "go": "main.go",
         "rust": "main.rs", "c": "main.c", "html": "index.html"}


def make_ctx(line_prefix: str = "", line_suffix: str = "", following: str = "", *,
             mode: str = "single", text_before: str = "", line_comment: str | None = "#",
             quotes: str = "\"'", eol: str = "\n") -> PostprocessContext:
    return PostprocessContext(
        mode=mode,  # type: ignore[arg-type]
        line_prefix=line_prefix,
        line_suffix=line_suffix,
        suffix_window=line_suffix + ("\n" + following if following else ""),
        text_before=text_before,
        eol=eol,
        line_comment=line_comment,
        quotes=quotes,
    )


def complete(buffer: str, raw: str, language_id: str = "python") -> tuple[Suggestion | None, str]:
    """Build the request for `buffer` (cursor at `|`), post-process `raw`; return the suggestion
    and the document after accepting it."""
    offset = buffer.index("|")
    text = buffer[:offset] + buffer[offset + 1:]
    plan = build_fim_request(text, offset, path=PATHS.get(language_id, "x"),
                             language_id=language_id, settings=PLAIN)
    assert isinstance(plan, FimPlan), plan
    suggestion = postprocess(raw, plan.postprocess_context)
    if suggestion is None:
        return None, text
    end = offset + suggestion.replace_suffix_chars
    return suggestion, text[:offset] + suggestion.text + text[end:]


# ---------------------------------------------------------------------------------------------
# The whole pipeline: (language, buffer with `|`, raw model output) → (text, replaced chars)

CASES = [
    # auto-closed tails: replaced, never duplicated, never lost
    ("py-quote-paren", "python", 'print("|")\n', 'hello")', 'hello")', 2),
    ("py-quote-paren-no-closers", "python", 'print("|")\n', "hello", "hello", 0),
    ("py-quote-paren-semicolon", "python", 'print("|")\n', 'hello");', 'hello");', 2),
    ("py-single-quote", "python", "name = '|'\n", "bob'", "bob'", 1),
    ("py-paren", "python", "x = foo(|)\n", "a, b)", "a, b)", 1),
    ("py-extra-paren-dropped", "python", "x = foo(|)\n", "a, b))", "a, b)", 1),
    ("py-inner-call-kept", "python", "x = f(|)\n", "g(x)", "g(x)", 0),
    ("py-nested-tail", "python", "x = f(g(|))\n", "x)", "x)", 1),
    ("py-nested-tail-both", "python", "x = f(g(|))\n", "x))", "x))", 2),
    ("py-bracket", "python", "items = [|]\n", "1, 2, 3]", "1, 2, 3]", 1),
    ("py-dict-brace", "python", "d = {|}\n", '"a": 1}', '"a": 1}', 1),
    ("py-comment-tail", "python", "# see foo(|)\n", "bar)", "bar)", 1),
    ("py-outer-paren-closed-on-this-line", "python", "x = bar(\n    foo(|)\n", "a))", "a))", 1),
    ("py-outer-paren-closed-below", "python", "x = bar(\n    foo(|)\n)\n", "a))", "a)", 1),
    # Python blocks
    ("py-body-regenerates-return", "python",
     "def area(r):\n    |\n    return result\n",
     "result = 3.14159 * r * r\n    return result\n", "result = 3.14159 * r * r", 0),
    ("py-after-opener-stops-at-dedent", "python",
     "def f(x):|\n\ndef g():\n    pass\n",
     "\n    return x * 2\n\ndef h():\n    pass", "\n    return x * 2", 0),
    ("py-repeated-indent", "python", "def f():\n    |\n", "    return 1", "return 1", 0),
    ("py-deeper-indent-kept", "python", "    if x:\n    |\n", "    y = 1", "    y = 1", 0),
    ("py-dedent-in-body", "python", "def f():\n    a = 0\n    |\n",
     "b = 1\n    c = 2\nprint(c)", "b = 1\n    c = 2", 0),
    ("py-trailing-blank-lines", "python", "def f():\n    |\n", "a = 1   \n\n\n", "a = 1", 0),
    # at column 0 the model's blank lines before a new item stay (PEP 8's two), at most two;
    # on an indented blank line they would leave whitespace-only lines and are dropped
    ("py-new-function-keeps-blank-lines", "python", "def f():\n    pass\n|",
     "\n\ndef g():\n    pass", "\n\ndef g():\n    pass", 0),
    ("py-at-most-two-blank-lines", "python", "x = 1\n|", "\n\n\n\ny = 2", "\n\ny = 2", 0),
    ("py-indented-blank-lines-dropped", "python", "def f():\n    a = 1\n    |\n",
     "\n    return a", "return a", 0),
    # JavaScript / TypeScript / JSX
    ("js-auto-closed-brace", "javascript", "function f() {|}\n",
     "\n  return 1;\n}", "\n  return 1;\n}", 1),
    ("js-brace-tail-to-own-line", "javascript", "function f() {|}\n",
     "\n  return 1;", "\n  return 1;\n", 0),
    ("js-existing-closing-brace", "javascript", "function f() {\n  |\n}\n",
     "return 1;\n}", "return 1;", 0),
    ("js-closing-brace-at-eof", "javascript", "function f() {\n  const x = 1;\n  |",
     "return x;\n}", "return x;\n}", 0),
    ("js-if-condition", "javascript", "if (|) {\n", "x > 0) {", "x > 0", 0),
    ("js-call-semicolon", "javascript", "console.log('|');\n", "hi');", "hi');", 3),
    ("ts-arrow", "typescript", "const f = (x: number) =>|\n", " x * 2;", " x * 2;", 0),
    ("ts-generic-tail", "typescript", "let m: Map<|>;\n", "string, number>;",
     "string, number>;", 2),
    ("tsx-closing-tag", "typescriptreact", "return <div>|</div>;\n", "Hello</div>;", "Hello", 0),
    ("jsx-attribute", "javascriptreact", '<a href="|">\n', '/home">', '/home">', 2),
    # Go (tabs)
    ("go-tabs-and-existing-brace", "go", 'func main() {\n\t|\n}\n',
     'fmt.Println("hi")\n    os.Exit(0)\n}', 'fmt.Println("hi")\n\tos.Exit(0)', 0),
    ("go-call", "go", "\tfmt.Println(|)\n", '"hi")', '"hi")', 1),
    # Rust
    ("rust-auto-closed-brace", "rust", "fn main() {|}\n",
     '\n    println!("hi");\n}', '\n    println!("hi");\n}', 1),
    ("rust-macro-tail", "rust", "let v = vec![|];\n", "1, 2];", "1, 2];", 2),
    # C
    ("c-printf", "c", 'printf("%d\\n", |);\n', "x);", "x);", 2),
    ("c-block-regenerates-return", "c", "int main(void) {\n    |\n    return 0;\n}\n",
     "int x = 1;\n    return 0;\n}", "int x = 1;", 0),
    # HTML
    ("html-closing-tag", "html", "<li>|</li>\n", "Item</li>", "Item", 0),
    # CRLF, emoji, CJK
    ("crlf", "python", "def f():\r\n    |\r\n    pass\r\n", "x = 1\r\n    y = 2\r\n",
     "x = 1\r\n    y = 2", 0),
    ("crlf-model-answers-lf", "python", "def f():\r\n    |\r\n", "x = 1\n    y = 2",
     "x = 1\r\n    y = 2", 0),
    ("emoji-cjk", "python", 's = "😀 你好" + greet(|)\n', "名字)", "名字)", 1),
]


@pytest.mark.parametrize(("language_id", "buffer", "raw", "text", "replaced"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_pipeline(language_id: str, buffer: str, raw: str, text: str, replaced: int) -> None:
    suggestion, _ = complete(buffer, raw, language_id)
    assert suggestion == Suggestion(text, replaced)


@pytest.mark.parametrize(("buffer", "raw", "document"), [
    ('print("|")\n', 'hello")', 'print("hello")\n'),
    ("x = foo(|)\n", "a, b))", "x = foo(a, b)\n"),
    ("function f() {|}\n", "\n  return 1;", "function f() {\n  return 1;\n}\n"),
    ('s = "😀 你好" + greet(|)\n', "名字)", 's = "😀 你好" + greet(名字)\n'),
    ("if (|) {\n", "x > 0) {", "if (x > 0) {\n"),
])
def test_accepted_documents(buffer: str, raw: str, document: str) -> None:
    language_id = "javascript" if "function" in buffer or "if (" in buffer else "python"
    assert complete(buffer, raw, language_id)[1] == document


@pytest.mark.parametrize(("buffer", "raw"), [
    ("x = 1\n|\ny = 2\n", "y = 2"),  # repeats the next line
    ("x = foo(|)\n", ")"),  # only the closer that is already there
    ('print("|")\n', '")'),
    ("x = |\n", ""),
    ("x = |\n", "   \n  "),
    ("x = |\n", "\nfoo()"),  # single-line mode: nothing on the cursor's line
    ("def f():\n    |\n    return 1\n", "return 1\n"),
    ("function f() {\n  |\n}\n", "\n}"),
])
def test_nothing_worth_showing(buffer: str, raw: str) -> None:
    language_id = "javascript" if "function" in buffer else "python"
    assert complete(buffer, raw, language_id)[0] is None


# ---------------------------------------------------------------------------------------------
# Steps


@pytest.mark.parametrize(("raw", "expected"), [
    ("a\r\nb", "a\nb"), ("a\rb", "a\nb"), ("a\nb", "a\nb"), ("\r\n\r\n", "\n\n"),
])
def test_normalize_newlines(raw: str, expected: str) -> None:
    assert normalize_newlines(raw) == expected


@pytest.mark.parametrize(("lines", "expected"), [
    (["", "  ", "x", "", "y"], ["x", "", "y"]), (["x"], ["x"]), (["", " "], []),
])
def test_strip_leading_blank_lines(lines: list[str], expected: list[str]) -> None:
    assert strip_leading_blank_lines(lines) == expected


@pytest.mark.parametrize(("line_prefix", "text_before", "first", "expected"), [
    ("    ", "def f():\n    x = 1\n", "    y = 2", "y = 2"),  # repeated
    ("    ", "def f():\n", "    y = 2", "y = 2"),  # opener above: 4 + 4 > 4
    ("    ", "    if x:\n", "    y = 2", "    y = 2"),  # opener at 4: 8 is expected
    ("\t", "func f() {\n", "\ty := 2", "y := 2"),
    ("    ", "x = 1\n", "  y", "y"),  # odd lead: the cursor's indentation stands
    ("", "def f():\n", "    y = 2", "    y = 2"),  # cursor at column 0: nothing repeated
    ("    ", "", "y = 2", "y = 2"),
])
def test_strip_repeated_indent(line_prefix: str, text_before: str, first: str,
                               expected: str) -> None:
    ctx = make_ctx(line_prefix, mode="multi", text_before=text_before)
    assert strip_repeated_indent([first, "    z"], ctx, 4) == [expected, "    z"]


@pytest.mark.parametrize(("lines", "min_indent", "expected"), [
    (["a", "    b", "c"], 4, ["a", "    b"]),
    (["a", "", "    b", "", "def g():"], 4, ["a", "", "    b", ""]),
    (["", "  x;", "}", "more();"], 1, ["", "  x;", "}"]),  # the block's closing line stays
    (["", "  x;", "});", "y"], 1, ["", "  x;", "});"]),
    (["", "  x;", "} else {", "  y;"], 1, ["", "  x;"]),
    (["a", "\tb", "c"], 4, ["a", "\tb"]),  # a tab is 4 wide
    (["a", "b"], 0, ["a", "b"]),
])
def test_cut_at_dedent(lines: list[str], min_indent: int, expected: list[str]) -> None:
    assert cut_at_dedent(lines, min_indent) == expected


@pytest.mark.parametrize(("lines", "following", "line_prefix", "expected"), [
    (["x = 1", "    return x"], ["    return x", ""], "    ", ["x = 1"]),
    (["x = 1", "    return x", "", "foo()"], ["    return x", "", "foo()"], "    ", ["x = 1"]),
    (["x = 1", "    y = 2", "    z = 3"], ["    y = 2", "    z = 3", "w"], "    ", ["x = 1"]),
    (["return x"], ["    return x"], "    ", []),  # the whole completion repeats
    (["a();", "    b();", "    d();"], ["    b();", "    c();"], "    ",
     ["a();", "    b();", "    d();"]),  # one repeated line followed by new code stays
    (["  if (x) {", "    y();", "  }"], ["}"], "", ["  if (x) {", "    y();", "  }"]),
    (["  y();", "}"], ["}"], "  ", ["  y();"]),
    (["", "  return 1;"], ["  return 1;"], "def f():", [""]),
    (["x"], [], "", ["x"]),
])
def test_drop_repeated_following_lines(lines: list[str], following: list[str], line_prefix: str,
                                       expected: list[str]) -> None:
    assert drop_repeated_following_lines(lines, following, line_prefix) == expected


@pytest.mark.parametrize(("lines", "expected"), [
    (["a  ", "b\t", "", " "], ["a", "b"]), ([""], [""]), (["", "x"], ["", "x"]),
])
def test_strip_trailing_whitespace(lines: list[str], expected: list[str]) -> None:
    assert strip_trailing_whitespace(lines) == expected


@pytest.mark.parametrize(("text_before", "line_prefix", "style"), [
    ("def f():\n    x = 1\n        y = 2\n", "    ", (False, 4)),
    ("a:\n  b:\n    c: 1\n", "  ", (False, 2)),
    ("func f() {\n\tx := 1\n", "\t", (True, 4)),
    ("x = 1\ny = 2\n", "", None),
])
def test_document_indent_style(text_before: str, line_prefix: str,
                               style: tuple[bool, int] | None) -> None:
    assert document_indent_style(make_ctx(line_prefix, text_before=text_before)) == style


@pytest.mark.parametrize(("lines", "style", "expected"), [
    (["a", "    b", "        c"], (True, 4), ["a", "\tb", "\t\tc"]),
    (["a", "  b", "    c"], (True, 4), ["a", "\tb", "\t\tc"]),  # the model's unit is 2
    (["a", "\tb", "\t\tc"], (False, 2), ["a", "  b", "    c"]),
    (["a", "\tb"], None, ["a", "\tb"]),
])
def test_match_indent_style(lines: list[str], style: tuple[bool, int] | None,
                            expected: list[str]) -> None:
    assert match_indent_style(lines, style) == expected


@pytest.mark.parametrize(("text", "line_suffix", "following", "repeats"), [
    (")", ")", "", True), ("return x", "", "    return x", True), ("x", ")", "", False),
    ("a = 1\n    b = 2", "", "    a = 1\n    b = 2\n", True), ("", "", "x", False),
    ("bar", "", "bar()", False),  # the start of the next line only: a real suggestion
    ("x = 1", "", "x = 1; y = 2", False),
])
def test_repeats_suffix(text: str, line_suffix: str, following: str, repeats: bool) -> None:
    assert repeats_suffix(text, make_ctx("", line_suffix, following)) is repeats


@pytest.mark.parametrize(("line_prefix", "line_suffix", "following", "text", "expected"), [
    ("print(", ")", "", '"a")', ('"a")', 1)),
    ('print("', '")', "", "a", ("a", 0)),
    ('print("', '")', "", 'a")', ('a")', 2)),
    ("f(", ")", "", "g(x)", ("g(x)", 0)),
    ("f(", ")", "", "a))", ("a)", 1)),  # nothing above to close
    ("f(", ")", ")", "a))", ("a)", 1)),
    ("if (", ") {", "", "x) {", ("x) {", 3)),
    ("x = ", "", "", "f(a", ("f(a", 0)),  # opens: left for the user to close
    ("x = ", ";", "", "y", ("y", 0)),  # `;` not supplied by the completion: kept
    ("x = ", ";", "", "y;", ("y;", 1)),
    ('s = "it', '"', "", "'s fine\"", ("'s fine\"", 1)),  # apostrophe inside a string
    ("f(", ")", "", "a, [b)", ("a, [b)", 1)),  # unbalanced answer: at least no duplicate
])
def test_balance_brackets(line_prefix: str, line_suffix: str, following: str, text: str,
                          expected: tuple[str, int]) -> None:
    assert balance_brackets(text, make_ctx(line_prefix, line_suffix, following)) == expected


@pytest.mark.parametrize(("text", "replaced", "line_suffix", "expected"), [
    ("\n  x;", 0, "}", "\n  x;\n"),
    ("\n  x;\n}", 1, "}", "\n  x;\n}"),
    ("x;", 0, "}", "x;"),  # one line: stays on the line
    ("\n  x;", 0, "", "\n  x;"),
])
def test_put_tail_on_own_line(text: str, replaced: int, line_suffix: str, expected: str) -> None:
    ctx = make_ctx("function f() {", line_suffix, mode="multi")
    assert put_tail_on_own_line(text, replaced, ctx) == expected


@pytest.mark.parametrize(("suggestion", "typed", "rest"), [
    ("hello()", "", "hello()"), ("hello()", "he", "llo()"), ("hello()", "hello()", ""),
    ("hello()", "hx", None), ("hi", "hi!", None), ("😀 ok", "😀", " ok"),
    ("a\r\nb", "a\r\n", "b"),
])
def test_advance_suggestion(suggestion: str, typed: str, rest: str | None) -> None:
    assert advance_suggestion(suggestion, typed) == rest


@pytest.mark.parametrize(("mode", "line_prefix", "partial", "done"), [
    ("single", "x = ", "foo(", False),
    ("single", "x = ", "foo()\n", True),
    ("multi", "    ", "a = 1\n    b = 2\n", False),
    ("multi", "    ", "a = 1\n    b = 2\ndef g", False),  # the dedented line may still grow
    ("multi", "    ", "a = 1\n    b = 2\ndef g():\n", True),
    ("multi", "function f() {", "\n  x();\n}\n", True),
    ("multi", "function f() {", "\n  x();\n", False),
])
def test_is_complete(mode: str, line_prefix: str, partial: str, done: bool) -> None:
    ctx = make_ctx(line_prefix, mode=mode, text_before="def f():\n")
    assert is_complete(partial, ctx) is done


def test_the_first_line_of_a_single_line_answer_only() -> None:
    ctx = make_ctx("x = ", mode="single")
    assert postprocess("compute(a)\nprint(x)\n", ctx) == Suggestion("compute(a)", 0)


def test_a_completion_that_only_repeats_the_text_after_the_cursor_is_dropped() -> None:
    """Found by hypothesis: `00|{)` with the model answering `{`."""
    plan = build_fim_request("00{)", 2, path="a.py", language_id="python",
                             settings=Settings(neighbor_files=False))
    assert isinstance(plan, FimPlan)
    assert postprocess("{", plan.postprocess_context) is None
