"""Properties of the context builder and post-processing over arbitrary text and offsets."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from deepseek_lsp.completion import (
    FimPlan,
    Neighbor,
    Skip,
    advance_suggestion,
    build_fim_request,
    chars_for_tokens,
    postprocess,
)
from deepseek_lsp.completion.context import ANCHOR_STEPS, anchored_prefix_start, header_line
from deepseek_lsp.completion.postprocess import is_complete
from deepseek_lsp.config import Settings
from deepseek_lsp.privacy import redact, redact_pieces, redact_window

SKIP_REASONS = ("disabled", "excluded", "identifier", "right of the cursor")
LANGUAGES = ("python", "javascript", "go", "rust", "c", "html", "lua", "made-up")
CODE_PIECES = ["\n", "\r\n", "\t", "    ", "(", ")", "[", "]", "{", "}", '"', "'", "`", ":",
               ";", ",", "\\", "😀", "中文", "e\u0301", "\u0301", "def ", "return ", "# x",
               "// y", "<div>", "</div>", "=>", " do", "sk-" + "a" * 24, "password = 'abcd'"]

#: Surrogate-free text mixing any code point (combining marks included) with code-like pieces,
#: CRLF and tabs.
texts = st.lists(
    st.one_of(st.characters(blacklist_categories=("Cs",)), st.sampled_from(CODE_PIECES)),
    max_size=120,
).map("".join)
#: The same, at least 40 pieces long: longer than the small budgets below, so a window start
#: other than 0 is really drawn.
long_texts = st.lists(
    st.one_of(st.characters(blacklist_categories=("Cs",)), st.sampled_from(CODE_PIECES)),
    min_size=40, max_size=300,
).map("".join)

small_budgets = st.builds(
    lambda prefix, suffix, redact_secrets: Settings(
        prefix_tokens=prefix, suffix_tokens=suffix, neighbor_files=False,
        redact_secrets=redact_secrets, disabled_languages=(), exclude=("**/*.secret",)),
    st.sampled_from([64, 100, 400]),
    st.sampled_from([0, 8, 64]),
    st.booleans(),
)

PROPERTY = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(texts, st.data(), st.sampled_from(LANGUAGES), small_budgets)
def test_build_never_raises_and_its_windows_are_exact(
    text: str, data: st.DataObject, language_id: str, config: Settings
) -> None:
    offset = data.draw(st.integers(0, len(text)), label="offset")
    plan = build_fim_request(text, offset, path="src/file.x", language_id=language_id,
                             settings=config)
    if isinstance(plan, Skip):
        assert any(word in plan.reason for word in SKIP_REASONS)
        return
    header = header_line("src/file.x", language_id)
    prompt, suffix = plan.params.prompt, plan.params.suffix or ""
    prefix_window = text[plan.prefix_start:offset]
    suffix_window = text[offset:plan.suffix_end]
    assert 0 <= plan.prefix_start <= offset <= plan.suffix_end <= len(text)
    assert offset - plan.prefix_start <= chars_for_tokens(config.prefix_tokens)
    assert plan.suffix_end - offset <= chars_for_tokens(config.suffix_tokens)
    if config.redact_secrets:  # secrets are judged in the document, not in the window alone
        redacted = redact_pieces(text, (plan.prefix_start, offset, plan.suffix_end))
        assert [prompt, suffix] == [header + redacted[0], redacted[1]]
    else:  # the prompt ends with the text before the cursor, the suffix starts after it
        assert prompt == header + prefix_window and suffix == suffix_window
    assert plan.params.suffix is None or plan.params.suffix != ""
    assert text[:offset].endswith(plan.line_prefix)
    assert text[offset:].startswith(plan.line_suffix) and "\n" not in plan.line_suffix
    assert plan.mode in ("single", "multi") and len(plan.params.stop) <= 16


@PROPERTY
@given(texts, st.data(), st.sampled_from(LANGUAGES), texts)
def test_postprocess_never_raises_and_keeps_its_promises(
    text: str, data: st.DataObject, language_id: str, raw: str
) -> None:
    offset = data.draw(st.integers(0, len(text)), label="offset")
    plan = build_fim_request(text, offset, path="a.x", language_id=language_id,
                             settings=Settings(neighbor_files=False, disabled_languages=()))
    assume(isinstance(plan, FimPlan))
    assert isinstance(plan, FimPlan)
    ctx = plan.postprocess_context
    is_complete(raw, ctx)
    suggestion = postprocess(raw, ctx)
    if suggestion is None:
        return
    assert suggestion.text.strip()
    assert 0 <= suggestion.replace_suffix_chars <= len(plan.line_suffix)
    if plan.mode == "single":
        assert "\n" not in suggestion.text and "\r" not in suggestion.text
    if ctx.eol == "\r\n":
        assert "\n" not in suggestion.text.replace("\r\n", "")
    elif ctx.eol == "\r":  # a document with lone-CR line endings keeps them
        assert "\n" not in suggestion.text
    else:
        assert "\r" not in suggestion.text


_OPENERS = st.lists(st.sampled_from("([{"), min_size=1, max_size=4)
#: Completion text without brackets, quotes, comment starters or line breaks.
_PLAIN_ANSWER = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"),
                  blacklist_characters="()[]{}<>\"'`#/\\;,:"),
    min_size=1, max_size=30,
).filter(lambda s: s.strip() != "")


@PROPERTY
@given(_OPENERS, st.booleans(), _PLAIN_ANSWER, st.integers(0, 8), st.booleans(),
       st.sampled_from(["python", "javascript", "go", "c"]))
def test_an_auto_closed_tail_is_never_duplicated_nor_lost(
    openers: list[str], in_string: bool, answer: str, repeated: int, crlf: bool, language_id: str
) -> None:
    """Line `value = call(call[... |])`: whether the model repeats all, some or none of the
    auto-closed tail, accepting the suggestion gives the line with exactly one tail."""
    closers = "".join({"(": ")", "[": "]", "{": "}"}[o] for o in reversed(openers))
    quote = '"' if in_string else ""
    line_prefix = "value = " + "".join("call" + o for o in openers) + quote
    tail = quote + closers
    eol = "\r\n" if crlf else "\n"
    text = f"first = 1{eol}{line_prefix}{tail}{eol}after = 2{eol}"
    offset = text.index(line_prefix) + len(line_prefix)
    plan = build_fim_request(text, offset, path="a.x", language_id=language_id,
                             settings=Settings(neighbor_files=False))
    assert isinstance(plan, FimPlan)
    repeated = min(repeated, len(tail))
    suggestion = postprocess(answer + tail[:repeated], plan.postprocess_context)
    assert suggestion is not None
    end = offset + suggestion.replace_suffix_chars
    accepted = text[:offset] + suggestion.text + text[end:]
    line = line_prefix + (answer if repeated else answer.rstrip()) + tail
    assert accepted == f"first = 1{eol}{line}{eol}after = 2{eol}"


@PROPERTY
@given(st.text(st.characters(blacklist_categories=("Cs",))), st.data())
def test_advance_suggestion_follows_typing(suggestion: str, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(suggestion)), label="typed")
    assert advance_suggestion(suggestion, suggestion[:cut]) == suggestion[cut:]
    wrong = data.draw(st.text(min_size=1), label="diverging")
    assume(not suggestion.startswith(suggestion[:cut] + wrong))
    assert advance_suggestion(suggestion, suggestion[:cut] + wrong) is None


@PROPERTY
@given(texts)
def test_redaction_keeps_lines_and_is_idempotent(text: str) -> None:
    once = redact(text)
    assert once.count("\n") == text.count("\n")
    assert redact(once) == once


@PROPERTY
@given(long_texts, st.integers(0, 10_000), st.sampled_from([16, 40, 100]),
       st.one_of(st.sampled_from("\n\t ("), st.characters(blacklist_categories=("Cs",))))
# Enter at the end of a line longer than the budget: the window used to jump to the new
# line, and the prompt held no code before the cursor (issue 15).
@example("0000000000000def ", 17, 16, "\n")
def test_typing_at_the_cursor_keeps_the_anchor_within_a_step(
    text: str, position: int, budget: int, typed: str
) -> None:
    """Typing one character keeps the window's start (so the prompt's beginning) unless the
    cursor crosses into the next anchor step, and the window always keeps code before the
    cursor. Budgets are below most drawn texts' length, so the anchor is really moved."""
    offset = position % (len(text) + 1)
    step = budget // ANCHOR_STEPS
    start = anchored_prefix_start(text, offset, budget)
    after = anchored_prefix_start(text[:offset] + typed + text[offset:], offset + 1, budget)
    assert after < offset + 1  # the window after typing is never empty
    full = step * ANCHOR_STEPS
    if offset + 1 <= full or -((full - offset) // step) == -((full - offset - 1) // step):
        assert after == start


@PROPERTY
@given(texts, texts, st.integers(0, 10_000))
# a secret the cursor cuts: the window alone does not look like one, the document does
@example("password = 'abcd'", "", 16)
def test_neighbors_never_break_the_request(text: str, other: str, position: int) -> None:
    offset = position % (len(text) + 1)
    neighbors = (Neighbor("lib/other.py", "python", other * 5),
                 Neighbor("lib/same.py", "python", text))
    plan = build_fim_request(text, offset, path="src/a.py", language_id="python",
                             settings=Settings(prefix_tokens=200), neighbors=neighbors)
    if isinstance(plan, FimPlan):
        assert plan.params.prompt.startswith(header_line("src/a.py", "python"))
        # redacted as part of the file: a secret cut by the window's edge is still redacted
        assert plan.params.prompt.endswith(redact_window(text, plan.prefix_start, offset))

