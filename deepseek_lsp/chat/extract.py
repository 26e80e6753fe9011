"""From a model's Markdown answer to the exact text that replaces a selection.

Models do not always answer as asked: the block may have no fence, several fences ("before"
and "after", or the code plus a usage example), prose around it, another language's tag, an
unclosed fence at the end, or placeholders such as `# ... rest unchanged`. `extract_code`
picks the block meant as the replacement or says why there is none; applying nothing is
always better than deleting the user's code. `fit_indentation` gives the replacement the
selection's indentation, and `minimal_edit` narrows the edit to the lines that changed.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from deepseek_lsp.languages import same_family
from deepseek_lsp.privacy import PLACEHOLDER

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n]*)$")
_COMMENT = r"^\s*(?:#|//|/\*|--|;+|<!--)\s*[\[(]?\s*"
_PLACEHOLDER = re.compile(
    r"^\s*(?:(?:#|//|/\*|\*|--|;+|<!--)\s*)?(?:\.{3}|…)"  # "...", "# ...", "// … existing"
    + "|" + _COMMENT + r"(?:the\s+)?(?:rest|remainder|remaining)\b"  # "# rest of the code"
    + "|" + _COMMENT + r"(?:existing|other|previous)\s+(?:code|methods|functions)\b"
    + "|" + _COMMENT + r"(?:unchanged|same as (?:before|above))\s*[\])]?\s*(?:\*/|-->)?\s*$",
    re.IGNORECASE,
)
_COMMENT_START = ("#", "//", "/*", "*", "--", ";", "<!--", '"""', "'''")
_PROSE_CHARS = re.compile(r"[A-Za-z\u00c0-\uffff\s.,:!?'’\"()`*\-]")

#: Tags that mean "not the code": shell sessions, program output, patches.
_NOT_CODE_TAGS = frozenset({"diff", "patch", "console", "output", "shell-session", "log"})
#: Tags models use for code of any language.
_NEUTRAL_TAGS = frozenset({"", "text", "txt", "plaintext", "code"})
@dataclass(frozen=True)
class CodeBlock:
    """One fenced block: its language tag (lower case, may be empty) and its code."""

    tag: str
    code: str
    closed: bool = True


@dataclass(frozen=True)
class Extraction:
    """The replacement code, or None with the reason to tell the user."""

    code: str | None
    problem: str | None = None


def code_blocks(markdown: str) -> list[CodeBlock]:
    """The fenced blocks of `markdown`, in order.

    Like CommonMark, a block closes at a fence of the same character at least as long as the
    opening one, so a ```` block may hold ``` lines; unlike it, fences may be indented any
    amount (models indent them inside list items), and a fence left open at the end of the
    answer still yields its block (marked `closed=False`).
    """
    blocks: list[CodeBlock] = []
    lines = markdown.split("\n")
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i].rstrip("\r"))
        if m is None or (m.group("fence")[0] == "`" and "`" in m.group("info")):
            i += 1
            continue
        fence, indent = m.group("fence"), m.group("indent")
        tag = (m.group("info").split() or [""])[0].lower().strip("{}.")
        body: list[str] = []
        i += 1
        closed = False
        while i < len(lines):
            line = lines[i].rstrip("\r")
            stripped = line.strip()
            if stripped and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
                closed = True
                i += 1
                break
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip(" \t"))
            i += 1
        blocks.append(CodeBlock(tag=tag, code="\n".join(body), closed=closed))
    return blocks


def tag_fits(tag: str, language_id: str | None) -> bool:
    """Whether a block tagged `tag` can be code of `language_id`."""
    if tag in _NEUTRAL_TAGS or not language_id:
        return True
    return same_family(tag, language_id)


def _similarity(a: str, b: str) -> float:
    """How alike two pieces of code are, line by line, ignoring indentation (0..1)."""
    a_lines = [x.strip() for x in a.split("\n") if x.strip()]
    b_lines = [x.strip() for x in b.split("\n") if x.strip()]
    if not a_lines or not b_lines:
        return 0.0
    return difflib.SequenceMatcher(None, a_lines, b_lines, autojunk=False).ratio()


def _same_code(a: str, b: str) -> bool:
    return [x.strip() for x in a.strip().split("\n")] == [x.strip() for x in b.strip().split("\n")]


def _is_prose_line(line: str) -> bool:
    """A sentence, not code: capitalised (or a list item), several words, no code marks."""
    s = line.strip()
    if not s or s.startswith(_COMMENT_START):
        return False
    item = re.match(r"^(?:[-*+]|\d+[.)])\s+(\S.*)$", s)
    if item:
        s = item.group(1)
    elif not s[0].isupper():
        return False  # code lines start with keywords and names, which are lower case
    words = re.findall(r"[^\W\d_][\w'’-]*", s)
    if len(words) < 3 or re.search(r"[=;{}\[\]<>]|\w\(", s):
        return False
    return len(_PROSE_CHARS.findall(s)) / len(s) >= 0.9


def _strip_prose(answer: str) -> str:
    """The answer without leading and trailing paragraphs of prose."""
    paragraphs = re.split(r"\n[ \t]*\n", answer.strip("\n"))

    def prose(paragraph: str) -> bool:
        lines = [x for x in paragraph.split("\n") if x.strip()]
        return bool(lines) and all(_is_prose_line(x) for x in lines)

    while paragraphs and prose(paragraphs[0]):
        paragraphs.pop(0)
    while paragraphs and prose(paragraphs[-1]):
        paragraphs.pop()
    return "\n\n".join(paragraphs)


def has_placeholder(code: str, original: str | None) -> bool:
    """Whether `code` elides code with `...`-style placeholders the original did not have."""
    found = {x.strip() for x in code.split("\n") if _PLACEHOLDER.search(x)}
    if not found:
        return False
    had = {x.strip() for x in (original or "").split("\n")}
    return not found <= had


def extract_code(
    answer: str,
    *,
    language_id: str | None = None,
    original: str | None = None,
    min_similarity: float = 0.4,
) -> Extraction:
    """The code block meant as the replacement of `original` (or the main block without it).

    Several blocks: those tagged for another language (or as a diff, output) are skipped when
    a fitting one exists; a block repeating the original unchanged loses to one that changes
    it ("before/after" answers); then the block most like the original wins (a usage example
    is less like it), the later one on ties. Without a fence the answer, stripped of prose
    paragraphs, is used only when it is clearly the original code changed. Placeholders that
    elide code, and empty blocks, are refused.
    """
    blocks = [b for b in code_blocks(answer) if b.code.strip()]
    if not blocks:
        if code_blocks(answer):
            return Extraction(None, "the answer's code block is empty")
        if original is None or not answer.strip():
            return Extraction(None, "the answer has no code block" if answer.strip()
                              else "the answer is empty")
        code = _strip_prose(answer)
        if not code.strip() or _similarity(code, original) < min_similarity:
            return Extraction(None, "the answer has no code block")
        chosen = code
    else:
        usable = [b for b in blocks if b.tag not in _NOT_CODE_TAGS] or blocks
        fitting = [b for b in usable if tag_fits(b.tag, language_id)] or usable
        if original is None:
            chosen = max(reversed(fitting), key=lambda b: len(b.code)).code
        else:
            changed = [b for b in fitting if not _same_code(b.code, original)] or fitting
            best = max(enumerate(changed),
                       key=lambda ib: (_similarity(ib[1].code, original), ib[0]))
            chosen = best[1].code
    if has_placeholder(chosen, original):
        return Extraction(None, "the answer leaves out parts of the code (`...` placeholders)")
    return Extraction(chosen.strip("\n").rstrip() if chosen.strip() else None,
                      None if chosen.strip() else "the answer is empty")


# -- fitting the replacement into the document ----------------------------------------------------


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _common_indent(lines: list[str]) -> str:
    indents = [_indent(x) for x in lines if x.strip()]
    if not indents:
        return ""
    common = indents[0]
    for ind in indents[1:]:
        n = 0
        while n < min(len(common), len(ind)) and common[n] == ind[n]:
            n += 1
        common = common[:n]
    return common


def _spaces_to_tabs(lines: list[str], skip_first: bool) -> list[str]:
    """Re-express space indentation in tabs (the answer used spaces, the file uses tabs)."""
    widths = sorted({len(_indent(x)) for i, x in enumerate(lines)
                     if x.strip() and not (skip_first and i == 0)} - {0})
    unit = widths[0] if widths else 4
    out = []
    for i, line in enumerate(lines):
        ind = _indent(line)
        if (skip_first and i == 0) or not line.strip() or "\t" in ind:
            out.append(line)
            continue
        out.append("\t" * (len(ind) // unit) + " " * (len(ind) % unit) + line[len(ind):])
    return out


def fit_indentation(code: str, selection: str, lead: str = "") -> str:
    """`code` indented as `selection` is, ready to replace it exactly.

    `lead` is the text of the selection's first line before the selection. When it is only
    indentation (the usual whole-lines selection), the lines are compared as whole lines and
    the lead, which stays in the document, is not repeated. When the selection starts in the
    middle of a line, its first line keeps the model's text as it is and only the following
    lines are re-indented. The trailing newline follows the selection's.
    """
    whole_lines = not lead.strip()
    old_lines = ((lead if whole_lines else "") + selection).split("\n")
    new_lines = code.split("\n")
    if any("\t" in _indent(x) for x in old_lines) and \
            not any("\t" in _indent(x) for x in new_lines):
        new_lines = _spaces_to_tabs(new_lines, skip_first=not whole_lines)
    skip = 0 if whole_lines else 1
    old_indent = _common_indent(old_lines[skip:])
    new_indent = _common_indent(new_lines[skip:])
    if old_indent != new_indent and any(x.strip() for x in old_lines[skip:]):
        new_lines = new_lines[:skip] + [
            old_indent + x[len(new_indent):] if x.strip() else ""
            for x in new_lines[skip:]
        ]
    text = "\n".join(new_lines)
    if whole_lines and lead:
        first = new_lines[0]
        text = text[len(lead):] if first.startswith(lead) else text[len(_indent(first)):]
    if selection.endswith("\n") and not text.endswith("\n"):
        text += "\n"
    elif not selection.endswith("\n") and text.endswith("\n"):
        text = text.rstrip("\n")
    return text


def replacement_for(code: str, selection: str, lead: str = "") -> str:
    """`code` ready to replace `selection`: its indentation and its line endings (CRLF files
    keep CRLF; models answer with LF)."""
    if "\r\n" not in selection:
        return fit_indentation(code, selection, lead)
    fitted = fit_indentation(code.replace("\r\n", "\n"), selection.replace("\r\n", "\n"), lead)
    return fitted.replace("\n", "\r\n")


@dataclass(frozen=True)
class MinimalEdit:
    """Replace `old[start:end]` with `text` (offsets relative to the selection's start)."""

    start: int
    end: int
    text: str


def minimal_edit(old: str, new: str) -> MinimalEdit | None:
    """The smallest whole-lines edit turning `old` into `new`; None when they are equal.

    Unchanged lines at the start and the end are left alone, so the editor keeps their
    marks, folds and cursor positions, and the undo step shows only what changed.
    """
    if old == new:
        return None
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    head = 0
    while head < min(len(old_lines), len(new_lines)) and old_lines[head] == new_lines[head]:
        head += 1
    tail = 0
    limit = min(len(old_lines), len(new_lines)) - head
    while tail < limit and old_lines[-1 - tail] == new_lines[-1 - tail]:
        tail += 1
    start = sum(len(x) for x in old_lines[:head])
    end = len(old) - sum(len(x) for x in old_lines[len(old_lines) - tail:])
    text = "".join(new_lines[head : len(new_lines) - tail])
    return MinimalEdit(start, end, text)


def plan_edit(
    answer: str,
    *,
    original: str,
    lead: str = "",
    language_id: str | None = None,
    truncated: bool = False,
    code_only: bool = False,
) -> MinimalEdit | str:
    """The edit that puts the answer's code in place of `original`, or why there is none.

    `code_only` answers (chat prefix completion) are the code itself; others are Markdown, and
    the code is taken out of them (`extract_code`). Refused: answers cut off by the token
    limit, answers without usable code, code that elides parts with placeholders, code holding
    the redaction placeholder where the original had a secret (applying it would destroy the
    secret), and answers that change nothing.
    """
    if truncated:
        return "the answer was cut off before its end"
    if code_only:
        code = answer.strip("\n").rstrip()
        extraction = Extraction(code or None, None if code else "the answer is empty")
        if code and not _strip_prose(code).strip() and _strip_prose(original).strip():
            # a sentence where code was asked for ("I would rather not change this")
            extraction = Extraction(None, "the answer is prose, not code (no code block)")
        elif code and has_placeholder(code, original):
            extraction = Extraction(None, "the answer leaves out parts of the code "
                                          "(`...` placeholders)")
    else:
        extraction = extract_code(answer, language_id=language_id, original=original)
    if extraction.code is None:
        return extraction.problem or "the answer has no code block"
    if PLACEHOLDER in extraction.code and PLACEHOLDER not in original:
        return ("the selection holds a secret that was not sent, and applying the answer "
                "would replace it")
    edit = minimal_edit(original, replacement_for(extraction.code, original, lead))
    return "DeepSeek suggested no change" if edit is None else edit
