"""The code actions, in one table: adding an action is adding one row.

A row says what the editor offers (title, LSP code-action kind, on a selection or on a
diagnostic), what the model is asked (`task`) and what happens to the answer (`result`):

- `edit`: the answer is code that replaces the selection through a version-guarded
  `workspace/applyEdit` (one-shot; asked through chat prefix completion, so the answer is the
  code only — `session.stream_edit`);
- `answer`: the answer is shown and joins the workspace's conversation; with `looks_up` the
  model may call the read-only tools of `chat/tools.py` first;
- `file`: the answer is a new file, asked as JSON output `{path, content}` and created with
  one `workspace/applyEdit` (Write tests: `chat/testfile.py`).

The command of a row is `deepseek.<name>`; its argument is one JSON object
`{uri, range, version?, diagnostic?}` (SPEC §3). The server registers one command per row and
lists the rows in `textDocument/codeAction`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from deepseek_lsp.chat.prompts import (
    EDIT_FORMAT,
    MAX_EDIT_CHARS,
    MAX_SELECTION_CHARS,
    Excerpt,
    describe_excerpt,
    system_message,
    user_message,
)
from deepseek_lsp.chat.testfile import ExistingTests, prompt_for_tests

Result = Literal["edit", "answer", "file"]


@dataclass(frozen=True)
class Action:
    name: str  # the command is `deepseek.<name>`
    title: str
    code_action_kind: str  # an LSP CodeActionKind value
    task: str  # what the model is asked, before the code
    result: Result
    on_diagnostic: bool = False  # offered once per diagnostic (over its whole lines)
    looks_up: bool = False  # the model may look up definitions (tool calls) before answering

    @property
    def command(self) -> str:
        return f"deepseek.{self.name}"

    @property
    def edits(self) -> bool:
        return self.result == "edit"

    @property
    def creates_file(self) -> bool:
        return self.result == "file"


#: Task texts are kept free of each other's key words ("fix", "tests", "document", "improve",
#: "explain"), so that the task is unambiguous to the model and to the simulator.
ACTIONS: tuple[Action, ...] = (
    Action("explain", "DeepSeek: Explain", "refactor",
           "Explain the selected code: what it is for, how it works step by step, and anything "
           "surprising or risky in it. Be concise.", "answer", looks_up=True),
    Action("refactor", "DeepSeek: Improve/refactor", "refactor.rewrite",
           "Improve the selected code: make it clearer, simpler and more idiomatic without "
           "changing its behaviour or its public names. " + EDIT_FORMAT, "edit"),
    Action("document", "DeepSeek: Add documentation", "refactor.rewrite",
           "Add documentation to the selected code: a docstring or doc comment in the usual "
           "style of the language for every function, class and method in it that lacks one, "
           "and a short comment where the logic is not obvious. Do not change the code itself. "
           + EDIT_FORMAT, "edit"),
    Action("tests", "DeepSeek: Write tests", "refactor",
           "Write unit tests for the selected code with the test framework this project uses "
           "(the usual one for the language if it has none yet). Cover the normal cases and "
           "the edge cases.", "file"),
    Action("fix", "DeepSeek: Fix", "quickfix",
           "Fix the problem in the selected code. " + EDIT_FORMAT, "edit", on_diagnostic=True),
)
ACTION_BY_NAME: dict[str, Action] = {a.name: a for a in ACTIONS}
EDIT_KINDS: frozenset[str] = frozenset(a.name for a in ACTIONS if a.edits)

#: "Ask about the selection": offered beside the actions, runs `deepseek.chat` (whose argument
#: also takes a `question`; without one the model gets `prompts.DEFAULT_QUESTION`).
ASK = ("DeepSeek: Ask about the selection", "refactor", "deepseek.chat")


@dataclass(frozen=True)
class Diagnostic:
    """The part of an LSP diagnostic a fix prompt needs."""

    message: str
    line: int  # 1-based
    source: str | None = None
    code: str | None = None

    def describe(self) -> str:
        origin = " ".join(x for x in (self.source, f"[{self.code}]" if self.code else None) if x)
        return f"line {self.line}: {self.message.strip()}" + (f" ({origin})" if origin else "")


def one_line(text: str, limit: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def title_of(action: Action, diagnostic: Diagnostic | None = None) -> str:
    """The action's title; a fix names its diagnostic."""
    if action.on_diagnostic and diagnostic is not None:
        return f"{action.title}: {one_line(diagnostic.message)}"
    return action.title


def kind_wanted(kind: str, only: list[str] | None) -> bool:
    """Whether a code-action kind passes the client's `only` filter (a prefix match)."""
    return not only or any(kind == o or kind.startswith(o + ".") for o in only)


def action_prompt(name: str, excerpt: Excerpt, diagnostic: Diagnostic | None = None) -> str:
    """The user message of a code action: the task, then the code."""
    action = ACTION_BY_NAME[name]
    task = action.task
    if action.on_diagnostic:
        problem = (f"The editor reports at {diagnostic.describe()}." if diagnostic
                   else "Find the most likely mistake.")
        task = f"{problem} {task}"
    return f"{task}\n\n{describe_excerpt(excerpt)}"


def action_messages(
    name: str, excerpt: Excerpt, diagnostic: Diagnostic | None = None
) -> list[dict[str, Any]]:
    """A one-shot request for a code action (edit kinds do not join the history)."""
    return [system_message(), user_message(action_prompt(name, excerpt, diagnostic))]


def messages_for_tests(excerpt: Excerpt, existing: ExistingTests) -> list[dict[str, Any]]:
    """The one-shot JSON-output request of Write tests (it says "json" and shows the shape)."""
    task = ACTION_BY_NAME["tests"].task
    return [system_message(), user_message(prompt_for_tests(task, excerpt, existing))]


def selection_too_large(name: str, length: int) -> str | None:
    """Why a selection of `length` characters is too large for action `name` (or `chat`)."""
    edits = name in EDIT_KINDS
    limit = MAX_EDIT_CHARS if edits else MAX_SELECTION_CHARS
    if length <= limit:
        return None
    what = "an edit" if edits else "a question"
    return (f"the selection is too large for {what} ({length:,} characters, at most "
            f"{limit:,}); select less code")
