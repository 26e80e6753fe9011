"""Prompts, context windows and conversation history for chat about code."""

from __future__ import annotations

import re

import pytest

from deepseek_lsp.chat.actions import (
    ACTION_BY_NAME,
    EDIT_KINDS,
    Diagnostic,
    action_messages,
    action_prompt,
    selection_too_large,
)
from deepseek_lsp.chat.prompts import DEFAULT_QUESTION, excerpt_of, fenced, question_prompt
from deepseek_lsp.chat.session import Conversation, Sessions, estimate_tokens, rounds_within

FILE = "import os\n\n\ndef add(a, b):\n    return a + b\n\n\nprint(add(1, 2))\n"
SEL_START = FILE.index("def add")
SEL_END = FILE.index("\n\n\nprint") + 1


def excerpt(**kw):
    return excerpt_of(FILE, SEL_START, SEL_END, path="pkg/math.py", language_id="python", **kw)


# -- excerpts -------------------------------------------------------------------------------------


def test_excerpt_small_file_is_sent_whole() -> None:
    e = excerpt()
    assert e.selection == "def add(a, b):\n    return a + b\n"
    assert e.before == "import os\n\n\n" and e.after == "\n\nprint(add(1, 2))\n"
    assert (e.start_line, e.end_line) == (4, 5)
    assert not e.before_cut and not e.after_cut


def test_excerpt_windows_are_cut_at_line_boundaries() -> None:
    lines = [f"line_{i} = {i}\n" for i in range(400)]
    text = "".join(lines)
    start = text.index("line_200 ")
    end = text.index("line_201 ")
    e = excerpt_of(text, start, end, path="a.py", language_id="python",
                   before_chars=100, after_chars=100, whole_file_chars=1000)
    assert e.selection == "line_200 = 200\n"
    assert e.before_cut and e.after_cut
    assert e.before.startswith("line_") and e.before.endswith("\n")
    assert e.after.startswith("line_201") and e.after.endswith("\n")
    assert len(e.before) <= 100 and len(e.after) <= 100
    assert text[start - len(e.before) : start] == e.before


@pytest.mark.parametrize(("start", "end", "lines"), [
    (0, 0, (1, 1)), (0, 9, (1, 1)), (0, 10, (1, 1)), (0, 11, (1, 2)), (11, 30, (3, 5)),
    (12, 27, (4, 4)),
])
def test_excerpt_line_numbers(start: int, end: int, lines: tuple[int, int]) -> None:
    e = excerpt_of(FILE, start, end, path="a.py", language_id="python")
    assert (e.start_line, e.end_line) == lines


# -- prompts: (kind, must contain, must not contain) ----------------------------------------------

PROMPT_CASES = [
    ("explain", ["Explain the selected code"], ["fenced code block that holds"]),
    ("refactor", ["Improve the selected code", "exactly one fenced code block"], []),
    ("document", ["Add documentation", "exactly one fenced code block", "Do not change"], []),
    ("tests", ["Write unit tests", "test framework this project uses"], ["exactly one fenced"]),
    ("fix", ["Fix the problem", "exactly one fenced code block"], []),
]


@pytest.mark.parametrize(("kind", "present", "absent"), PROMPT_CASES)
def test_action_prompt(kind, present, absent) -> None:
    text = action_prompt(kind, excerpt())
    for phrase in present:
        assert phrase in text
    for phrase in absent:
        assert phrase not in text
    # language, path, lines, the selection first and the surrounding code after it
    assert "`pkg/math.py` (python, lines 4-5)" in text
    blocks = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    assert blocks[0] == "def add(a, b):\n    return a + b\n"
    assert blocks[1] == "import os\n\n\n" and blocks[2] == "\n\nprint(add(1, 2))\n"
    assert text.index(ACTION_BY_NAME[kind].task[:20]) < text.index("```")  # the task leads


def test_edit_kinds() -> None:
    assert {"refactor", "document", "fix"} == EDIT_KINDS


def test_task_texts_do_not_use_each_others_key_words() -> None:
    """An instruction must not read as another task ("fix" in a refactor prompt, ...)."""
    words = {"explain": r"\bexplain", "refactor": r"\bimprove|\brefactor",
             "document": r"\bdocument", "tests": r"\btests?\b", "fix": r"\bfix\b|\berror\b"}
    for kind, task in ((a.name, a.task) for a in ACTION_BY_NAME.values()):
        for other, pattern in words.items():
            if other != kind:
                assert not re.search(pattern, task, re.IGNORECASE), (kind, other)


def test_fix_prompt_names_the_diagnostic() -> None:
    diag = Diagnostic(message="Name 'ad' is not defined", line=5, source="pyflakes", code="F821")
    text = action_prompt("fix", excerpt(), diag)
    assert text.startswith("The editor reports at line 5: Name 'ad' is not defined "
                           "(pyflakes [F821]).")


def test_fence_is_longer_than_backticks_in_code() -> None:
    code = 'doc = """\n```python\nx\n```\n"""'
    assert fenced(code, "python").startswith("````python\n")
    assert fenced("x", "typescriptreact") == "```tsx\nx\n```"


def test_question_prompt() -> None:
    assert question_prompt("  why?  ") == "why?"
    assert question_prompt("") == DEFAULT_QUESTION
    text = question_prompt("Is this right?", excerpt())
    assert text.startswith("Is this right?\n\nSelected code from `pkg/math.py`")


@pytest.mark.parametrize(("kind", "length", "too_large"), [
    ("document", 20_000, False), ("document", 30_000, True), ("explain", 30_000, False),
    ("chat", 200_000, True),
])
def test_selection_limits(kind: str, length: int, too_large: bool) -> None:
    problem = selection_too_large(kind, length)
    assert (problem is not None) is too_large
    if problem:
        assert "select less code" in problem


def test_action_messages_shape() -> None:
    messages = action_messages("explain", excerpt())
    assert [m["role"] for m in messages] == ["system", "user"]


# -- history --------------------------------------------------------------------------------------


def test_conversation_keeps_rounds_and_never_reasoning() -> None:
    conv = Conversation()
    conv.add("q1", "a1")
    messages = conv.messages("q2")
    assert [(m["role"], m["content"]) for m in messages[1:]] == [
        ("user", "q1"), ("assistant", "a1"), ("user", "q2")]
    assert all(set(m) == {"role", "content"} for m in messages)


@pytest.mark.parametrize(("sizes", "budget", "kept"), [
    ([10, 10, 10], 10_000, 3),
    ([4000, 40, 40], 100, 2),  # the newest whole rounds that fit
    ([40, 4000, 40], 100, 1),  # an old small round behind a big one is not sent either
    ([4000], 100, 0),
])
def test_rounds_within_budget(sizes, budget, kept) -> None:
    conv = Conversation(budget_tokens=budget)
    for i, n in enumerate(sizes):
        conv.add(f"q{i}" + "x" * n, f"a{i}")
    chosen = rounds_within(conv.rounds, budget)
    assert [r.answer for r in chosen] == [f"a{i}" for i in range(len(sizes))][len(sizes) - kept:]
    assert sum(estimate_tokens(r.question) + estimate_tokens(r.answer) for r in chosen) <= budget


def test_history_memory_is_bounded() -> None:
    conv = Conversation(budget_tokens=100)
    for i in range(1000):
        conv.add(f"question {i} " * 10, "answer " * 10)
    assert len(conv.rounds) < 20
    assert conv.rounds[-1].question.startswith("question 999")


def test_sessions_per_workspace_and_new_session() -> None:
    sessions = Sessions()
    sessions.get("file:///a").add("q", "a")
    assert sessions.get("file:///a").rounds and not sessions.get("file:///b").rounds
    assert not sessions.get("file:///a", new=True).rounds
    assert not sessions.get("file:///a").rounds
