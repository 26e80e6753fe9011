"""The context builder: when to ask, which mode, and exactly what is sent (and how stably)."""

from __future__ import annotations

import itertools
import random
import statistics
import sysconfig
import time
from pathlib import Path

import pytest

from deepseek_lsp.completion import (
    CHARS_PER_TOKEN,
    chars_for_tokens,
    count_tokens,
    postprocess,
)
from deepseek_lsp.completion.context import (
    ANCHOR_STEPS,
    LINE_LIMIT,
    NEIGHBOR_SHARE,
    WORD_SCAN_CHARS,
    FimPlan,
    Neighbor,
    Skip,
    anchored_prefix_start,
    build_fim_request,
    header_line,
    sliding_prefix_start,
    tail_allows_completion,
)
from deepseek_lsp.config import Settings

PLAIN = Settings(neighbor_files=False, redact_secrets=False)


def split_cursor(buffer: str, marker: str = "|") -> tuple[str, int]:
    """`buffer` with one cursor marker → (text, offset)."""
    assert buffer.count(marker) == 1, buffer
    offset = buffer.index(marker)
    return buffer[:offset] + buffer[offset + 1:], offset


def plan_for(buffer: str, language_id: str = "python", path: str = "src/app.py",
             settings: Settings = PLAIN, neighbors: tuple[Neighbor, ...] = ()) -> FimPlan | Skip:
    text, offset = split_cursor(buffer)
    return build_fim_request(text, offset, path=path, language_id=language_id,
                             settings=settings, neighbors=neighbors)


def must_plan(*args: object, **kwargs: object) -> FimPlan:
    plan = plan_for(*args, **kwargs)  # type: ignore[arg-type]
    assert isinstance(plan, FimPlan), plan
    return plan


def generated_source(lines: int = 20_000, seed: int = 7) -> str:
    """Python-looking code, ~50 characters a line (a 20,000-line file is ~1 MB)."""
    rng = random.Random(seed)
    out = []
    for i in range(lines):
        depth = rng.randint(0, 3)
        out.append("    " * depth + f"value_{i} = compute(item_{i % 97}, 'text {i}')  # c{i % 7}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# When to ask


@pytest.mark.parametrize("language_id", ["markdown", "plaintext", "Markdown"])
def test_disabled_languages_are_skipped(language_id: str) -> None:
    plan = plan_for("hello |", language_id=language_id, path="notes.md", settings=Settings())
    assert isinstance(plan, Skip) and "disabled" in plan.reason


def test_a_custom_disabled_language_is_skipped() -> None:
    settings = PLAIN.replace(disabled_languages=("go",))
    assert isinstance(plan_for("x := |", language_id="go", settings=settings), Skip)
    assert isinstance(plan_for("x = |", language_id="python", settings=settings), FimPlan)


@pytest.mark.parametrize("path", [".env", "config/.env", "secrets/id_rsa", "a/b/.ssh/config"])
def test_excluded_files_are_skipped(path: str) -> None:
    plan = plan_for("x = |", path=path, settings=Settings())
    assert isinstance(plan, Skip) and "excluded" in plan.reason


def test_a_file_excluded_by_its_real_path_is_skipped() -> None:
    """`credentials` in a workspace that is ~/.aws, `cfg.py` linking to `.env`: the names the
    caller resolved (`privacy.real_paths`) are judged too, for the file and its neighbours."""
    settings = Settings()
    plan = build_fim_request("x = ", 4, path="credentials", language_id="python",
                             settings=settings, real_paths=("/home/u/.aws/credentials",))
    assert isinstance(plan, Skip) and "excluded" in plan.reason
    secret = Neighbor("cfg.py", "python", "# SECRET-NEIGHBOUR\n" + _neighbor_source("own", 20),
                      real_paths=("/home/u/app/cfg.py", "/home/u/app/.env"))
    plain = Neighbor("db.py", "python", "# PLAIN-NEIGHBOUR\n" + _neighbor_source("own", 20))
    plan = must_plan(_neighbor_source("own") + "|", settings=settings, neighbors=(secret, plain))
    assert "PLAIN-NEIGHBOUR" in plan.params.prompt
    assert "SECRET-NEIGHBOUR" not in plan.params.prompt


@pytest.mark.parametrize("buffer", [
    "foo|bar", "x = |y", "|import os", "print(|value)", "a = |_private", "s = |é", "s = |中文",
    "n = |42",
])
def test_cursor_before_an_identifier_is_skipped(buffer: str) -> None:
    plan = plan_for(buffer)
    assert isinstance(plan, Skip) and "identifier" in plan.reason


@pytest.mark.parametrize("tail", [
    "", "   ", ")", '")', ");", ") {", "):", "]", '"]', "}", "})", "});", "'", "`", ";", ",",
    ">", "</div>", "</a></li>", ") {}", '")\t',
])
def test_tails_that_allow_completion(tail: str) -> None:
    assert tail_allows_completion(tail)
    assert isinstance(plan_for(f"call(x, |{tail}", language_id="javascript"), FimPlan)


@pytest.mark.parametrize("tail", [
    ") + 1", " = 1", ".bar()", "{ x }", " foo)", " and y", "// comment", "} else {",
])
def test_text_right_of_the_cursor_is_skipped(tail: str) -> None:
    assert not tail_allows_completion(tail)
    plan = plan_for(f"call(x, |{tail}", language_id="javascript")
    assert isinstance(plan, Skip) and "right of the cursor" in plan.reason


def test_an_empty_document_is_completed() -> None:
    plan = must_plan("|")
    assert plan.mode == "multi"
    assert plan.params.prompt == header_line("src/app.py", "python")
    assert plan.params.suffix is None
    assert (plan.prefix_start, plan.suffix_end) == (0, 0)
    assert (plan.line_prefix, plan.line_suffix) == ("", "")


def test_cursor_at_zero_before_a_newline_and_at_the_end() -> None:
    start = must_plan("|\nimport os\n")
    assert start.params.prompt == header_line("src/app.py", "python")
    assert start.params.suffix == "\nimport os\n"
    end = must_plan("import os\nos.|")
    assert end.params.prompt.endswith("import os\nos.")
    assert end.params.suffix is None and end.mode == "single"


@pytest.mark.parametrize("offset", [-5, 10_000])
def test_offsets_out_of_range_are_clamped(offset: int) -> None:
    plan = build_fim_request("\nx = 1\n", offset, path="a.py", language_id="python",
                             settings=PLAIN)
    assert isinstance(plan, FimPlan)
    assert plan.prefix_start <= min(max(offset, 0), 7) <= plan.suffix_end


# ---------------------------------------------------------------------------------------------
# Mode, stops, limits


@pytest.mark.parametrize(("buffer", "language_id", "mode"), [
    ("def f():\n    |\n", "python", "multi"),  # whitespace-only line
    ("x = 1\n|\ny = 2", "python", "multi"),  # empty line
    ("def f(x):|", "python", "multi"),
    ("    if x:|\n", "python", "multi"),
    ('d = {"a":|}', "python", "single"),  # a colon inside a literal is not a block
    ("x = 1|", "python", "single"),
    ("function f() {|}", "javascript", "multi"),
    ("if (ok) {|", "typescript", "multi"),
    ("foo(|)", "javascript", "single"),
    ("foo(|", "javascript", "multi"),  # an argument list continued on the next lines
    ("const xs = [|", "javascript", "multi"),
    ("const f = () =>|", "typescript", "multi"),
    ("func main() {|", "go", "multi"),
    ("fn main() {|}", "rust", "multi"),
    ("int main(void) {|", "c", "multi"),
    ("<div>|", "html", "multi"),
    ("<div>|</div>", "html", "single"),
    ("  return (|", "javascriptreact", "multi"),
    ("    <ul>|", "typescriptreact", "multi"),
    ("<br/>|", "html", "single"),
    ("if x then|", "lua", "multi"),
    ("for f in *; do|", "shellscript", "multi"),
    ("items.each do|", "ruby", "multi"),
    ("undo|", "ruby", "single"),  # `do` must be a whole word
    ("key:|", "yaml", "multi"),
])
def test_mode(buffer: str, language_id: str, mode: str) -> None:
    assert must_plan(buffer, language_id=language_id).mode == mode


def test_single_line_stops_at_the_newline_with_few_tokens() -> None:
    plan = must_plan("x = |", settings=PLAIN.replace(max_tokens=300, temperature=0.2))
    assert plan.params.stop == ("\n",)
    assert plan.params.max_tokens == 64
    assert plan.params.temperature == 0.2
    small = must_plan("x = |", settings=PLAIN.replace(max_tokens=10))
    assert small.params.max_tokens == 10


@pytest.mark.parametrize("language_id", ["python", "javascript", "go", "rust", "c", "cobol"])
def test_multi_line_stops(language_id: str) -> None:
    plan = must_plan("\n|\n", language_id=language_id, settings=PLAIN.replace(max_tokens=300))
    stops = plan.params.stop
    assert stops[0] == "\n\n\n" and 1 <= len(stops) <= 16
    assert all(s.startswith("\n") for s in stops)  # never stops before the first line
    assert plan.params.max_tokens == 300
    if language_id == "python":  # inside a block: a new top-level item ends the answer
        indented = must_plan("def f():\n    |\n", settings=PLAIN).params.stop
        assert "\n\ndef " in indented and "\n\nclass " in indented


def test_at_column_zero_an_answer_may_begin_with_a_new_top_level_item() -> None:
    """Right after a function, `\n\ndef g` is the answer itself: a `\n\ndef ` stop string
    would cut it to nothing, so only two blank lines stop it, and post-processing keeps one
    item."""
    plan = must_plan("def f():\n    return 1\n|", settings=PLAIN)
    assert plan.params.stop == ("\n\n\n",)
    answer = "\n\ndef g(x):\n    return x\n\ndef h():\n    pass"
    suggestion = postprocess(answer, plan.postprocess_context)
    assert suggestion is not None and suggestion.text == "\n\ndef g(x):\n    return x"


def test_crlf_documents_get_crlf_stops_and_line_ending() -> None:
    plan = must_plan("def f():\r\n    |\r\n    pass\r\n")
    assert plan.params.stop[0] == "\r\n\r\n\r\n"
    assert "\r\n\r\ndef " in plan.params.stop
    assert plan.postprocess_context.eol == "\r\n"
    assert plan.line_suffix == "" and plan.line_prefix == "    "
    last_line = must_plan("a = 1\r\nb = (|)")
    assert last_line.postprocess_context.eol == "\r\n" and last_line.line_suffix == ")"


# ---------------------------------------------------------------------------------------------
# The prompt


@pytest.mark.parametrize(("path", "language_id", "header"), [
    ("src/app.py", "python", "# path: src/app.py (python)\n"),
    ("main.go", "go", "// path: main.go (go)\n"),
    ("web/App.tsx", "typescriptreact", "// path: web/App.tsx (typescriptreact)\n"),
    ("lib.rs", "rust", "// path: lib.rs (rust)\n"),
    ("index.html", "html", "<!-- path: index.html (html) -->\n"),
    ("site.css", "css", "/* path: site.css (css) */\n"),
    ("q.sql", "sql", "-- path: q.sql (sql)\n"),
    ("run.sh", "shellscript", "# path: run.sh (shellscript)\n"),
    ("x.foo", "foolang", "# path: x.foo (foolang)\n"),
    ("src\\win\\a.c", "c", "// path: src/win/a.c (c)\n"),
])
def test_header_in_the_language_comment_syntax(path: str, language_id: str, header: str) -> None:
    assert header_line(path, language_id) == header
    assert must_plan("x|", language_id=language_id, path=path).params.prompt.startswith(header)


def test_prompt_is_header_plus_window_and_suffix_is_the_window_after() -> None:
    text = generated_source(2_000)
    settings = PLAIN.replace(prefix_tokens=500, suffix_tokens=200)
    headers = set()
    for near in (0, 15, 4_000, 50_000, len(text) // 2, len(text) - 1, len(text)):
        offset = text.find("\n", near) if near < len(text) else near  # a line's end: no skip
        plan = build_fim_request(text, offset, path="big.py", language_id="python",
                                 settings=settings)
        assert isinstance(plan, FimPlan), (offset, plan)
        header = header_line("big.py", "python")
        headers.add(plan.params.prompt[: len(header)])
        assert plan.params.prompt == header + text[plan.prefix_start:offset]
        assert plan.prefix_start == 0 or text[plan.prefix_start - 1] == "\n"
        assert offset - plan.prefix_start <= chars_for_tokens(500)
        assert (plan.params.suffix or "") == text[offset:plan.suffix_end]
        assert plan.suffix_end == len(text) or text[plan.suffix_end - 1] == "\n"
        assert plan.suffix_end - offset <= chars_for_tokens(200)
    assert headers == {header_line("big.py", "python")}


def test_no_suffix_budget_sends_no_suffix() -> None:
    plan = must_plan("x = |\ny = 2\n", settings=PLAIN.replace(suffix_tokens=0))
    assert plan.params.suffix is None


def test_emoji_and_cjk_keep_code_point_offsets() -> None:
    plan = must_plan('msg = "😀 你好 é" + greet(|)  \n')
    assert plan.line_prefix == 'msg = "😀 你好 é" + greet('
    assert plan.line_suffix == ")  "
    assert plan.params.prompt.endswith(plan.line_prefix)
    assert plan.params.suffix == ")  \n"


def test_tabs_and_indent() -> None:
    plan = must_plan("func f() {\n\tif x {\n\t\t|\n\t}\n}\n", language_id="go", path="f.go")
    assert plan.indent == "\t\t" and plan.mode == "multi"


def test_huge_single_line_is_bounded_and_fast() -> None:
    line = "x = [" + "1, " * 1_700_000 + "]"  # a 5 MB line
    text = "import os\n" + line + "\n"
    started = time.perf_counter()
    middle = build_fim_request(text, len(text) // 2, path="a.py", language_id="python",
                               settings=PLAIN)
    end = build_fim_request(text, len(text) - 2, path="a.py", language_id="python",
                            settings=PLAIN)
    elapsed = time.perf_counter() - started
    assert isinstance(middle, Skip)
    assert isinstance(end, FimPlan)
    assert len(end.params.prompt) <= chars_for_tokens(PLAIN.prefix_tokens) + 100
    assert len(end.line_prefix) <= LINE_LIMIT
    assert end.params.suffix == "]\n"
    assert elapsed < 0.05  # generous: a bounded build takes well under a millisecond


# ---------------------------------------------------------------------------------------------
# Anchored prefix start


def type_along(text: str, offset: int, typed: str) -> list[tuple[str, int]]:
    """The document after each keystroke of typing `typed` at `offset`."""
    return [(text[:offset] + typed[:i] + text[offset:], offset + i)
            for i in range(1, len(typed) + 1)]


def share_unchanged(starts: list[int]) -> float:
    return sum(a == b for a, b in itertools.pairwise(starts)) / (len(starts) - 1)


def test_typing_on_a_line_keeps_the_prompt_start_byte_identical() -> None:
    text = generated_source()
    settings = Settings(neighbor_files=False)
    budget = chars_for_tokens(settings.prefix_tokens)
    offset = text.index("\n", len(text) // 2)
    typed = "".join(random.Random(3).choice("abcdefghij (),.=") for _ in range(200))
    plans = [build_fim_request(t, o, path="big.py", language_id="python", settings=settings)
             for t, o in type_along(text, offset, typed)]
    assert all(isinstance(p, FimPlan) for p in plans)
    starts = [p.prefix_start for p in plans]  # type: ignore[union-attr]
    assert share_unchanged(starts) >= 0.95
    for before, after in itertools.pairwise(plans):
        assert isinstance(before, FimPlan) and isinstance(after, FimPlan)
        assert len(after.params.prompt) - len(after.line_prefix) <= budget + 100
        if before.prefix_start == after.prefix_start:  # the whole prompt up to the cursor line
            stable = len(before.params.prompt) - len(before.line_prefix)
            assert after.params.prompt[:stable] == before.params.prompt[:stable]


def test_typing_lines_keeps_the_prompt_beginning_within_an_anchor_step() -> None:
    """The wiring, not the helper: `build_fim_request` as the engine calls it, while a
    60-line function is typed (Enter included) in the middle of a big file. While the cursor
    stays within one anchor step, each prompt starts with the whole previous one (DeepSeek's
    prefix cache hits); a window that slides with the cursor, even snapped to line starts,
    drops a line at its top on nearly every new line."""
    text = generated_source()
    step = chars_for_tokens(PLAIN.prefix_tokens) // ANCHOR_STEPS
    budget = step * ANCHOR_STEPS
    offset = text.index("\n", len(text) // 3)  # the end of a line
    body = "".join(f"\n    total_{i} = step(total_{i - 1}, {i})" for i in range(60))
    sent: list[tuple[int, str]] = []  # (anchor step of the cursor, prompt)
    for t, o in type_along(text, offset, body):
        plan = build_fim_request(t, o, path="big.py", language_id="python", settings=PLAIN)
        assert isinstance(plan, FimPlan), plan
        sent.append((-((budget - o) // step), plan.params.prompt))
    broken = [i for i, ((s1, p1), (s2, p2)) in enumerate(itertools.pairwise(sent))
              if s1 == s2 and not p2.startswith(p1)]
    assert broken == [], f"{len(broken)} prompt beginnings changed within an anchor step"
    moves = sum(not p2.startswith(p1) for (_, p1), (_, p2) in itertools.pairwise(sent))
    assert moves <= len(body) // step + 1


def test_anchored_start_moves_far_less_often_than_a_sliding_window() -> None:
    """Typing a 60-line function (short lines, Enter included) in the middle of a big file."""
    text = generated_source()
    budget = chars_for_tokens(Settings().prefix_tokens)
    offset = text.index("\n", len(text) // 3) + 1
    body = "".join(f"    total_{i} = step(total_{i - 1}, {i})\n" for i in range(60))
    anchored, sliding = [], []
    for t, o in type_along(text, offset, body):
        anchored.append(anchored_prefix_start(t, o, budget))
        sliding.append(sliding_prefix_start(t, o, budget))
    moves = {"anchored": anchored, "sliding": sliding}
    changes = {k: sum(a != b for a, b in itertools.pairwise(v)) for k, v in moves.items()}
    print(f"\nprompt-start changes over {len(body)} keystrokes: {changes}")
    assert changes["anchored"] <= len(body) // (budget // ANCHOR_STEPS) + 1
    # a line-cut sliding window moves once per line of text leaving the window: ~40 times here
    assert changes["sliding"] >= 30 and changes["sliding"] >= 10 * changes["anchored"]
    # the char-exact sliding window (no line cut) changes on every keystroke
    assert len({o - budget for _, o in type_along(text, offset, body)}) == len(body)


def test_deleting_and_moving_a_few_lines_keep_the_anchor() -> None:
    text = generated_source()
    budget = chars_for_tokens(Settings().prefix_tokens)
    offset = text.index("\n", len(text) // 2)
    starts = [anchored_prefix_start(text[: offset - i] + text[offset:], offset - i, budget)
              for i in range(40)]
    assert share_unchanged(starts) >= 0.95
    line_ends = [text.index("\n", offset + 1 + sum(range(k))) for k in range(6)]
    moved = {anchored_prefix_start(text, o, budget) for o in line_ends}
    assert len(moved) <= 2


@pytest.mark.parametrize("budget", [40, 1000, 5529])
def test_anchor_stays_within_budget_at_every_offset(budget: int) -> None:
    text = generated_source(300)
    step = budget // ANCHOR_STEPS
    for offset in range(0, len(text), 37):
        start = anchored_prefix_start(text, offset, budget)
        assert 0 <= start <= offset
        assert offset - start <= step * ANCHOR_STEPS
        if start == 0:
            continue
        # at a line start within a step after the anchor; only on a line longer than that,
        # mid-line: at a word boundary a little after the anchor
        anchor = -((step * ANCHOR_STEPS - offset) // step) * step
        if text[start - 1] != "\n":
            assert "\n" not in text[anchor - 1 : min(offset, anchor + step)]
            assert start - anchor < WORD_SCAN_CHARS


# ---------------------------------------------------------------------------------------------
# Neighbor snippets


def _neighbor_source(topic: str, lines: int = 72) -> str:
    return "".join(f"def {topic}_{i}(record):\n    return record.{topic}_field_{i}\n"
                   for i in range(lines // 2))


def _typing_settings() -> Settings:
    return Settings(neighbor_files=True, redact_secrets=False, prefix_tokens=400)


def test_neighbors_of_the_same_language_most_similar_first() -> None:
    billing = Neighbor("lib/billing.py", "python", _neighbor_source("invoice"))
    weather = Neighbor("lib/weather.py", "python", _neighbor_source("forecast"))
    other_language = Neighbor("web/invoice.js", "javascript", _neighbor_source("invoice"))
    secret = Neighbor("conf/.env", "python", _neighbor_source("invoice"))
    mine = "".join(f"total += invoice_{i}(record) + record.invoice_field_{i}\n" for i in range(40))
    text = mine + "x = |"
    plan = must_plan(text, settings=_typing_settings(),
                     neighbors=(weather, billing, other_language, secret))
    prompt = plan.params.prompt
    header = header_line("src/app.py", "python")
    assert prompt.startswith(header + "# path: lib/billing.py\ndef invoice_")
    assert "lib/weather.py" not in prompt  # no identifiers in common
    assert "web/invoice.js" not in prompt and ".env" not in prompt
    own = prompt.index("# path: src/app.py\n")
    assert prompt[own:] == "# path: src/app.py\n" + split_cursor(text)[0][plan.prefix_start:]
    snippets = prompt[len(header):own]
    assert len(snippets) <= chars_for_tokens(400) // NEIGHBOR_SHARE
    assert "def invoice_" in snippets and "#" not in snippets.replace("# path: lib/billing.py", "")


def test_no_neighbors_when_disabled() -> None:
    billing = Neighbor("lib/billing.py", "python", _neighbor_source("invoice"))
    text = "".join(f"y = invoice_{i}(record)\n" for i in range(40)) + "x = |"
    plan = must_plan(text, settings=_typing_settings().replace(neighbor_files=False),
                     neighbors=(billing,))
    assert "billing" not in plan.params.prompt


def test_neighbor_snippets_do_not_reshuffle_while_typing() -> None:
    rng = random.Random(5)
    topics = ["invoice", "customer", "payment", "ledger", "refund", "tax"]
    neighbors = tuple(Neighbor(f"lib/{t}.py", "python", _neighbor_source(t, 200)) for t in topics)
    mine = "".join(f"v{i} = {topic}_{rng.randrange(100)}(record.{topic}_field_{i % 100})\n"
                   for topic in topics * 3 for i in range(30))
    offset = mine.index("\n", len(mine) // 2)
    typed = "".join(rng.choice(topics) + "_1(r) + " for _ in range(25))[:200]
    snippet_blocks = []
    for t, o in type_along(mine, offset, typed):
        plan = build_fim_request(t, o, path="src/app.py", language_id="python",
                                 settings=_typing_settings(), neighbors=neighbors)
        assert isinstance(plan, FimPlan)
        prompt = plan.params.prompt
        own = prompt.find("# path: src/app.py\n")
        snippet_blocks.append(prompt[:own] if own != -1 else "")
    unchanged = sum(a == b for a, b in itertools.pairwise(snippet_blocks))
    assert unchanged / (len(snippet_blocks) - 1) >= 0.95
    assert any("# path: lib/" in block for block in snippet_blocks)


def test_neighbor_chunks_are_indexed_once_per_version() -> None:
    from deepseek_lsp.completion import context

    neighbor = Neighbor("lib/once.py", "python", _neighbor_source("once"))
    first = context._chunks(neighbor)
    assert context._chunks(Neighbor("lib/once.py", "python", _neighbor_source("once"))) is first
    changed = Neighbor("lib/once.py", "python", _neighbor_source("once") + "x = 1\n")
    assert context._chunks(changed) is not first


# ---------------------------------------------------------------------------------------------
# Secrets


def test_redaction_is_applied_to_the_windows_without_moving_the_anchor() -> None:
    secret_line = 'OPENAI = "sk-' + "z" * 30 + '"\n'
    text = generated_source(3_000)
    middle = text.index("\n", len(text) // 2) + 1
    text = text[:middle] + secret_line + text[middle:]
    offset = text.index("\n", middle + len(secret_line) + 200)
    plans = [build_fim_request(text, offset, path="a.py", language_id="python",
                               settings=Settings(neighbor_files=False, redact_secrets=flag))
             for flag in (True, False)]
    redacted, plain = plans
    assert isinstance(redacted, FimPlan) and isinstance(plain, FimPlan)
    assert redacted.prefix_start == plain.prefix_start
    assert "z" * 30 in plain.params.prompt and "z" * 30 not in redacted.params.prompt
    assert redacted.params.prompt.count("\n") == plain.params.prompt.count("\n")


def _embedded_key(lines: int) -> tuple[str, list[str]]:
    """A private key block in Python source, one string literal per line (no line of it is
    bare base64), and its base64 lines."""
    rng = random.Random(3)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    body = ["".join(rng.choice(alphabet) for _ in range(64)) for _ in range(lines)]
    source = ("KEY = (\n    \"-----BEGIN RSA PRIVATE KEY-----\\n\"\n"
              + "".join(f'    "{line}\\n"\n' for line in body)
              + '    "-----END RSA PRIVATE KEY-----\\n"\n)\n')
    return source, body


def test_a_prefix_window_that_starts_inside_a_key_block_shows_none_of_it() -> None:
    """The anchored window begins in the middle of a long key block, far below its BEGIN line:
    the block's lines it shows are redacted all the same (the redactor looks back for it)."""
    key, body = _embedded_key(150)  # ~11 KB, twice the prefix budget
    text = "import os\n\n" + key + "\n\ndef load(path):\n    "
    plans = [build_fim_request(text, len(text), path="keys.py", language_id="python",
                               settings=Settings(neighbor_files=False, redact_secrets=flag))
             for flag in (True, False)]
    redacted, plain = plans
    assert isinstance(redacted, FimPlan) and isinstance(plain, FimPlan)
    assert "BEGIN" not in plain.params.prompt  # the window does start inside the block
    assert sum(line in plain.params.prompt for line in body) > 40
    assert not any(line in redacted.params.prompt for line in body)
    assert redacted.params.prompt.count("\n") == plain.params.prompt.count("\n")
    assert redacted.params.prompt.endswith("def load(path):\n    ")


def test_a_neighbour_snippet_from_inside_a_key_block_shows_none_of_it() -> None:
    from deepseek_lsp.completion.context import neighbor_snippets

    key = ("-----BEGIN OPENSSH PRIVATE KEY-----\n"
           + "".join(f"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAB{i:08d}\n"
                     for i in range(60))
           + "-----END OPENSSH PRIVATE KEY-----\n")
    neighbor = Neighbor("deploy/notes.py", "python", 'NOTES = """\n' + key + '"""\n')
    inside = key.splitlines()[30:54]  # one whole chunk of 24 lines inside the block
    query = "\n".join(inside)
    shown = neighbor_snippets(query, [neighbor], 4000, "python", redact_secrets=False)
    assert inside[0] in shown  # this chunk is the one picked
    redacted = neighbor_snippets(query, [neighbor], 4000, "python", redact_secrets=True)
    assert not any(line in redacted for line in inside)


# ---------------------------------------------------------------------------------------------
# Tokens


def test_chars_per_token_is_calibrated_against_the_tokenizer() -> None:
    """The constant must be conservative (≤ the median ratio) but not wasteful (≥ 80 % of it)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in stdlib.glob("*.py") if p.stat().st_size > 12_000)[:24]
    ratios = []
    for path in files:
        source = path.read_text(encoding="utf-8", errors="replace")
        window = source[len(source) // 3:len(source) // 3 + 5_000]
        ratios.append(len(window) / count_tokens(window))
    median = statistics.median(ratios)
    print(f"\nchars/token on {len(ratios)} stdlib windows: median {median:.2f}, "
          f"constant {CHARS_PER_TOKEN}")
    assert 0.8 * median <= CHARS_PER_TOKEN <= median


def test_chars_for_tokens() -> None:
    assert chars_for_tokens(0) == 0
    assert chars_for_tokens(1000) == int(1000 * CHARS_PER_TOKEN)


# ---------------------------------------------------------------------------------------------
# Micro-benchmark (prints only; SPEC §6 targets p50 ≤ 1 ms)


def _percentiles(runs: list[int]) -> str:
    runs = sorted(runs)
    p50, p99 = runs[len(runs) // 2] / 1e6, runs[int(len(runs) * 0.99)] / 1e6
    return f"p50 {p50:.3f} ms, p99 {p99:.3f} ms"


def test_benchmark_build_fim_request_on_a_1mb_file(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints wall-clock and CPU time (the CPU figure is immune to a busy machine)."""
    text = generated_source()
    assert len(text) >= 1_000_000 and text.count("\n") == 20_000
    rng = random.Random(11)
    neighbors = tuple(Neighbor(f"lib/n{i}.py", "python", generated_source(400, seed=i))
                      for i in range(4))
    lines = []
    for label, settings, extra in (
        ("no neighbors", Settings(neighbor_files=False), ()),
        ("4 neighbors", Settings(), neighbors),
    ):
        offset = text.index("\n", len(text) // 2)
        wall, cpu, post = [], [], []
        for i in range(3_000):
            if i % 300 == 0:  # jump somewhere else now and then, as a user does
                offset = text.index("\n", rng.randrange(len(text) - 100))
            text_now = text[:offset] + "x" * (i % 300) + text[offset:]
            cursor = offset + i % 300
            started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
            plan = build_fim_request(text_now, cursor, path="big.py", language_id="python",
                                     settings=settings, neighbors=extra)
            wall.append(time.perf_counter_ns() - started)
            cpu.append(time.thread_time_ns() - started_cpu)
            assert isinstance(plan, FimPlan)
            started_cpu = time.thread_time_ns()
            postprocess(" + scale(item_3, 'x'))\n", plan.postprocess_context)
            post.append(time.thread_time_ns() - started_cpu)
        lines.append(f"build_fim_request, 1 MB / 20,000 lines, {label}: wall {_percentiles(wall)}; "
                     f"cpu {_percentiles(cpu)}; postprocess cpu {_percentiles(post)}")
    with capsys.disabled():
        print("\n" + "\n".join(lines))


def test_lone_cr_line_endings_end_the_cursor_line() -> None:
    """Old Mac files: the cursor at the end of a line is not 'text right of the cursor'."""
    text = "def f():\r    x = 1\r\ry = 2\r"
    offset = text.index("x = 1") + len("x = 1")
    plan = build_fim_request(text, offset, path="a.py", language_id="python",
                             settings=Settings(neighbor_files=False))
    assert isinstance(plan, FimPlan)
    assert plan.line_prefix == "    x = 1" and plan.line_suffix == ""
    assert plan.postprocess_context.eol == "\r"
